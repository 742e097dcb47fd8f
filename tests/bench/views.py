"""``python -m tests.bench.views``: the counts of ten saved queue views (desk.queue.saved.counts,
one round trip) on the database at DESK_DATABASE_URL (fill it with ``flask desk generate``), as
a supervisor (every ticket) and as a focal point (one department). Prints each view's query
plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL), then the median and p95 of the ten
counts in milliseconds over ``--rounds`` rounds after warm-up. Reads only: the views are built
in memory and never stored.
"""
from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

VIEWS = [  # (name, the queue's URL arguments): the filters people keep
    ("phone calls", [("view", "open"), ("channel", "phone")]),
    ("complaints", [("view", "open"), ("kind", "complaint")]),
    ("urgent", [("view", "open"), ("priority", "4")]),
    ("one department", [("view", "open"), ("department", "{department}")]),
    ("unassigned", [("view", "unassigned")]),
    ("mine", [("view", "mine")]),
    ("overdue", [("view", "overdue")]),
    ("waiting", [("view", "open"), ("status", "waiting")]),
    ("website by due", [("view", "open"), ("channel", "website"), ("sort", "due")]),
    ("support requests", [("view", "open"), ("kind", "support")]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-plans", action="store_true")
    options = parser.parse_args()

    from desk import create_app
    from desk.extensions import db
    from desk.models import DepartmentMember, Role, SavedView, Ticket, User, UserRole, utcnow
    from desk.queue import saved
    from desk.queue.service import default_view, filter_conditions

    app = create_app()
    with app.app_context():
        dialect = db.engine.dialect.name
        supervisor = db.session.scalar(sa.select(User).join(UserRole).where(UserRole.role == Role.SUPERVISOR).limit(1))
        focal = db.session.scalar(sa.select(User).join(UserRole).where(UserRole.role == Role.FOCAL)
                                  .where(User.id.in_(sa.select(DepartmentMember.user_id))).limit(1))
        department = min(focal.department_ids)
        views = [SavedView(id=i + 1, name=name, scope="personal", owner_id=supervisor.id,
                           args=[[k, v.format(department=department)] for k, v in args])
                 for i, (name, args) in enumerate(VIEWS)]
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
        print(f"{dialect}: {total} tickets, {len(views)} views")
        for actor in (supervisor, focal):
            default = default_view(actor)
            if not options.no_plans:
                for view in views:
                    stmt = (sa.select(sa.func.count()).select_from(Ticket)
                            .where(*filter_conditions(db.session, actor, saved.filters_of(view, default), utcnow())))
                    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
                    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
                    plan = [str(row[-1]) for row in db.session.connection().exec_driver_sql(prefix + sql)]
                    print(f"  {view.name}: " + " | ".join(plan))
            timings = []
            for round_ in range(options.warmup + options.rounds):
                start = time.perf_counter()
                counts = saved.counts(db.session, actor, views, default)
                elapsed = (time.perf_counter() - start) * 1000
                db.session.rollback()
                if round_ >= options.warmup:
                    timings.append(elapsed)
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
            print(f"  as {'supervisor' if actor is supervisor else 'focal point'}: "
                  f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms; counts {list(counts.values())}")


if __name__ == "__main__":
    main()
