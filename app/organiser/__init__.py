"""The organiser area under /quan-tri: units, counters, service fields, imports, comments, exports, dashboards."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from app.auth.access import ROLE_RANK

bp = Blueprint("organiser", __name__)


@dataclass(frozen=True)
class NavEntry:
    """One link of the organiser navigation, shown from `role` upwards."""

    endpoint: str
    label: str
    role: str = "viewer"


#: The navigation of every organiser page, in order. An entry shows only once its endpoint exists, so a
#: feature can be listed here before its views land (the dashboard is `organiser.dashboard`).
NAV = [
    NavEntry("organiser.dashboard", _l("Tổng quan")),
    NavEntry("organiser.report", _l("Báo cáo định kỳ")),
    NavEntry("organiser.units", _l("Đơn vị")),
    NavEntry("organiser.counters", _l("Quầy")),
    NavEntry("organiser.fields", _l("Lĩnh vực")),
    NavEntry("organiser.comments", _l("Ý kiến")),
    NavEntry("contest_admin.index", _l("Cuộc thi")),
    NavEntry("organiser.export", _l("Xuất dữ liệu")),
    NavEntry("auth.accounts", _l("Tài khoản"), "administrator"),
    NavEntry("auth.audit", _l("Nhật ký"), "administrator"),
]


@bp.app_template_global()
def has_endpoint(endpoint: str) -> bool:
    """Tell whether a view with this endpoint name is registered (for links to optional features)."""
    return endpoint in current_app.view_functions


@bp.app_template_global()
def organiser_nav(role: str) -> list[NavEntry]:
    """Return the navigation entries an organiser with this role may follow."""
    return [entry for entry in NAV if has_endpoint(entry.endpoint) and ROLE_RANK[role] >= ROLE_RANK[entry.role]]


@bp.app_template_global()
def can(role: str, minimum: str) -> bool:
    """Tell whether a role reaches `minimum` (viewer < organiser < administrator), to hide forbidden buttons."""
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[minimum]


# The view modules add their routes to `bp` when imported (a dashboard module joins this line).
from app.organiser import dashboard, views  # noqa: E402,F401
