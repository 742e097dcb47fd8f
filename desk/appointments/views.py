"""Appointments with officials on the desk (/appointments) and on the portal (/portal/appointments).

Desk: the day's appointments (intake staff's list, with check-in), an appointment's page (record
the visit, cancel), an official's availability, and booking for a walk-in or a caller. Portal:
choose a time and book it (from a request's page the booking is linked to that request), then
see or cancel it through the private link of the confirmation. Who may do what:
desk.permissions (Action.APPOINTMENT_*, can_appointment, visible_appointments); anyone else 404.
"""
from __future__ import annotations

from datetime import date, time, timedelta
from itertools import groupby

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from desk import error_pages, labels
from desk.appointments import service
from desk.appointments.forms import AvailabilityForm, BookingForm, CancelForm, VisitForm
from desk.errors import ValidationFailed
from desk.extensions import csrf, db, limiter
from desk.forms import optional_id
from desk.models import Appointment, AppointmentStatus, User
from desk.permissions import Action, can_appointment, require_appointment
from desk.portal import tracking
from desk.portal import views as portal_views
from desk.portal.service import by_reference
from desk.sla.calendar import SUNDAY_FIRST
from desk.sla.forms import WEEKDAYS
from desk.sla.service import GREGORIAN, parse_day
from desk.text import to_arabic_digits, to_riyadh, today_riyadh
from desk.web import current_locale, go_to, merge_errors

bp = Blueprint("appointments", __name__)
portal_bp = Blueprint("appointments_portal", __name__, url_prefix="/portal/appointments")
# The portal's forms are checked as the portal checks its own (desk.portal.views.check_csrf).
csrf.exempt(portal_bp)
portal_bp.before_request(portal_views.check_csrf)
portal_bp.after_request(portal_views.no_referrer)

GRANTS_KEY = "appointment_grants"   # the visitor's session: the appointments they booked or opened
GRANTS_KEPT = 10


@bp.app_context_processor
def _today_list():
    """``todays_appointments()`` for the intake page: today's, in time order, the visitor's view."""
    def todays():
        if not current_user.is_authenticated:
            return []
        return service.day_list(db.session, current_user, today_riyadh())
    return {"todays_appointments": todays, "can_appointment": can_appointment,
            "APPOINTMENT_STATUSES": labels.APPOINTMENT_STATUSES}


@bp.app_template_filter("hhmm")
def _hhmm(value: time | None) -> str:
    """A clock time "10:00" in the reader's digits."""
    if value is None:
        return ""
    text = value.strftime("%H:%M")
    return to_arabic_digits(text) if current_locale() == "ar" else text


def _repeats():
    return {service.WEEKLY: _("Every week"), service.ONCE: _("One day only")}


def _days(slots) -> list[tuple[date, list]]:
    """Slots grouped by their local day, for the pickers' <optgroup>s."""
    return [(day, list(group)) for day, group in groupby(slots, key=lambda s: to_riyadh(s.starts_at).date())]


# The day's list and one appointment ----------------------------------------------------------

@bp.get("/appointments")
@login_required
def index():
    """One day's appointments (today by default; ?day= any date, Arabic-Indic digits accepted)
    and the coming two weeks'."""
    day = today_riyadh()
    raw = request.args.get("day", "").strip()
    if raw:
        try:
            day = parse_day(raw, GREGORIAN)
        except ValueError:
            day = today_riyadh()
    return render_template("appointments/index.html", day=day, rows=service.day_list(db.session, current_user, day),
                           upcoming=service.upcoming(db.session, current_user) if day == today_riyadh() else [],
                           previous=day - timedelta(1), following=day + timedelta(1),
                           may_book=can_appointment(current_user, Action.APPOINTMENT_BOOK),
                           may_slots=can_appointment(current_user, Action.APPOINTMENT_SLOTS))


def _show(appointment: Appointment, visit: VisitForm | None = None, status: int = 200):
    visit = visit or VisitForm(formdata=None, status=appointment.status if appointment.status in
                               service.VISIT_OUTCOMES else "attended", notes=appointment.notes or "")
    visit.status.choices = [SelectChoice(s.value, labels.APPOINTMENT_STATUSES[s]) for s in service.VISIT_OUTCOMES]
    return render_template("appointments/show.html", appointment=appointment, visit=visit, cancel=CancelForm(formdata=None),
                           may_record=can_appointment(current_user, Action.APPOINTMENT_RECORD, appointment)), status


