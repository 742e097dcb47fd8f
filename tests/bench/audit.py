"""``python -m tests.bench.audit --rows 200000 --database-url URL``: time the audit screen's
queries (desk.privacy.trail) on a large trail, in-process.

It builds the schema with the migrations in the database given (SQLite in a temporary file by
default; for PostgreSQL give a database of your own, never `test`: everything in it is
dropped), writes ``--rows`` audit rows spread over a year, 30 staff, every action and 5,000
beneficiaries (their hashes are not chained: the screen's queries do not read them), then
times each filter's first page, a deep page and the CSV export of a filtered set, ``--calls``
times each, and prints the medians. Speed is measured here, never asserted in a test.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa


def _build(app, rows: int, rng: random.Random) -> dict:
    from flask_migrate import upgrade

    from desk.extensions import db
    from desk.models import AuditAction, AuditEntry, Base, User

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.drop_all(db.engine)
        upgrade()
        staff = [User(email=f"bench{i}@example.org", name=f"موظف {i}", password_hash="x", locale="ar")
                 for i in range(30)]
        db.session.add_all(staff)
        db.session.commit()
        ids = [u.id for u in staff]
        actions = [str(a) for a in AuditAction]
        start = datetime(2026, 1, 1, tzinfo=UTC)
        step = timedelta(days=365) / rows
        batch = []
        for n in range(rows):
            actor = rng.choice(ids)
            batch.append({"at": start + step * n, "actor_id": actor, "actor": f"bench{actor}@example.org",
                          "action": rng.choice(actions), "record_type": "beneficiary",
                          "record_id": str(rng.randrange(5000)), "ticket_id": None,
                          "detail": {"field": "national_id", "reason": "verification"}, "address": "10.0.0.1",
                          "prev_hash": "0" * 64, "hash": "0" * 64})
            if len(batch) == 10_000:
                db.session.execute(sa.insert(AuditEntry), batch)
                batch = []
        if batch:
            db.session.execute(sa.insert(AuditEntry), batch)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE audit_log"))
        middle = db.session.scalar(sa.select(AuditEntry.id).order_by(AuditEntry.id).offset(rows // 2).limit(1))
        return {"person": str(ids[0]), "middle": middle}


def _time(app, calls: int, known: dict) -> dict[str, float]:
    from desk.extensions import db
    from desk.models import Role, User, UserRole
    from desk.privacy import trail

    with app.test_request_context():
        admin = db.session.scalar(sa.select(User).order_by(User.id).limit(1))
        db.session.add(UserRole(user_id=admin.id, role=Role.ADMIN))
        db.session.commit()
        cases = {
            "first page, no filter": ({}, None),
            "deep page (half way), no filter": ({}, known["middle"]),
            "one person": ({"person": known["person"]}, None),
            "one action, one month": ({"action": "data.reveal", "start": "2026-06-01", "end": "2026-06-30"}, None),
            "one record": ({"record": "beneficiary:42"}, None),
        }
        results = {}
        for name, (args, before) in cases.items():
            filters = trail.parse(db.session, args)
            times = []
            for k in range(calls + 3):
                db.session.expire_all()
                started = time.perf_counter()
                trail.page(db.session, admin, filters, before)
                if k >= 3:  # warmed up
                    times.append((time.perf_counter() - started) * 1000)
            results[name] = statistics.median(times)
        filters = trail.parse(db.session, {"action": "data.reveal", "start": "2026-06-01", "end": "2026-06-30"})
        times = []
        for _ in range(max(3, calls // 5)):
            started = time.perf_counter()
            trail.export_csv(db.session, admin, filters)
            times.append((time.perf_counter() - started) * 1000)
        results["CSV export, one action, one month"] = statistics.median(times)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="desk-bench-audit-")
    url = args.database_url or f"sqlite:///{cache}/audit.db"
    os.environ.update(DESK_ENV="testing", DESK_SECRET_KEY="bench-secret-key", DESK_INSTANCE_PATH=cache,
                      DESK_DATABASE_URL=url)
    from desk import create_app

    app = create_app({"RATELIMIT_ENABLED": False})
    known = _build(app, args.rows, random.Random(16))
    print(f"audit screen, {args.rows:,} rows, {sa.make_url(url).get_backend_name()} (median of {args.calls}, ms):")
    for name, ms in _time(app, args.calls, known).items():
        print(f"  {name:40s} {ms:8.1f}")


if __name__ == "__main__":
    main()
