"""Where a citizen can go after the survey: the unit's published satisfaction results, sending a feedback or
recommendation (phản ánh, kiến nghị), the open CCHC contest. Above the features (it reads contests and links to the
pages of the public portal and of PAKN): create_app hands ``after_survey`` to the surveys blueprint.

A link is offered only when its page exists in this installation (the endpoint is registered) and, for the contest,
when one is open to the counter's unit; the endpoints of pages built by other features are named here, once.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from app.contests.models import Contest
from app.extensions import db
from app.units.models import Unit

#: The public page of a unit's published satisfaction results (portal), with the unit's code.
RESULTS_ENDPOINT = "portal.unit_results"
#: The page where a citizen sends a feedback or recommendation (PAKN), with the unit's code to address it to.
FEEDBACK_ENDPOINT = "feedback.send"
#: A contest's home page, with its slug.
CONTEST_ENDPOINT = "contests.home"


@dataclass(frozen=True)
class NextStep:
    """A link on the thanks page: what it opens, and a line saying why one would."""

    label: str
    url: str
    description: str


def after_survey(unit_id: int) -> list[NextStep]:
    """Return the next steps offered after a survey at a counter of the unit, in the order they are shown."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        return []
    steps = []
    if _exists(RESULTS_ENDPOINT):
        steps.append(NextStep(str(_l("Xem kết quả đánh giá của %(unit)s", unit=unit.name)),
                              url_for(RESULTS_ENDPOINT, unit=unit.code),
                              str(_l("Chỉ số hài lòng đã công bố, cập nhật theo kỳ."))))
    if _exists(FEEDBACK_ENDPOINT):
        steps.append(NextStep(str(_l("Gửi phản ánh, kiến nghị")), url_for(FEEDBACK_ENDPOINT, unit=unit.code, **{"from": "survey"}),
                              str(_l("Cơ quan tiếp nhận, trả lời theo thời hạn và công khai kết quả."))))
    contest = _open_contest(unit) if _exists(CONTEST_ENDPOINT) else None
    if contest is not None:
        steps.append(NextStep(str(_l("Tham gia cuộc thi: %(title)s", title=contest.title)),
                              url_for(CONTEST_ENDPOINT, slug=contest.slug),
                              str(_l("Cuộc thi tìm hiểu về cải cách hành chính đang mở."))))
    return steps


def _exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _open_contest(unit: Unit) -> Contest | None:
    """Return the newest open contest run by the unit or one of the units above it."""
    return db.session.scalar(
        sa.select(Contest).join(Unit, Unit.id == Contest.unit_id)
        .where(Contest.status == "open", sa.literal(unit.path).startswith(Unit.path))  # paths: digits and slashes
        .order_by(Contest.id.desc()).limit(1)
    )
