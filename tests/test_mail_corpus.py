"""The golden corpus (issue 15, point 8): tests/data/mail/NAME.eml, one real-world-shaped
message per hazard, and NAME.json beside it, what must become of it. Each goes through
``flask desk import-mail --channel care`` (the pipeline fetch-mail shares), on SQLite and, with
DESK_TEST_DATABASE_URL, on PostgreSQL.

The expected outcome's keys: ``outcome`` (ticket, reply, ignored, quarantined, unverified,
duplicate: the first word printed), ``before`` (corpus messages taken in first),
``reason_contains``, and for a ticket ``subject``, ``subject_length_max``, ``body_contains``,
``body_excludes``, ``contact_email``, ``contact_name``, ``documents`` (the names attached),
``left_out_contains`` (said on the ticket), ``verified``, ``acknowledged``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from desk.models import Attachment, InboundMessage, OutboxMessage, QuarantinedMail, QuarantineState, Ticket

CORPUS = Path(__file__).parent / "data" / "mail"
NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))
BOXES = json.dumps([{"name": "care", "host": "127.0.0.1", "user": "care@example.org", "acknowledge": True}])
KNOWN = {"outcome", "before", "reason_contains", "subject", "subject_length_max", "body_contains", "body_excludes",
         "contact_email", "contact_name", "documents", "left_out_contains", "verified", "acknowledged", "original_kept"}


def test_the_corpus_covers_every_hazard_and_every_message_says_what_it_expects():
    assert len(NAMES) >= 40
    for name in NAMES:
        expected = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
        assert set(expected) <= KNOWN, name
        assert expected["outcome"] in ("ticket", "reply", "ignored", "quarantined", "unverified", "duplicate"), name
    outcomes = {json.loads((CORPUS / f"{n}.json").read_text(encoding="utf-8"))["outcome"] for n in NAMES}
    assert outcomes == {"ticket", "reply", "ignored", "quarantined", "unverified", "duplicate"}


@pytest.fixture
def import_mail(app, tmp_path):
    saved = {key: app.config[key] for key in ("DESK_MAILBOXES", "DESK_MAIL_AUTHSERV_ID", "DESK_MAIL_FROM")}
    app.config.update(DESK_MAILBOXES=BOXES, DESK_MAIL_AUTHSERV_ID="mx.assoc.example", DESK_MAIL_FROM="desk@example.org")
    runner = app.test_cli_runner()

    def run(name: str):
        result = runner.invoke(args=["desk", "import-mail", "--channel", "care"],
                               input=(CORPUS / f"{name}.eml").read_bytes())
        assert result.exit_code == 0, (name, result.output, result.exception)
        return result.output.strip()
    yield run
    app.config.update(saved)


@pytest.mark.parametrize("name", NAMES)
def test_each_message_of_the_corpus_becomes_what_it_should(db, people, import_mail, name):
    raw = (CORPUS / f"{name}.eml").read_bytes()
    expected = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    for earlier in expected.get("before", []):
        import_mail(earlier)
    tickets_before = set(db.session.scalars(select(Ticket.id)))
    acks_before = len(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.reason == "received")).all())

    said = import_mail(name)

    db.session.expire_all()
    assert said.split(" ")[0] == expected["outcome"], said
    if "reason_contains" in expected:
        assert expected["reason_contains"] in said, said
    new = [t for t in db.session.scalars(select(Ticket).order_by(Ticket.id)) if t.id not in tickets_before]
    acks = len(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.reason == "received")).all()) - acks_before
    outcome = expected["outcome"]
    if outcome != "ticket":
        assert new == [] and acks == 0
    if outcome == "ticket":
        (ticket,) = new
        assert said == f"ticket {ticket.reference}"
        _check_ticket(db, ticket, raw, expected)
        assert acks == (1 if expected.get("acknowledged", True) else 0)
    if outcome in ("ticket", "reply") and "verified" in expected:
        last = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last.verified is expected["verified"]
    if outcome in ("quarantined", "unverified"):
        held = db.session.scalars(select(QuarantinedMail).order_by(QuarantinedMail.id.desc())).first()
        assert held.raw == raw and held.state == (QuarantineState.HELD if outcome == "quarantined" else QuarantineState.UNVERIFIED)
    if outcome == "ignored":
        last = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last.outcome == "ignored" and last.ticket_id is None


def _check_ticket(db, ticket: Ticket, raw: bytes, expected: dict) -> None:
    if "subject" in expected:
        assert ticket.subject == expected["subject"]
    assert len(ticket.subject) <= expected.get("subject_length_max", 200)
    for text in expected.get("body_contains", []):
        assert text in ticket.body, (text, ticket.body[:500])
    for text in expected.get("body_excludes", []):
        assert text not in ticket.body, (text, ticket.body[:500])
    for text in expected.get("left_out_contains", []):
        assert text in ticket.body, (text, ticket.body[-500:])
    contact = ticket.meta["contact"]
    if "contact_email" in expected:
        assert contact["email"] == expected["contact_email"]
    if "contact_name" in expected:
        assert contact["name"] == expected["contact_name"]
    attached = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    originals = [a for a in attached if a.content_type == "message/rfc822"]
    assert len(originals) == 1 and originals[0].size == len(raw)  # the whole original, always
    if "documents" in expected:
        assert sorted(a.filename for a in attached if a not in originals) == sorted(expected["documents"])
