"""After an erasure nothing readable of the person stays in the SQLite file: every connection
deletes securely (freed space zeroed), the FTS5 tables' segments are merged so the old
trigrams are rewritten away, and the WAL is checkpointed and truncated (desk.privacy.scrub)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.privacy import retention, scrub, service
from tests.conftest import PASSWORD, close_as_done

NAME = "زبرجدة قطوفيان"
MOBILE = "+966597531864"
# What may spell them in the file: the name as typed and normalised (ة → ه), its rarest word
# in UTF-8 and UTF-16 (FTS5 and the tables hold UTF-8; nothing else should), the mobile's digits.
NEEDLES = [NAME.encode(), "قطوفيان".encode(), "قطوفيان".encode("utf-16-le"), "زبرجده".encode(),
           b"597531864"]


def _sqlite_file(db) -> Path:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite file's bytes")
    return Path(db.engine.url.database)


def _bytes(path: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            found += part.read_bytes()
    return found


def test_an_erased_persons_name_and_mobile_are_not_in_the_files_bytes(db, people, make_ticket, tmp_path):
    path = _sqlite_file(db)
    dpo = create_user(db.session, "dpo@example.org", PASSWORD, "مسؤول البيانات", ["dpo"])
    ticket = make_ticket(new_beneficiary=NewBeneficiary(name=NAME, phone=MOBILE),
                         body=f"أنا {NAME}، رقمي 0597531864")
    for _ in range(3):  # a few more segments in each FTS table, as a working day leaves
        make_ticket()
    close_as_done(db, ticket, days_ago=2, action="تم التواصل")
    db.session.execute(sa.text("PRAGMA wal_checkpoint(PASSIVE)"))  # their rows in the main file too
    db.session.commit()
    assert any(needle in _bytes(path) for needle in NEEDLES)  # the test can see them
    assert service.erase(db.session, dpo, ticket.beneficiary_id, None, tmp_path).refused == []
    db.session.remove()
    content = _bytes(path)
    assert [needle for needle in NEEDLES if needle in content] == []


def test_every_sqlite_connection_deletes_securely(db):
    _sqlite_file(db)
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def _automerge(db, value: int) -> None:
    for table in scrub.FTS_TABLES:
        db.session.execute(sa.text(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', :v)"),  # noqa: S608
                           {"v": value})
    db.session.commit()


def test_the_merge_is_bounded_and_the_retention_run_finishes_it(db, make_ticket, monkeypatch):
    _sqlite_file(db)
    _automerge(db, 0)  # each ticket's transaction leaves its own segments, none merged meanwhile
    try:
        letters = random.Random(7)
        for _ in range(12):  # texts of many trigrams: segments of many pages
            make_ticket(body=" ".join("".join(letters.choices("ابتثجحخدذرزسشصضطظعغفقكلمنهوي", k=7))
                                      for _ in range(600)))
        steps: list[str] = []
        real = scrub._merge_step
        monkeypatch.setattr(scrub, "_merge_step",
                            lambda session, table, pages: steps.append(table) or real(session, table, pages))
        monkeypatch.setattr(scrub, "MERGE_PAGES", 1)  # one page a step: more steps than the bound
        assert scrub.merge_fts(db.session, steps=1) is False  # bounded: left unfinished
        assert steps == list(scrub.FTS_TABLES)  # one step for each FTS table
        steps.clear()
        assert scrub.merge_fts(db.session, steps=None) is True  # the retention run's: to the end
        assert len(steps) > 4
        steps.clear()
        assert scrub.merge_fts(db.session, steps=None) is True
        assert steps == list(scrub.FTS_TABLES)  # nothing left: one step that does nothing, each
    finally:
        _automerge(db, 4)


def test_a_retention_run_finishes_the_merges_and_empties_the_wal(db, make_ticket, monkeypatch, tmp_path):
    path = _sqlite_file(db)
    _automerge(db, 0)
    try:
        for _ in range(5):
            make_ticket()
        assert Path(f"{path}-wal").stat().st_size > 0
        calls: list[bool] = []
        real = scrub.after_retention
        monkeypatch.setattr(scrub, "after_retention",
                            lambda session, anonymised: calls.append(anonymised) or real(session, anonymised))
        retention.run(db.session, tmp_path, dry_run=True)
        assert calls == []  # a dry run changes nothing, so scrubs nothing
        retention.run(db.session, tmp_path)
        assert calls == [False]  # nothing was due: only a merge already started goes on
        db.session.remove()
        assert Path(f"{path}-wal").stat().st_size == 0  # checkpointed and truncated
        worked: list[bool] = []
        real_step = scrub._merge_step
        monkeypatch.setattr(scrub, "_merge_step",
                            lambda session, table, pages: worked.append(real_step(session, table, pages)) or worked[-1])
        assert scrub.merge_fts(db.session, steps=None, whole=False) is True
        assert worked == [False, False]  # the run left no merge going on in either FTS table
    finally:
        _automerge(db, 4)
