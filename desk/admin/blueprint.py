"""The /admin blueprint, shared by the admin screens (desk.admin.views) and the user screens
(desk.admin.users): every page of it asks for a sign-in and does not exist for anyone but an
admin (404). create_app imports both modules, so their routes are on it before it is registered."""
from __future__ import annotations

from flask import Blueprint

from desk.permissions import Action
from desk.web import role_gate

bp = Blueprint("admin", __name__, url_prefix="/admin")
role_gate(bp, Action.ADMIN_MANAGE)