@bp.get("/appointments/<int:appointment_id>")
@login_required
def show(appointment_id: int):
    return _show(service.get(db.session, current_user, appointment_id))[0]


def _visit_again(appointment_id: int):
    return _show(service.get(db.session, current_user, appointment_id), VisitForm(), 503)


@bp.post("/appointments/<int:appointment_id>/visit")
@error_pages.form_page(_visit_again, VisitForm)
@login_required
def visit(appointment_id: int):
    appointment = service.get(db.session, current_user, appointment_id)
    form = VisitForm()
    if form.validate_on_submit():
        try:
            service.record_visit(db.session, current_user, appointment, form.status.data, form.notes.data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("appointments.show", appointment_id=appointment.id), _("The visit is recorded."))
    return _show(appointment, form, 422)


@bp.post("/appointments/<int:appointment_id>/cancel")
@login_required
def cancel(appointment_id: int):
    appointment = service.get(db.session, current_user, appointment_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.cancel(db.session, current_user, appointment)
    except ValidationFailed as failed:
        visit_form = VisitForm(formdata=None)
        merge_errors(visit_form, failed.errors)
        return _show(appointment, visit_form, 422)
    return go_to(url_for("appointments.show", appointment_id=appointment.id),
                 _("The appointment is cancelled and the beneficiary is told."))


# Availability -----------------------------------------------------------------------------

def _official() -> User:
    """Whose availability: the signed-in user, or (supervisors and admins) ?official=<id>."""
    raw = request.args.get("official", "")
    official = db.session.get(User, optional_id(raw)) if optional_id(raw) is not None \
        else current_user._get_current_object()
    if official is None or not official.active:
        abort(404)
    require_appointment(current_user, Action.APPOINTMENT_SLOTS, official=official)
    return official


def _availability_page(official: User, form: AvailabilityForm | None = None, status: int = 200):
    form = form or AvailabilityForm(formdata=None)
    form.repeat.choices = [SelectChoice(k, v) for k, v in _repeats().items()]
    form.weekday.choices = [SelectChoice(str(d), WEEKDAYS[d]) for d in SUNDAY_FIRST]
    form.slot_minutes.choices = [SelectChoice(str(m), _("%(n)s minutes", n=m)) for m in service.SLOT_MINUTES]
    others = (service.officials(db.session) if can_appointment(current_user, Action.APPOINTMENT_SLOTS, official=None)
              and current_user.has_role("supervisor", "admin") else [])
    return render_template("appointments/availability.html", official=official, form=form,
                           rows=service.availability_of(db.session, official),
                           slots=service.slots_of_official(db.session, official), others=others,
                           weekdays=WEEKDAYS), status


def _availability_again():
    return _availability_page(_official(), AvailabilityForm(), 503)


@bp.route("/appointments/availability", methods=["GET", "POST"])
@error_pages.form_page(_availability_again, AvailabilityForm)
@login_required
def availability():
    official = _official()
    if request.method == "GET":
        return _availability_page(official)
    form = AvailabilityForm()
    if form.validate_on_submit():
        data = service.AvailabilityData(
            repeat=form.repeat.data or "", weekday=form.weekday.data or "", on_day=form.on_day.data or "",
            starts=form.starts.data or "", ends=form.ends.data or "", slot_minutes=form.slot_minutes.data or "")
        try:
            service.add_availability(db.session, current_user, official, data)
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("appointments.availability", official=official.id),
                         _("The availability is published and its times can be booked."))
    return _availability_page(official, form, 422)


@bp.post("/appointments/availability/<int:availability_id>/delete")
@login_required
def remove_availability(availability_id: int):
    if not CancelForm().validate_on_submit():
        abort(400)
    official_id = service.remove_availability(db.session, current_user, availability_id)
    return go_to(url_for("appointments.availability", official=official_id),
                 _("The availability is withdrawn; times already booked stay."))


# Booking by staff -------------------------------------------------------------------------

def _booking_choices(form: BookingForm) -> list:
    slots = service.open_slots(db.session)
    form.slot_id.choices = [SelectChoice(str(s.id), str(s.id)) for s in slots]
    return _days(slots)


def _book_page(form: BookingForm | None = None, status: int = 200):
    form = form or BookingForm(formdata=None, reference=request.args.get("reference", "")[:30])
    days = _booking_choices(form)
    return render_template("appointments/book.html", form=form, days=days), status


def _book_again():
    return _book_page(BookingForm(), 503)


