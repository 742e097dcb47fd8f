"""Where the desk keeps files, and their upkeep (``flask desk sweep-files``).

Five stores, each a directory under the instance whose files are named by a column: the
tickets' documents (Attachment.stored_name), the field survey's photos
(SurveyPhoto.stored_name), the association's logo (Association.logo_stored_name), the
knowledge base's documents (KbDocument.stored_name) and the training log's certificates
(TrainingEntry.certificate_stored_name).

A file is written under a temporary name (``<random>.pending``) and takes its final name only
once its row is committed (desk.transaction.Files), so a process killed half-way never leaves a
file that looks committed. The sweep finishes what such a kill leaves:

- a ``.pending`` file whose row was committed (the kill came between the commit and the rename)
  is renamed into place;
- a ``.pending`` file without a row, older than the grace period, is removed;
- a file no row names, older than the grace period, is removed (from before this scheme, or a
  row deleted by hand);
- a row whose file is missing is reported, never "fixed": a person decides.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from desk.attachments.service import PENDING_SUFFIX
from desk.models import Association, Attachment, KbDocument, SurveyPhoto, TrainingEntry

# A .pending file this young may belong to a transaction committing right now: left alone.
RENAME_GRACE = timedelta(minutes=5)


def survey_photo_dir(config: Mapping[str, Any]) -> Path:
    return Path(config["DESK_SURVEY_PHOTO_DIR"])


def training_dir(config: Mapping[str, Any]) -> Path:
    """Where the training log's certificates are stored: <instance>/training."""
    return Path(config["INSTANCE_PATH"]) / "training"


def branding_dir(config: Mapping[str, Any]) -> Path:
    """Where the logo is stored: <instance>/branding."""
    return Path(config["INSTANCE_PATH"]) / "branding"


def kb_dir(config: Mapping[str, Any]) -> Path:
    """Where the knowledge base's documents are stored: <instance>/kb."""
    return Path(config["INSTANCE_PATH"]) / "kb"


@dataclass(frozen=True)
class Store:
    name: str                              # as the report says it
    directory: Path
    column: InstrumentedAttribute          # the column that names its files


def stores(config: Mapping[str, Any]) -> list[Store]:
    return [
        Store("attachments", Path(config["DESK_ATTACHMENT_DIR"]), Attachment.stored_name),
        Store("survey photos", survey_photo_dir(config), SurveyPhoto.stored_name),
        Store("logo", branding_dir(config), Association.logo_stored_name),
        Store("knowledge base", kb_dir(config), KbDocument.stored_name),
        Store("training certificates", training_dir(config), TrainingEntry.certificate_stored_name),
    ]


@dataclass
class Swept:
    """What the sweep did (or, with dry_run, would do), per store: file names only."""

    recovered: list[str] = field(default_factory=list)   # committed, renamed into place
    removed: list[str] = field(default_factory=list)     # .pending without a row, or no row names it
    missing: list[str] = field(default_factory=list)     # a row names it, the file is not there


def sweep(session: Session, config: Mapping[str, Any], *, older_than: timedelta, dry_run: bool = False,
          now: datetime | None = None) -> dict[str, Swept]:
    now = now or datetime.now(UTC)
    report: dict[str, Swept] = {}
    for store in stores(config):
        report[store.name] = swept = Swept()
        named = {name for name in session.scalars(select(store.column)) if name}
        on_disk = {entry.name: entry for entry in os.scandir(store.directory)
                   if entry.is_file(follow_symlinks=False)} if store.directory.is_dir() else {}
        for name, entry in sorted(on_disk.items()):
            age = now - datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC)
            final = name.removesuffix(PENDING_SUFFIX)
            if name.endswith(PENDING_SUFFIX) and final in named and final not in on_disk:
                if age >= RENAME_GRACE:
                    swept.recovered.append(final)
                    if not dry_run:
                        os.replace(entry.path, store.directory / final)
            elif final not in named and age >= older_than:
                swept.removed.append(name)
                if not dry_run:
                    Path(entry.path).unlink(missing_ok=True)
        swept.missing = sorted(name for name in named
                               if name not in on_disk and name + PENDING_SUFFIX not in on_disk)
    return report
