"""Who is signed in, what their role allows, and which units they may see (their subtree, checked on the server)."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.errors import NotFoundError, PermissionDeniedError
from app.extensions import db, login_manager
from app.units.models import Unit

#: Roles in increasing power; a view that needs "organiser" also admits administrators.
ROLE_RANK = {"viewer": 1, "organiser": 2, "administrator": 3}


def load_organiser(session_id: str):
    """Return the organiser for a session id "<id>:<session version>", or None when it is stale."""
    from app.auth.models import Organiser

    organiser_id, _, version = session_id.partition(":")
    if not organiser_id.isdigit() or not version.isdigit():
        return None
    organiser = db.session.get(Organiser, int(organiser_id))
    if organiser is None or organiser.session_version != int(version) or not organiser.is_active_account:
        return None
    if not organiser.unit.in_service:  # the unit (or one above it) was switched off: the session ends with it
        return None
    return organiser


def current_organiser():
    """Return the signed-in organiser (views decorated with organiser_required only)."""
    return current_user._get_current_object()


def organiser_required(minimum: str | Callable = "viewer"):
    """Require a signed-in organiser with at least the given role (viewer < organiser < administrator).

    Usable bare (`@organiser_required`) or with a role (`@organiser_required("organiser")`).
    """
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if ROLE_RANK[current_user.role] < ROLE_RANK[role]:
                raise PermissionDeniedError(_l("Tài khoản của bạn không có quyền thực hiện thao tác này."))
            return view(*args, **kwargs)
        return wrapper

    if callable(minimum):
        role = "viewer"
        return decorate(minimum)
    role = minimum
    return decorate


def ensure_unit_access(organiser, unit: Unit | None) -> Unit:
    """Return the unit if it lies in the organiser's subtree; otherwise 404, so other tenants' ids leak nothing."""
    if unit is None or not unit.is_within(organiser.unit):
        raise NotFoundError(_l("Không tìm thấy đơn vị này trong phạm vi quản lý của bạn."))
    return unit


#: Ids beyond the 32-bit keys of units, counters and accounts cannot exist (and would overflow SQLite's integer).
MAX_ID = 2**31 - 1


def load_by_id(model, object_id: int | None):
    """Return the row with this id, or None for a missing, non-positive or out-of-range id."""
    if not isinstance(object_id, int) or not 0 < object_id <= MAX_ID:
        return None
    return db.session.get(model, object_id)


def get_visible_unit(organiser, unit_id: int) -> Unit:
    """Load a unit by id within the organiser's subtree, or 404."""
    return ensure_unit_access(organiser, load_by_id(Unit, unit_id))
