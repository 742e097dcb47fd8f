"""The benchmark databases: built once (migrations, demo users, N generated tickets, ANALYZE)
and reused while they hold the requested number of tickets."""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

PG_SERVER = os.environ.get("DESK_BENCH_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/")
# Never `test`: the test suite empties that one. Several checkouts on one server: one each.
PG_DATABASE = os.environ.get("DESK_BENCH_POSTGRES_DB", "desk_bench")
BENCH_EMAIL = "bench-staff@bench.desk.sa"  # created after the generator, so it owns no generated ticket
BENCH_PASSWORD = "bench-password-2026"
SEED = 1


def database_url(kind: str, cache: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{cache / 'desk-bench.db'}"
    return PG_SERVER.rstrip("/") + "/" + PG_DATABASE


def make_app(url: str, cache: Path) -> Flask:
    """The desk as the tests configure it (DESK_ENV=testing), without rate limits."""
    os.environ.update(DESK_ENV="testing", DESK_SECRET_KEY="bench-secret-key",
                      DESK_INSTANCE_PATH=str(cache), DESK_DATABASE_URL=url)
    from desk import create_app
    return create_app({"RATELIMIT_ENABLED": False})


def _pg_admin(statement: str) -> None:
    """CREATE/DROP DATABASE need autocommit on a connection to another database."""
    engine = sa.create_engine(PG_SERVER.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def _pg_exists() -> bool:
    engine = sa.create_engine(PG_SERVER.rstrip("/") + "/postgres")
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DATABASE}))
    finally:
        engine.dispose()


def bench_user_id(app: Flask) -> int | None:
    from desk.extensions import db
    from desk.models import User
    with app.app_context():
        if not sa.inspect(db.engine).has_table("users"):
            return None
        return db.session.scalar(sa.select(User.id).where(User.email == BENCH_EMAIL))


def remove_bench_rows(app: Flask, user_id: int) -> int:
    """Delete what the intake case recorded (tickets, events, beneficiaries of the bench user)."""
    from desk.extensions import db
    from desk.models import Beneficiary, Ticket, TicketEvent
    tickets, events, people = Ticket.__table__, TicketEvent.__table__, Beneficiary.__table__
    with app.app_context():
        mine = sa.select(tickets.c.id).where(tickets.c.created_by_id == user_id)
        db.session.execute(events.delete().where(events.c.ticket_id.in_(mine)))
        removed = db.session.execute(tickets.delete().where(tickets.c.created_by_id == user_id)).rowcount
        db.session.execute(people.delete().where(people.c.created_by_id == user_id))
        db.session.commit()
        db.session.remove()
    return removed


def ticket_count(app: Flask) -> int:
    from desk.extensions import db
    with app.app_context():
        return db.session.scalar(sa.text("SELECT count(*) FROM tickets")) or 0


def _build(app: Flask, kind: str, n: int) -> dict:
    from flask_migrate import upgrade

    from desk.accounts.service import create_user
    from desk.demo.generator import generate
    from desk.extensions import db

    started = time.perf_counter()
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["desk", "demo", "--tickets", "0"])
        assert result.exit_code == 0, result.output
        t0 = time.perf_counter()
        generate(db.session, n, seed=SEED, batch=5000,
                 progress=lambda done: print(f"    {done:,} / {n:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
                 if done % 25_000 == 0 or done == n else None)
        generate_s = time.perf_counter() - t0
        from desk.stats.rollup import catch_up
        from desk.text import today_riyadh
        catch_up(db.session, today_riyadh(), full=True)  # as `desk generate` does
        create_user(db.session, BENCH_EMAIL, BENCH_PASSWORD, "Bench staff", ["staff"])
        t1 = time.perf_counter()
        if kind == "sqlite":
            db.session.execute(sa.text("ANALYZE"))
            db.session.execute(sa.text("PRAGMA optimize"))
            db.session.commit()
            db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:  # VACUUM also sets the visibility map, as autovacuum soon would after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        analyze_s = time.perf_counter() - t1
        db.session.remove()
    return {"tickets": n, "seed": SEED, "generate_s": round(generate_s, 1), "analyze_s": round(analyze_s, 1),
            "total_s": round(time.perf_counter() - started, 1),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds")}


def prepare(kind: str, n: int, cache: Path, rebuild: bool = False) -> tuple[Flask, dict]:
    """An app on a database holding exactly ``n`` generated tickets; builds it when needed."""
    cache.mkdir(parents=True, exist_ok=True)
    info_path = cache / f"build-{kind}.json"
    url = database_url(kind, cache)
    if kind == "postgres" and not _pg_exists():
        _pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
    app = make_app(url, cache)

    user_id = None if rebuild else bench_user_id(app)
    if user_id is not None:
        removed = remove_bench_rows(app, user_id)
        if removed:
            print(f"  removed {removed} tickets left by an earlier benchmark run")
        if ticket_count(app) == n:
            from flask_migrate import upgrade
            with app.app_context():
                upgrade()  # a migration added since the build
            info = json.loads(info_path.read_text()) if info_path.exists() else {"tickets": n}
            info["reused"] = True
            return app, info

    print(f"  building the {kind} database with {n:,} tickets …", flush=True)
    from desk.extensions import db
    with app.app_context():
        db.engine.dispose()
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
    info = _build(app, kind, n)
    info_path.write_text(json.dumps(info, indent=2))
    print(f"  built in {info['total_s']} s (generator {info['generate_s']} s, analyze {info['analyze_s']} s)")
    info["reused"] = False
    return app, info
