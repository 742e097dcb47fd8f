"""Files and rows stay in step (issue 14, item 6): an upload is written under a temporary name
and takes its final name only once its row is committed; `flask desk sweep-files` finishes what
a killed process leaves behind and reports rows whose file is missing."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desk import files
from desk.attachments import service
from desk.attachments.service import PENDING_SUFFIX
from desk.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LATER = datetime.now(UTC) + timedelta(days=2)  # past every grace period


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """Private stores for the test (the app is shared by the session)."""
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    monkeypatch.setitem(app.config, "INSTANCE_PATH", str(tmp_path))
    monkeypatch.setitem(app.config, "DESK_SURVEY_PHOTO_DIR", str(tmp_path / "survey-photos"))
    return tmp_path


def _attach(db, people, ticket, instance):
    upload = service.Upload(stream=io.BytesIO(PDF), filename="letter.pdf", description="")
    return service.add(db.session, people.staff, ticket, upload, directory=instance / "attachments",
                       max_bytes=1024 * 1024)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_committed_upload_has_its_final_name_and_nothing_pending(db, people, make_ticket, instance):
    attachment = _attach(db, people, make_ticket(), instance)
    assert _names(instance / "attachments") == [attachment.stored_name]
    assert (instance / "attachments" / attachment.stored_name).read_bytes() == PDF


def test_a_crash_between_commit_and_rename_is_finished_by_the_sweep(app, db, people, make_ticket, instance,
                                                                    monkeypatch):
    def disk_fails(source, target):
        raise OSError(28, "No space left on device")
    ticket = make_ticket()
    with monkeypatch.context() as patched:
        patched.setattr("desk.transaction.os.replace", disk_fails)
        attachment = _attach(db, people, ticket, instance)  # committed: the row stands
    assert _names(instance / "attachments") == [attachment.stored_name + PENDING_SUFFIX]

    report = files.sweep(db.session, app.config, older_than=timedelta(hours=24), now=LATER)
    assert report["attachments"].recovered == [attachment.stored_name]
    assert report["attachments"].missing == []
    assert (instance / "attachments" / attachment.stored_name).read_bytes() == PDF


def test_a_process_killed_during_an_upload_leaves_only_a_pending_file_that_the_sweep_removes(app, db, instance):
    """For real: a process writes an upload, then is killed (SIGKILL) before its commit."""
    directory = instance / "attachments"
    script = textwrap.dedent(f"""
        import io, os, signal
        from desk.attachments.service import write_file
        write_file(io.BytesIO({PDF!r}), directory={str(directory)!r}, max_bytes=1 << 20)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    left = _names(directory)
    assert len(left) == 1 and left[0].endswith(PENDING_SUFFIX)  # never a name that looks committed

    young = files.sweep(db.session, app.config, older_than=timedelta(hours=24))
    assert young["attachments"].removed == [] and _names(directory) == left  # maybe still uploading
    report = files.sweep(db.session, app.config, older_than=timedelta(hours=24), now=LATER)
    assert report["attachments"].removed == left
    assert _names(directory) == []


def test_orphans_are_removed_after_the_grace_period_and_a_dry_run_changes_nothing(app, db, people, make_ticket,
                                                                                  instance):
    kept = _attach(db, people, make_ticket(), instance)
    photos = instance / "survey-photos"
    photos.mkdir()
    (photos / "0123456789abcdef").write_bytes(b"no row names me")
    dry = files.sweep(db.session, app.config, older_than=timedelta(hours=1), dry_run=True, now=LATER)
    assert dry["survey photos"].removed == ["0123456789abcdef"]
    assert _names(photos) == ["0123456789abcdef"]

    files.sweep(db.session, app.config, older_than=timedelta(hours=1), now=LATER)
    assert _names(photos) == []
    assert _names(instance / "attachments") == [kept.stored_name]  # a named file is never touched


def test_a_row_whose_file_is_missing_is_reported_and_the_command_fails(app, db, people, make_ticket, instance):
    attachment = _attach(db, people, make_ticket(), instance)
    os.unlink(instance / "attachments" / attachment.stored_name)
    result = app.test_cli_runner().invoke(args=["desk", "sweep-files", "--dry-run"])
    assert result.exit_code == 1
    assert f"missing: {attachment.stored_name}" in result.output
    assert "attachments: 0 would be renamed into place, 0 would be removed, 1 missing" in result.output
    assert db.session.get(Attachment, attachment.id) is not None  # reported, never "fixed"


def test_the_command_on_a_clean_store_succeeds(app, db, people, make_ticket, instance):
    _attach(db, people, make_ticket(), instance)
    result = app.test_cli_runner().invoke(args=["desk", "sweep-files"])
    assert result.exit_code == 0, result.output
    assert "attachments: 0 were renamed into place, 0 were removed, 0 missing" in result.output
