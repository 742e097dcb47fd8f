"""``python -m tests.bench.routing --rules 200``: time the routing decision, propose(), in-process.

For each database (SQLite in a temporary file, PostgreSQL database ``desk_bench_routing``) it
builds the schema with the migrations, adds departments, categories and N active rules with
Arabic keywords (the last few match; most samples fall through every rule, the worst case),
then times ``--calls`` calls of propose() with a fresh ORM session state each call, and prints
the median and p95. Target: p95 under 5 ms at 200 rules (issue 4, "Measured").

It also times the pure matching part alone, first_match() over the loaded rules, on the same
samples. ``make bench`` (tests/bench/__main__.py) runs ``measure`` at 200 rules and puts both
figures in its report: speed is measured here, never asserted in a test.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa

PG_SERVER = os.environ.get("DESK_BENCH_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/")
PG_DATABASE = "desk_bench_routing"  # never `test`
TARGET_MS = 5.0

WORDS = ["تأخر", "السلة", "الغذائية", "إيجار", "فاتورة", "كهرباء", "علاج", "دواء", "مستشفى", "تدريب", "دورة",
         "منحة", "مدرسة", "أيتام", "أرملة", "كفالة", "زكاة", "صدقة", "سكن", "ترميم", "أجهزة", "كرسي", "متحرك",
         "نقل", "مواصلات", "توظيف", "وظيفة", "أسرة", "محتاجة", "مساعدة", "مالية", "عينية", "شتاء", "بطانيات",
         "رمضان", "عيد", "كسوة", "حقيبة", "مدرسية", "تطوع"]
SUBJECTS = [
    "تأخر صرف السلة الغذائية لشهر رمضان", "طلب مساعدة في سداد إيجار السكن", "استفسار عن موعد صرف الكفالة",
    "شكوى من سوء التعامل في الفرع", "طلب علاج وأدوية لوالدي المريض", "اقتراح تحسين مواعيد الاستقبال",
]
BODY = ("السلام عليكم ورحمة الله، أفيد سعادتكم بأنني تقدمت بطلب منذ شهرين ولم يصلني أي رد حتى الآن، "
        "وأرجو التكرم بالنظر في حالتي ومتابعة الطلب مع الجهة المختصة. ") * 3


def _pg_recreate() -> str:
    engine = sa.create_engine(PG_SERVER.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DATABASE}):
                conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    finally:
        engine.dispose()
    return PG_SERVER.rstrip("/") + "/" + PG_DATABASE


def _build(app, n_rules: int, rng: random.Random) -> None:
    from flask_migrate import upgrade

    from desk.extensions import db
    from desk.models import Base, Category, Channel, Department, Kind, RoutingRule
    from desk.routing.service import parse_keywords

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.drop_all(db.engine)
        upgrade()
        departments = [Department(code=f"D{i}", name_ar=f"إدارة {i}", name_en=f"Department {i}") for i in range(12)]
        db.session.add_all(departments)
        db.session.flush()
        categories = [Category(kind=k.value, name_ar=f"تصنيف {k.value} {i}", name_en=f"{k.value} {i}",
                               default_department_id=rng.choice(departments).id) for k in Kind for i in range(4)]
        db.session.add_all(categories)
        db.session.flush()
        kinds, channels = [k.value for k in Kind], [c.value for c in Channel]
        for i in range(n_rules):
            # Keywords that rarely occur in the samples (a made-up suffix), so most calls scan every rule;
            # the last rules use real words and match.
            real = i >= n_rules - 3
            keywords = rng.sample(WORDS, 3) if real else [f"{w}{i}x" for w in rng.sample(WORDS, rng.randint(2, 6))]
            db.session.add(RoutingRule(
                name=f"قاعدة {i}", position=i + 1, department_id=rng.choice(departments).id,
                kinds=rng.sample(kinds, rng.randint(0, 3)), channels=rng.sample(channels, rng.randint(0, 3)),
                category_ids=[], keywords=parse_keywords("\n".join(keywords))))
        db.session.commit()


def _summary(times: list[float]) -> dict:
    times = sorted(times)
    return {"median": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1]}


def _time(app, calls: int, rng: random.Random, fresh_transaction: bool = False) -> dict:
    from desk.extensions import db
    from desk.models import Category, Channel, Kind
    from desk.routing.service import Sample, first_match, load_rules, propose

    kinds, channels = [k.value for k in Kind], [c.value for c in Channel]
    with app.app_context():
        category_ids = list(db.session.scalars(sa.select(Category.id)))
        samples = [(rng.choice(kinds), rng.choice(channels), rng.choice(category_ids + [None]),
                    rng.choice(SUBJECTS), BODY) for _ in range(calls)]
        for s in samples[:20]:  # warm up (connection pool, statement cache)
            propose(db.session, *s)
        times, routed = [], 0
        for s in samples:
            # Nothing cached in the session: every rule, rule and category is read again. At intake
            # the request's transaction is already open (the signed-in user was loaded), so by
            # default the timed part does not include BEGIN; --fresh-transaction includes it.
            if fresh_transaction:
                db.session.rollback()
            else:
                db.session.expire_all()
                db.session.connection()
            started = time.perf_counter()
            proposal = propose(db.session, *s)
            times.append((time.perf_counter() - started) * 1000)
            routed += proposal.department is not None
        # The pure matching part: the rules already loaded, the sample already normalised.
        rules = load_rules(db.session)
        db.session.rollback()
        prepared = [Sample.of(*s) for s in samples]
        for sample in prepared[:20]:
            first_match(rules, sample)
        match_times = []
        for sample in prepared:
            started = time.perf_counter()
            first_match(rules, sample)
            match_times.append((time.perf_counter() - started) * 1000)
        return {**_summary(times), "calls": len(times), "routed": routed, "rules_loaded": len(rules),
                "first_match": _summary(match_times)}


def measure(kind: str, rules: int = 200, calls: int = 2000, fresh_transaction: bool = False) -> dict:
    """Build a database with ``rules`` active rules on ``kind`` ("sqlite" or "postgresql") and time
    the decision there; the result says whether the p95 of propose() meets TARGET_MS."""
    cache = tempfile.mkdtemp(prefix="desk-bench-routing-")
    url = f"sqlite:///{cache}/routing.db" if kind == "sqlite" else _pg_recreate()
    os.environ.update(DESK_ENV="testing", DESK_SECRET_KEY="bench-secret-key", DESK_INSTANCE_PATH=cache,
                      DESK_DATABASE_URL=url)
    from desk import create_app

    app = create_app({"RATELIMIT_ENABLED": False})
    rng = random.Random(4)
    _build(app, rules, rng)
    try:
        result = _time(app, calls, rng, fresh_transaction)
    finally:
        with app.app_context():
            from desk.extensions import db
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(cache, ignore_errors=True)
    return {"database": kind, "rules": rules, **result, "target_ms": TARGET_MS, "pass": result["p95"] < TARGET_MS}


def line(result: dict) -> str:
    """One line of the report for a ``measure`` result."""
    match = result["first_match"]
    return (f"{result['database']:<10} propose() median {result['median']:.2f} ms · p95 {result['p95']:.2f} ms"
            f" · max {result['max']:.2f} ms · {result['routed']}/{result['calls']} routed"
            f" · first_match() alone median {match['median']:.3f} ms, p95 {match['p95']:.3f} ms"
            f" · target p95 < {result['target_ms']:.0f} ms: {'ok' if result['pass'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--fresh-transaction", action="store_true",
                        help="Time each call in a new transaction (BEGIN included).")
    args = parser.parse_args(argv)

    targets = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    failed = False
    print(f"Routing decision, propose(): {args.rules} active rules, {args.calls} calls each (in-process"
          f"{', a new transaction per call' if args.fresh_transaction else ''})")
    for kind in targets:
        result = measure(kind, args.rules, args.calls, args.fresh_transaction)
        failed |= not result["pass"]
        print("  " + line(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
