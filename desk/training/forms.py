"""The training log's form: it keeps what was typed; desk/training/service.py decides."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FileField, SelectChoice, StringField
from wtforms.validators import Length

from desk.forms import DeskForm, ServiceSelect
from desk.sla.forms import CALENDARS


class TrainingForm(DeskForm):
    user_id = ServiceSelect(_l("Staff member"), choices=[])
    course = StringField(_l("Course"), validators=[Length(max=400)])
    provider = StringField(_l("Provider"), validators=[Length(max=400)])
    entered_as = ServiceSelect(_l("Date typed in"), choices=[SelectChoice(k, v) for k, v in CALENDARS.items()],
                               default="gregorian")
    day = StringField(_l("Date"), validators=[Length(max=20)],
                      description=_l("Year-month-day, e.g. 2026-01-01 or 1447-07-01."))
    hours = StringField(_l("Hours"), validators=[Length(max=20)], description=_l("Decimals allowed, e.g. 1.5."))
    certificate = FileField(_l("Certificate (optional)"), description=_l("A PDF or an image."))
