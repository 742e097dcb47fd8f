from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import Optional

from desk.forms import DeskForm, ServiceSelect

# The service checks lengths and placeholders, with its messages by the fields.


class SavedReplyForm(DeskForm):
    title = StringField(_l("Title"), description=_l("What the picker shows and searches, e.g. \"Documents received\"."))
    body_ar = TextAreaField(_l("Arabic text"))
    body_en = TextAreaField(_l("English text"),
                            description=_l("For requests written in English; without it they get the Arabic text."))
    department_id = ServiceSelect(_l("Shared with"), validators=[Optional()])

    def set_choices(self, scopes, locale: str) -> None:
        self.department_id.choices = [
            ("", _l("The whole desk")) if department is None else (str(department.id), department.name(locale))
            for _id, department in scopes]