@bp.route("/appointments/book", methods=["GET", "POST"])
@error_pages.form_page(_book_again, BookingForm)
@login_required
def book():
    require_appointment(current_user, Action.APPOINTMENT_BOOK)
    if request.method == "GET":
        return _book_page()
    form = BookingForm()
    if form.validate_on_submit():
        try:
            ticket = service.linkable_ticket(db.session, current_user, form.reference.data)
            appointment, _key = service.book(db.session, current_user, _booking_data(form, ticket, "ar"))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            return go_to(url_for("appointments.show", appointment_id=appointment.id),
                         _("The appointment is booked and its confirmation is on its way."))
    return _book_page(form, 422)


def _booking_data(form: BookingForm, ticket, locale: str) -> service.BookingData:
    return service.BookingData(slot_id=form.slot_id.data or "", name=form.name.data or "", phone=form.phone.data or "",
                               email=form.email.data or "", reason=form.reason.data or "", locale=locale, ticket=ticket)


# The portal --------------------------------------------------------------------------------

def _grant(appointment: Appointment) -> None:
    kept = [i for i in session.get(GRANTS_KEY, []) if i != appointment.id]
    session[GRANTS_KEY] = (kept + [appointment.id])[-GRANTS_KEPT:]


def _granted(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment_id not in session.get(GRANTS_KEY, []):
        abort(404)
    return appointment


def _portal_ticket():
    """The request the visitor came from (?ticket=<reference>, opened in this session), if any."""
    reference = (request.values.get("ticket") or "").strip()[:20]
    ticket = by_reference(db.session, reference) if reference else None
    return ticket if ticket is not None and tracking.granted(session, ticket) else None


def _portal_page(form: BookingForm | None = None, status: int = 200):
    ticket = _portal_ticket()
    if form is None:
        form = BookingForm(formdata=None)
        contact = ((ticket.meta or {}).get("contact") or {}) if ticket is not None and not ticket.anonymous else {}
        form.name.data = contact.get("name") or (ticket.beneficiary.name if ticket and ticket.beneficiary else "")
        form.email.data = contact.get("email") or ""
    days = _booking_choices(form)
    return render_template("appointments/portal_book.html", form=form, days=days, ticket=ticket), status


def _booked(response) -> bool:
    """Only a booking made spends the allowance: someone correcting the form is never locked out."""
    return response.status_code < 400


def _portal_again():
    return _portal_page(BookingForm(), 503)


@portal_bp.route("", methods=["GET", "POST"])
@error_pages.form_page(_portal_again, BookingForm, signed_in=False)
@limiter.limit(lambda: portal_views.limit_of("DESK_PORTAL_SUBMIT_LIMIT"), methods=["POST"], deduct_when=_booked)
def portal_book():
    if request.method == "GET":
        return _portal_page()
    form = BookingForm()
    if form.validate():
        try:
            appointment, _key = service.book(db.session, None, _booking_data(form, _portal_ticket(), current_locale()))
        except ValidationFailed as failed:
            merge_errors(form, failed.errors)
        else:
            _grant(appointment)
            return redirect(url_for("appointments_portal.mine", appointment_id=appointment.id, booked=1), 303)
    return _portal_page(form, 422)


@portal_bp.get("/k/<key>")
@limiter.limit(lambda: portal_views.limit_of("DESK_PORTAL_TRACK_LIMIT"))
def open_key(key: str):
    """The private link of the confirmation: remembered in the session, then off the address bar."""
    appointment = service.by_key(db.session, key)
    if appointment is None:
        return render_template("portal/link_invalid.html"), 404
    _grant(appointment)
    return redirect(url_for("appointments_portal.mine", appointment_id=appointment.id), 303)


@portal_bp.get("/<int:appointment_id>")
def mine(appointment_id: int):
    appointment = _granted(appointment_id)
    return render_template("appointments/portal_show.html", appointment=appointment, form=CancelForm(formdata=None),
                           booked=request.args.get("booked") == "1")


@portal_bp.post("/<int:appointment_id>/cancel")
def portal_cancel(appointment_id: int):
    appointment = _granted(appointment_id)
    if appointment.status == AppointmentStatus.BOOKED:
        try:
            service.cancel(db.session, None, appointment)
        except ValidationFailed:
            pass  # cancelled meanwhile (by the desk, or in another tab): the page says how it stands
    return redirect(url_for("appointments_portal.mine", appointment_id=appointment.id), 303)
