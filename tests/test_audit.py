"""The audit trail (desk.audit): one row per act, in the act's own transaction, chained by hash
so a row deleted, edited or inserted out of turn is found by ``desk audit-verify``."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text, update

from desk import audit
from desk.models import AuditAction, AuditEntry
from desk.transaction import atomic, commit


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["desk", "audit-verify"])


def test_rows_are_chained_and_the_chain_verifies(app, db, people):
    for n in range(3):
        audit.record(db.session, AuditAction.REVEAL, actor=people.staff, record_type="beneficiary",
                     record_id=n, detail={"field": "national_id", "reason": "مطابقة الهوية"})
    commit(db.session)
    rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [r.prev_hash for r in rows] == [audit.GENESIS, rows[0].hash, rows[1].hash]
    assert rows[0].actor == "staff@example.org" and rows[0].actor_id == people.staff.id
    assert audit.verify(db.session) == (3, None)
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "3 rows" in result.output


def test_an_edited_row_is_found(app, db, people):
    for n in range(3):
        audit.record(db.session, AuditAction.DOWNLOAD, actor=people.staff, record_type="attachment", record_id=n)
    commit(db.session)
    middle = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    db.session.execute(update(AuditEntry).where(AuditEntry.id == middle).values(actor="someone@else.org"))
    commit(db.session)
    checked, broken = audit.verify(db.session)
    assert (checked, broken.entry_id) == (1, middle)
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert f"row {middle}" in result.output


def test_a_deleted_row_is_found(app, db, people):
    for n in range(3):
        audit.record(db.session, AuditAction.EXPORT, actor=people.supervisor, record_type="report", record_id=n)
    commit(db.session)
    ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    db.session.execute(AuditEntry.__table__.delete().where(AuditEntry.id == ids[1]))
    commit(db.session)
    assert audit.verify(db.session)[1].entry_id == ids[2]


def test_the_row_goes_with_its_act_when_the_act_fails(db, people):
    with pytest.raises(RuntimeError), atomic(db.session):
        audit.record(db.session, AuditAction.RECORD_EDITED, actor=people.staff, record_type="beneficiary",
                     record_id=1, detail={"phone": ["0500000001", "0500000002"]})
        raise RuntimeError("the edit failed")
    assert db.session.scalar(select(AuditEntry.id)) is None
    # and the next row chains to what is really there
    audit.record(db.session, AuditAction.SIGN_OUT, actor=people.staff)
    commit(db.session)
    assert audit.verify(db.session) == (1, None)


def test_labels_for_the_system_the_portal_and_the_anonymous(db):
    audit.record(db.session, AuditAction.RETENTION)
    audit.record(db.session, AuditAction.ACCESS_REFUSED, actor="portal")
    commit(db.session)
    assert db.session.scalars(select(AuditEntry.actor).order_by(AuditEntry.id)).all() == ["system", "portal"]


def test_two_writers_at_once_keep_one_chain(app, db, people):
    """The second writer waits for the first to commit before it reads the last row, so both
    rows chain (on PostgreSQL through the advisory lock, on SQLite through its one writer)."""
    first = db.session
    audit.record(first, AuditAction.SIGN_IN, actor=people.staff)  # holds the trail until it commits
    staff_id = people.staff.id
    errors: list[BaseException] = []

    def second_writer():
        try:
            with app.app_context():
                from desk.extensions import db as other
                audit.record(other.session, AuditAction.SIGN_IN, actor=f"user:{staff_id}")
                commit(other.session)
                other.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    if db.engine.dialect.name == "postgresql":
        _wait_until_blocked(db)
    commit(first)
    thread.join(60)
    assert not thread.is_alive() and not errors
    assert audit.verify(db.session) == (2, None)


def _wait_until_blocked(db) -> None:
    """Until the other connection waits on the advisory lock (polled; no time is asserted)."""
    with db.engine.connect() as probe:
        for _ in range(600):
            waiting = probe.execute(text(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                "and datname = current_database()")).scalar()
            if waiting:
                return
            probe.execute(text("select pg_sleep(0.05)"))
            probe.rollback()
