"""Server-time benchmark of the desk at scale (``python -m tests.bench``, or ``make bench``).

Builds (once, then reuses) a SQLite file under ``instance/bench/`` and/or a PostgreSQL
database ``desk_bench`` holding N generated tickets, then times the queue, search, ticket,
intake, refresh and load-more requests in-process with the Flask test client and checks them
against the targets: every page p95 < 50 ms, an unchanged refresh p95 < 5 ms.

    python -m tests.bench [--tickets 100000] [--db sqlite|postgres|both] [--runs 30]
                          [--output bench-results/] [--cache instance/bench/] [--rebuild]

``build.py`` prepares the databases; ``__main__.py`` runs the cases and writes the report.
Each other module runs on its own: ``routing``, ``outbox``, ``sla``, ``stats`` and ``load``
(tickets per second through the portal and the intake together under gunicorn on PostgreSQL,
a worker killed every 10 s: ``python -m tests.bench.load``, ``make bench-load``).
"""
