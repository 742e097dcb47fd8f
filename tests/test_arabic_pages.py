"""Every page and email in Arabic reads as Arabic (issue 19): no English word outside what is
marked as another language or direction (<bdi>, lang="en", dir="ltr", <code>), no Latin
digits inside an Arabic sentence, no variant the glossary bans."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from desk.accounts.service import create_user
from desk.beneficiaries.service import NewBeneficiary
from desk.notify import messages
from tests.conftest import PASSWORD, VALID_NID
from tests.test_glossary import banned_in

# Words that are Arabic text's own: file formats, products, codes the desk's settings name.
ALLOWED = {"PDF", "PNG", "JPEG", "WebP", "Word", "Excel", "PowerPoint", "CSV", "XLSX", "AID", "Webhook",
           "WhatsApp", "Instagram", "Snapchat", "X", "SMS", "English", "KB", "MB", "QR", "TOTP", "IMAP", "SMTP",
           "HMAC", "URL", "Tawasul", "PDPL", "SDAIA", "ID", "AH", "iqama",
           "Microsoft", "Google", "Authenticator"}
ISOLATED = re.compile(r"[\u2066\u2067\u2068][^\u2069]*\u2069")  # LRI/RLI/FSI … PDI: marked as the other direction
SKIP_TAGS = {"script", "style", "bdi", "code", "pre", "kbd", "samp", "svg", "template", "option", "textarea"}
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\b[A-Za-z]\b")
ASCII_DIGIT = re.compile(r"[0-9]")


class ArabicText(HTMLParser):
    """The page's visible text that is meant to be Arabic, as (text, path) pieces."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base", "embed", "param", "track"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.pieces: list[str] = []

    def _foreign(self) -> bool:
        return any(foreign for _, foreign in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        foreign = tag in SKIP_TAGS or (a.get("lang") or "ar")[:2] != "ar" or a.get("dir") in ("ltr", "auto")
        self.stack.append((tag, foreign))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if data.strip() and not self._foreign():
            self.pieces.append(" ".join(data.split()))


def problems(html: str) -> list[str]:
    parser = ArabicText()
    parser.feed(html)
    found = []
    for piece in parser.pieces:
        piece = ISOLATED.sub(" ", piece)
        english = [w for w in LATIN_WORD.findall(piece) if w not in ALLOWED and not w.startswith("DESK_")]
        if english:
            found.append(f"English {english}: {piece[:120]}")
        if ARABIC.search(piece) and ASCII_DIGIT.search(piece):
            found.append(f"Latin digits: {piece[:120]}")
        for concept, variant in banned_in(piece):
            found.append(f"banned {variant} ({concept}): {piece[:120]}")
    return found


def test_the_checker_finds_what_it_must():
    assert problems('<p>قائمة <b>Tickets</b></p>') and problems("<p>من ٠ إلى 365</p>")
    assert problems("<p>لا توجد تذاكر مفتوحة</p>")
    assert problems('<p><bdi>When will it come?</bdi> <span dir="ltr">C-1447-000001</span> ٣ أيام</p>') == []


def pages(app) -> list[str]:
    """Every GET page without a parameter, but the ones that are not HTML pages."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        path = rule.rule
        if any(part in path for part in ("/poll", "/export", ".csv", ".xlsx", "/logout", "/hooks", "/health", "/fail",
                                         "/download", "/feed", "/count")):
            continue
        out.append(path)
    return sorted(out)


@pytest.fixture
def arabic_boss(db, people):
    """One person who may open every screen, reading Arabic."""
    return create_user(db.session, "all@example.org", PASSWORD, "مدير النظام",
                       ["admin", "supervisor", "staff", "manager", "committee", "dpo"], ["SOCIAL"])


def test_every_page_reads_as_arabic(app, as_user, arabic_boss, make_ticket, db):
    ticket = make_ticket(subject="When will rent support be distributed?",
                         new_beneficiary=NewBeneficiary(name="Fatima Ali", national_id=VALID_NID, phone="+966512345678"))
    browser = as_user(arabic_boss)
    paths = pages(app) + [f"/tickets/{ticket.reference}", f"/beneficiaries/{ticket.beneficiary_id}"]
    found = {}
    for path in paths:
        response = browser.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        page_problems = problems(response.get_data(as_text=True))
        if page_problems:
            found[path] = page_problems
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())


def test_every_email_reads_as_arabic(app, db, people, make_ticket):
    ticket = make_ticket(subject="تأخر صرف السلة", new_beneficiary=NewBeneficiary(name="فاطمة", phone="+966512345678",
                                                                                  email="f@example.net"))
    found = {}
    with app.test_request_context():
        for kind in ("assigned", "routed", "resolved", "returned", "reminder", "sla_breach", "sla_first_response",
                     "beneficiary_wrote", "committee_decision"):
            subject, body = messages.render(kind, ticket, people.focal, actor=people.staff, note="ملاحظة")
            text = subject + "\n" + body
            found.update({f"{kind}: {p}": 1 for p in text_problems(text, ticket.reference)})
        for kind in ("received", "reply", "survey", "info_requested", "committee_decision"):
            subject, body = messages.render_for_beneficiary(kind, ticket, note="نص", link="https://desk.example.org/p/x")
            found.update({f"b_{kind}: {p}": 1 for p in text_problems(subject + "\n" + body, ticket.reference)})
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())


def text_problems(text: str, reference: str) -> list[str]:
    """A plain-text message: links, references and email addresses are not words."""
    text = re.sub(r"https?://\S+|\S+@\S+|" + re.escape(reference), " ", text)
    text = re.sub(r"\u2068[^\u2069]*\u2069", " ", text)
    return problems("<p>" + "</p><p>".join(line for line in text.splitlines() if line.strip()) + "</p>")
