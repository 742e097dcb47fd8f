"""The general manager's report as a file: XLSX (openpyxl, one sheet per table, right to left
in Arabic) or CSV (UTF-8 with a BOM so Excel reads the Arabic, sections one after another).

Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe: a comment typed by a beneficiary never runs.
The download and `flask desk report` write the same bytes through ``render``.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from desk import audit
from desk.models import AuditAction
from desk.stats.tables import Average, Duration, Percent, Table
from desk.text import format_hijri, to_riyadh
from desk.transaction import commit

FORMATS = ("xlsx", "csv")
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8"}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def recorded(session: Session, actor, fmt: str, first: date, last: date) -> None:
    """The general manager's report handed out — downloaded, opened to print (``html``) or
    written by `flask desk report` — on the audit trail (committed)."""
    audit.record(session, AuditAction.EXPORT, actor=actor, record_type="report", record_id="general_manager",
                 detail={"format": fmt, "from": first.isoformat(), "to": last.isoformat()})
    commit(session)


def neutralise(text: str) -> str:
    """A string that a spreadsheet shows as text, never evaluates."""
    return "'" + text if text.startswith(_DANGEROUS) else text


def _has_durations(table: Table, column: int) -> bool:
    rows = table.rows + ([table.total] if table.total else [])
    return any(isinstance(row[column], Duration) for row in rows)


def headers(table: Table) -> list[str]:
    unit = _("hours")
    return [f"{h} ({unit})" if _has_durations(table, i) else str(h) for i, h in enumerate(table.headers)]


def plain(value):
    """A cell as a spreadsheet value: numbers stay numbers; text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, Percent):
        return None if value.value is None else round(value.value, 4)
    if isinstance(value, Duration):
        return _("60 days or more") if value.over else value.hours
    if isinstance(value, Average):
        return value.value
    if isinstance(value, datetime):
        return to_riyadh(value).replace(tzinfo=None, microsecond=0)
    if isinstance(value, (date, int, float)):
        return value
    return neutralise(str(value))


def _title_rows(title: str, period: str) -> list[list[str]]:
    return [[neutralise(title)], [neutralise(period)]]


def to_csv(tables: list[Table], title: str, period: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_title_rows(title, period))
    for table in tables:
        writer.writerow([])
        writer.writerow([neutralise(str(table.title))])
        writer.writerow([neutralise(h) for h in headers(table)])
        for row in table.rows + ([table.total] if table.total else []):
            cells = []
            for value in row:
                cell = plain(value)
                if isinstance(value, Percent) and cell is not None:
                    cell = f"{cell * 100:.1f}%"
                elif isinstance(cell, datetime):
                    cell = cell.strftime("%Y-%m-%d %H:%M")
                elif isinstance(cell, date):
                    cell = cell.isoformat()
                cells.append("" if cell is None else cell)
            writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(text: str, used: set[str]) -> str:
    name = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(text))[:28].strip() or "Sheet"
    base, n = name, 2
    while name in used:
        name, n = f"{base} {n}", n + 1
    used.add(name)
    return name


def to_xlsx(tables: list[Table], title: str, period: str, rtl: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    if book.active is not None:  # a new workbook's empty first sheet: each table adds its own
        book.remove(book.active)
    used: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        sheet.sheet_view.rightToLeft = rtl
        for row in _title_rows(title, period):
            sheet.append(row)
        sheet["A1"].font = bold
        sheet.append([])
        sheet.append([neutralise(str(table.title))])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        sheet.append([neutralise(h) for h in headers(table)])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in table.rows + ([table.total] if table.total else []):
            sheet.append([plain(value) for value in row])
            for value, cell in zip(row, sheet[sheet.max_row], strict=True):
                if isinstance(value, Percent):
                    cell.number_format = "0.0%"
                elif isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
        if table.note:
            sheet.append([])
            sheet.append([neutralise(str(table.note))])
        sheet.column_dimensions["A"].width = 36
        for letter in "BCDEFGHIJKL":
            sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def period_text(first: date, last: date, locale: str) -> str:
    """"From … to …" in both calendars (the files' second line)."""
    return _("From %(start)s (%(start_hijri)s) to %(end)s (%(end_hijri)s)", start=first.isoformat(),
             start_hijri=format_hijri(first, locale), end=last.isoformat(), end_hijri=format_hijri(last, locale))


def render(fmt: str, tables: list[Table], title: str, period: str, locale: str) -> bytes:
    if fmt == "xlsx":
        return to_xlsx(tables, title, period, rtl=locale != "en")
    if fmt == "csv":
        return to_csv(tables, title, period)
    raise ValueError(fmt)


def filename(fmt: str, first: date, last: date) -> str:
    return f"desk-report-{first.isoformat()}-{last.isoformat()}.{fmt}"
