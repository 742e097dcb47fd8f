"""`flask --app wsgi desk retention [--dry-run]`: the daily retention run (desk.privacy.retention)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from desk.extensions import db


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="List what has passed its retention period, change nothing.")
def retention_command(dry_run: bool) -> None:
    """Anonymise the closed requests whose kind's retention period (set by an admin under
    Administration → Retention) has passed, delete their documents and record each in the audit
    trail. Run it daily (cron); running it twice does nothing more. Exit 1 if a request could
    not be done (it is left whole and taken up by the next run)."""
    from desk.privacy import retention, scrub, service

    periods = service.periods(db.session)
    if not periods:
        if not dry_run:
            scrub.after_retention(db.session, anonymised=False)  # SQLite: an erasure's unfinished index merge finished all the same
        click.echo("Retention: no period is set (Administration → Retention), nothing done.")
        return
    report = retention.run(db.session, current_app.config["DESK_ATTACHMENT_DIR"], dry_run=dry_run)
    verb = "would be anonymised" if dry_run else "anonymised"
    for kind, months in sorted(periods.items()):
        click.echo(f"  {kind} (kept {months} months after closing): {report.tickets[kind]} {verb}")
    if dry_run:
        for reference in report.references:
            click.echo(f"  {reference}")
    else:
        click.echo(f"Retention: {sum(report.tickets.values())} requests anonymised, {report.documents} documents "
                   f"deleted, {report.people} beneficiary records anonymised with their last request.")
    if report.failed:
        click.echo(f"Left for the next run after an error: {', '.join(report.failed)}", err=True)
        raise SystemExit(1)
