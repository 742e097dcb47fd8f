"""Numbers in messages (issue 19, point 3): one formatter (desk.text.format_number) for every
message that takes a number, Arabic's six plural forms through ngettext."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext, lazy_gettext, ngettext

from desk.text import format_number


def test_format_number():
    assert format_number(20000, "ar") == "٢٠٬٠٠٠" and format_number(20000, "en") == "20,000"
    assert format_number(2.5, "ar") == "٢٫٥" and format_number(3.0, "ar") == "٣"
    assert format_number("12", "ar") == "١٢" and format_number(7, "en") == "7"


def test_a_number_in_a_message_takes_the_readers_digits(app):
    with app.test_request_context():
        message = lazy_gettext("The text is too long (at most %(n)s characters).", n=20000)
        with force_locale("ar"):
            assert str(message) == "النص طويل جدًا (الحد الأقصى لعدد الأحرف: ٢٠٬٠٠٠)."
        with force_locale("en"):
            assert str(message) == "The text is too long (at most 20,000 characters)."
        with force_locale("ar"):  # never two digit systems in one sentence
            assert gettext("Enter a number of days from 0 to %(n)s.", n=365) == "أدخل عددًا من الأيام بين ٠ و٣٦٥."


@pytest.mark.parametrize("n, text", [
    (1, "يمكن تعديل الإجابة خلال يوم واحد فقط."),
    (2, "يمكن تعديل الإجابة خلال يومين فقط."),
    (3, "يمكن تعديل الإجابة خلال ٣ أيام فقط."),
    (10, "يمكن تعديل الإجابة خلال ١٠ أيام فقط."),
    (11, "يمكن تعديل الإجابة خلال ١١ يومًا فقط."),
    (99, "يمكن تعديل الإجابة خلال ٩٩ يومًا فقط."),
    (100, "يمكن تعديل الإجابة خلال ١٠٠ يوم فقط."),
    (103, "يمكن تعديل الإجابة خلال ١٠٣ أيام فقط."),
])
def test_six_arabic_plural_forms(app, n, text):
    with app.test_request_context(), force_locale("ar"):
        assert ngettext("The answer can be changed for %(num)s day only.",
                        "The answer can be changed for %(num)s days only.", n) == text


def test_the_keyword_warning_counts_tickets_and_percent_in_arabic(app):
    with app.test_request_context(), force_locale("ar"):
        text = ngettext('The keyword "%(k)s" is found in %(share)s%% of the latest %(num)s ticket: it would send most '
                        'of them to one department. Use a more specific word.',
                        'The keyword "%(k)s" is found in %(share)s%% of the latest %(num)s tickets: it would send most '
                        'of them to one department. Use a more specific word.', 300, k="إيجار", share=34)
    assert "٣٤٪ من آخر ٣٠٠ طلب:" in text and "300" not in text


def test_statistics_durations_in_words(app):
    from desk.stats import tables
    from desk.stats.views import stat_cell
    with app.test_request_context(), force_locale("ar"):
        assert stat_cell(tables.Duration(seconds=14 * 86400)) == "١٤ يومًا"
        assert stat_cell(tables.Duration(seconds=2 * 3600)) == "ساعتان"
        assert stat_cell(tables.Duration(seconds=int(2.25 * 86400))) == "٢٫٢٥ يوم"
    with app.test_request_context(), force_locale("en"):
        assert stat_cell(tables.Duration(seconds=3 * 86400)) == "3 days"


def test_statistics_dates_as_the_desk_writes_them(app):
    from datetime import date

    from desk.stats.views import stat_cell
    with app.test_request_context(), force_locale("ar"):
        assert stat_cell(date(2026, 12, 1)) == "٠١\u00a0/\u00a0١٢\u00a0/\u00a0٢٠٢٦\u00a0م"
