from flask_babel import lazy_gettext as _l
from wtforms import FileField, StringField, TextAreaField
from wtforms.validators import Optional

from desk.forms import DeskForm, ServiceSelect
from desk.models import Audience

# The service checks what is required and the lengths, with its messages by the fields.

AUDIENCES = ((Audience.PUBLIC, _l("The public (the portal's help pages)")),
             (Audience.INTERNAL, _l("Staff only (the staff's library)")))


class ArticleForm(DeskForm):
    title_ar = StringField(_l("Arabic title"))
    title_en = StringField(_l("English title"), description=_l("Without it, English readers see the Arabic."))
    category_id = ServiceSelect(_l("Category"), validators=[Optional()])
    audience = ServiceSelect(_l("Who reads it"))
    body_ar = TextAreaField(_l("Arabic text"))
    body_en = TextAreaField(_l("English text"))

    def set_choices(self, categories, locale: str) -> None:
        self.category_id.choices = [("", _l("No category"))] + [(str(c.id), c.name(locale)) for c in categories]
        self.audience.choices = [(str(value), label) for value, label in AUDIENCES]


class CategoryForm(DeskForm):
    name_ar = StringField(_l("Arabic name"))
    name_en = StringField(_l("English name"))


class DocumentForm(DeskForm):
    file = FileField(_l("Document"))
