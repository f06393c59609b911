"""Figures of PAKN per unit (subtree, by the unit handling each PAKN) and period: plain values for the dashboard,
the periodic report, `flask report feedback` and the API.

- received / accepted / answered: PAKN received, accepted, answered (approved answer) on a day of the period;
- on time: of the PAKN whose (extended) due date falls in the period and that are decided (answered, or still
  open past their due date), the share answered on or before that date, with n; an extension with a reason
  moves the due date;
- indicator 8 (one-stop evaluation, TT 01/2018 annex): 2 points when nothing is due or 100 % is on time, 1 point
  at ≥ 90 %, else 0;
- median working days from receipt to answer, overdue now, and the ratings of answers.
"""
from __future__ import annotations

import datetime as dt
import statistics
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.feedback.calendar import CalendarMissing, load_calendar
from app.feedback.models import RATINGS, Feedback
from app.periods import Period
from app.units.models import Unit

OPEN_STATUSES = ("received", "accepted", "transferred", "in_progress", "waiting_sender")
DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def indicator_8_points(on_time: int, decided: int) -> int:
    """2 points when nothing was due or all on time, 1 at ≥ 90 %, else 0."""
    if decided == 0 or on_time == decided:
        return 2
    return 1 if on_time * 10 >= decided * 9 else 0


def feedback_figures(unit: Unit, period: Period, now: dt.datetime, zone: ZoneInfo = DEFAULT_ZONE) -> dict:
    """Return the PAKN figures of a unit's subtree for a period, as plain values."""
    today = now.astimezone(zone).date()
    inside = sa.select(Unit.id).where(Unit.is_within(unit))
    rows = db.session.scalars(sa.select(Feedback).where(Feedback.unit_id.in_(inside))).all()

    def local(moment: dt.datetime | None) -> dt.date | None:
        return moment.astimezone(zone).date() if moment is not None else None

    received = [row for row in rows if period.contains(row.received_on)]
    accepted = [row for row in rows if row.accepted_at and period.contains(local(row.accepted_at))]
    answered = [row for row in rows if row.answered_on and period.contains(row.answered_on)]
    due = [row for row in rows if row.effective_due_on and period.contains(row.effective_due_on)
           and row.status not in ("not_accepted",)]
    decided = [row for row in due if row.answered_on is not None
               or (row.status in OPEN_STATUSES and row.effective_due_on < today)]
    on_time = [row for row in decided if row.answered_on is not None and row.answered_on <= row.effective_due_on]
    try:
        calendar = load_calendar()
        days = [calendar.working_days_between(row.received_on, row.answered_on) for row in answered]
        median = statistics.median(days) if days else None
    except CalendarMissing:
        median = None
    overdue_now = sum(1 for row in rows if row.status in OPEN_STATUSES and row.effective_due_on
                      and row.effective_due_on < today)
    ratings = {rating: sum(1 for row in answered if row.rating == rating) for rating in RATINGS}
    share = len(on_time) / len(decided) if decided else None
    return {
        "unit": unit.code,
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "received": len(received),
        "accepted": len(accepted),
        "answered": len(answered),
        "due": len(due),
        "decided": len(decided),
        "on_time": len(on_time),
        "on_time_share": share,
        "extended": sum(1 for row in due if row.extended_due_on is not None),
        "median_working_days": median,
        "overdue_now": overdue_now,
        "ratings": ratings,
        "rated": sum(ratings.values()),
        "indicator_8_points": indicator_8_points(len(on_time), len(decided)),
        "by_status": {status: sum(1 for row in received if row.status == status)
                      for status in sorted({row.status for row in received})},
    }
