"""The admin screens' forms. The domain rules (unique code, no empty rule…) live in the service;
these parse what was typed and keep it for the re-render."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from desk import labels
from desk.forms import DeskForm, ServiceMultiSelect, ServiceSelect
from desk.models import Position
from desk.text import parse_int


def optional_int(value) -> int | None:
    try:
        return parse_int(value) if value and str(value).strip() else None
    except ValueError:
        return None


class DepartmentForm(DeskForm):
    code = StringField(_l("Code"), validators=[Length(max=32)], description=_l("Latin capitals, e.g. AID. Used by scripts and exports."))
    name_ar = StringField(_l("Arabic name"), validators=[Length(max=120)])
    name_en = StringField(_l("English name"), validators=[Length(max=120)])
    email = StringField(_l("Email"), validators=[Length(max=254)])
    phone_ext = StringField(_l("Phone extension"), validators=[Length(max=16)])
    active = BooleanField(_l("Active"), default=True)
    # The portal's contact directory (/portal/directory).
    published = BooleanField(_l("List it in the portal's contact directory"))
    contact_title_ar = StringField(_l("Focal point's title (Arabic)"), validators=[Length(max=120)],
                                   description=_l("A title, not a person's name, e.g. ضابط اتصال إدارة المساعدات."))
    contact_title_en = StringField(_l("Focal point's title (English)"), validators=[Length(max=120)])
    move_to = ServiceSelect(_l("Where its open tickets go"), validators=[Optional()])

    def set_targets(self, departments, locale: str, unrouted: str) -> None:
        self.move_to.choices = [SelectChoice("", _l("Choose…")), SelectChoice(unrouted, _l("The shared queue (unrouted)"))] + [
            SelectChoice(str(d.id), d.name(locale)) for d in departments]


class MemberForm(DeskForm):
    user_id = ServiceSelect(_l("User"), validators=[Optional()])
    position = ServiceSelect(_l("Position"), default=Position.MEMBER)

    def set_choices(self, users) -> None:
        self.user_id.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(str(u.id), f"{u.name} ({u.email})") for u in users]
        self.position.choices = [SelectChoice(p.value, label) for p, label in labels.POSITIONS.items()]


class PositionForm(DeskForm):
    """A focal point's new position (the list is drawn by templates/admin/_members.html)."""

    position = ServiceSelect(_l("Position"))


class CategoryForm(DeskForm):
    kind = ServiceSelect(_l("Kind of request"), validators=[Optional()])
    name_ar = StringField(_l("Arabic name"), validators=[Length(max=120)])
    name_en = StringField(_l("English name"), validators=[Length(max=120)])
    default_department_id = ServiceSelect(_l("Default department"), validators=[Optional()],
                                        description=_l("Where its tickets go when no routing rule matches first."))
    position = StringField(_l("Order in the list"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)

    def set_choices(self, departments, locale: str) -> None:
        self.kind.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(k, label) for k, label in labels.KINDS.items()]
        self.default_department_id.choices = [SelectChoice("", _l("None (no default)"))] + [
            SelectChoice(str(d.id), d.name(locale)) for d in departments]


class RuleForm(DeskForm):
    name = StringField(_l("Rule name"), validators=[Length(max=120)])
    kinds = ServiceMultiSelect(_l("Kinds of request"))
    channels = ServiceMultiSelect(_l("Channels"))
    category_ids = ServiceMultiSelect(_l("Categories"))
    keywords_text = TextAreaField(_l("Keywords in the subject or details"),
                                  description=_l("One per line or separated by commas. Arabic is matched whatever the alef, taa marbuta or digits."))
    department_id = ServiceSelect(_l("Send to department"), validators=[Optional()])
    position = StringField(_l("Order number"), validators=[Optional()], description=_l("1 is tried first. Leave empty to keep the place (a new rule goes last)."))
    active = BooleanField(_l("Active"), default=True)

    # The tester: a sample ticket, never saved.
    t_kind = ServiceSelect(_l("Kind of request"), validators=[Optional()])
    t_channel = ServiceSelect(_l("Channel"), validators=[Optional()])
    t_category = ServiceSelect(_l("Category"), validators=[Optional()])
    t_subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    t_body = TextAreaField(_l("Details"), validators=[Optional(), Length(max=20_000)])

    conditions_errors: list = []  # "no condition at all": shown by the conditions, not by one field

    def set_choices(self, departments, categories, locale: str) -> None:
        kinds = [SelectChoice(k, label) for k, label in labels.KINDS.items()]
        channels = [SelectChoice(c, label) for c, label in labels.CHANNELS.items()]
        cats = [SelectChoice(str(c.id), f"{labels.KINDS.get(c.kind, c.kind)} · {c.name(locale)}") for c in categories]
        self.kinds.choices, self.channels.choices, self.category_ids.choices = kinds, channels, cats
        self.department_id.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(str(d.id), d.name(locale)) for d in departments]
        choose = SelectChoice("", "—")
        self.t_kind.choices, self.t_channel.choices, self.t_category.choices = [choose] + kinds, [choose] + channels, [choose] + cats


class SearchWordsForm(DeskForm):
    """A group of words the search treats as one (the rules are desk.search.add_group's)."""

    words = StringField(_l("Words that mean the same"), validators=[Length(max=400)],
                        description=_l("Separated by commas, e.g. شكوى، شكاوى or عائشة، عايشة."))
