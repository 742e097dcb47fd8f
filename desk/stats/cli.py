"""`flask desk stats-rollup` (nightly) and `flask desk report` (the monthly report file)."""
from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from desk.extensions import db


@click.command("stats-rollup")
@with_appcontext
@click.option("--full", is_flag=True, help="Rebuild every day from the first ticket.")
@click.option("--lookback", type=int, default=35, show_default=True,
              help="Days before the last rolled-up day to recompute (late transfers, reopened tickets).")
def stats_rollup_command(full: bool, lookback: int) -> None:
    """Roll the statistics up to yesterday (Asia/Riyadh). Run it nightly (cron); today and any
    day not yet rolled up are computed live, so a missed night only makes the dashboard slower."""
    from desk.stats import rollup
    from desk.text import today_riyadh

    started = time.perf_counter()
    done = rollup.catch_up(db.session, today_riyadh(), lookback_days=lookback, full=full,
                           progress=lambda a, b: click.echo(f"  {a} … {b}"))
    if done is None:
        click.echo("Statistics roll-up: nothing to do.")
    else:
        click.echo(f"Statistics rolled up from {done[0]} to {done[1]} in {time.perf_counter() - started:.1f} s.")


@click.command("report")
@with_appcontext
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (Gregorian, Asia/Riyadh).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--locale", type=click.Choice(["ar", "en"]), default="ar", show_default=True)
def report_command(start: str, end: str, fmt: str, output: str, locale: str) -> None:
    """Write the general manager's report (every department) without a browser, e.g. from a
    monthly cron job. The same file as the download on /stats/report."""
    from flask import current_app
    from flask_babel import force_locale

    from desk.errors import ValidationFailed
    from desk.stats.service import parse_range
    from desk.stats.views import report_file

    with current_app.test_request_context(), force_locale(locale):
        try:
            r = parse_range(start, end)
        except ValidationFailed as failed:
            for field, messages in failed.errors.items():
                for message in messages:
                    click.echo(f"--{'from' if field == 'start' else 'to'}: {message}", err=True)
            raise SystemExit(2) from None
        body = report_file(fmt, r, locale)
    Path(output).write_bytes(body)
    from desk.stats import export
    export.recorded(db.session, "cli:report", fmt, r.first, r.last)
    click.echo(f"Report {r.first} … {r.last} written to {output} ({len(body):,} bytes).")
