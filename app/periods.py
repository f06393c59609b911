"""Reporting periods: quarters, halves, years, months and custom ranges, with the period before each."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_HALF = re.compile(r"^(\d{4})-H([12])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^(\d{4})$")
#: The years a report period may cover: reports compare with the period before and trend over the years before,
#: so a period at the edge of the calendar (year 1, 9999) is refused instead of computed.
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: Longest text of a period quoted back in a message.
_QUOTED = 40


@dataclass(frozen=True)
class Period:
    """An inclusive range of local calendar days with the label it was asked by."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def of_months(cls, start: dt.date, months: int) -> Period:
        """Return the calendar month (1), quarter (3), half (6) or year (12) that begins on ``start``, labelled as
        ``parse_period`` reads it."""
        return _month_range(start.year, start.month, months, _label_for(start, months))

    def previous(self) -> Period:
        """Return the period of the same kind just before this one: for a custom range, as many whole months before
        it when it is whole months, else as many days."""
        for pattern, months in ((_QUARTER, 3), (_HALF, 6), (_MONTH, 1), (_YEAR, 12)):
            if pattern.match(self.label):
                return Period.of_months(_add_months(self.start, -months), months)
        end = self.start - dt.timedelta(days=1)
        if self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1:
            # A range of whole months is compared with as many whole months before it (April–June with January–
            # March, not with 31 December–31 March).
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            start = _add_months(self.start, -months)
        else:
            start = end - dt.timedelta(days=self.days - 1)
        return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


_ROMAN_QUARTERS = ("I", "II", "III", "IV")
_ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                   "November", "December")


def period_words(period: Period, locale: str = "vi") -> str:
    """Name a period as people write it, in Vietnamese ("quý III năm 2026", "6 tháng đầu năm 2026", "tháng 7 năm
    2026", "năm 2026", "từ ngày 01/07/2026 đến ngày 15/08/2026") or English ("Q3 2026", "first half of 2026",
    "July 2026", "2026", "1 July 2026 to 15 August 2026"); documents are always Vietnamese, screens follow the
    reader's language."""
    english = locale.startswith("en")
    year = period.start.year
    if match := _QUARTER.match(period.label):
        quarter = int(match[2])
        return f"Q{quarter} {year}" if english else f"quý {_ROMAN_QUARTERS[quarter - 1]} năm {year}"
    if match := _HALF.match(period.label):
        first = match[2] == "1"
        if english:
            return f"{'first' if first else 'second'} half of {year}"
        return f"6 tháng {'đầu' if first else 'cuối'} năm {year}"
    if _MONTH.match(period.label):
        return f"{_ENGLISH_MONTHS[period.start.month - 1]} {year}" if english else \
            f"tháng {period.start.month} năm {year}"
    if _YEAR.match(period.label):
        return str(year) if english else f"năm {year}"
    if english:
        return f"{period.start.day} {_ENGLISH_MONTHS[period.start.month - 1]} {period.start.year} to " \
               f"{period.end.day} {_ENGLISH_MONTHS[period.end.month - 1]} {period.end.year}"
    return f"từ ngày {period.start:%d/%m/%Y} đến ngày {period.end:%d/%m/%Y}"


def trailing_periods(day: dt.date, months: int, count: int) -> tuple[Period, ...]:
    """Return ``count`` consecutive calendar periods of ``months`` months (1 or 3), oldest first, the last one
    holding ``day``."""
    first = dt.date(day.year, (day.month - 1) // months * months + 1, 1)
    return tuple(Period.of_months(_add_months(first, -step * months), months) for step in range(count - 1, -1, -1))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _label_for(start: dt.date, months: int) -> str:
    if months == 3:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if months == 6:
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    if months == 1:
        return f"{start.year}-{start.month:02d}"
    return str(start.year)


def _month_range(year: int, first_month: int, months: int, label: str) -> Period:
    start = dt.date(year, first_month, 1)
    end = _add_months(start, months) - dt.timedelta(days=1)
    return Period(start, end, label)


def parse_period(text: str) -> Period:
    """Parse 2026-Q3, 2026-H1, 2026-07, 2026 or FROM..TO (ISO dates, inclusive).

    :raise ValueError: with a message naming the accepted forms, translated when shown (``str(error)``: the
        organiser's language in a request, Vietnamese on the command line).
    """
    text = text.strip()
    try:
        period = _match_period(text) if text.isascii() else None
    except ValueError:  # well formed but off the calendar: year 0, 9999-Q4 ending in year 10000, 30 February
        period = None
    shown = text if len(text) <= _QUOTED else text[:_QUOTED - 1] + "…"
    if period is None:
        raise ValueError(_l("kỳ báo cáo không hợp lệ: “%(text)s” (dùng 2026-Q3, 2026-H1, 2026-07, 2026 hoặc "
                            "2026-01-01..2026-03-31)", text=shown))
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise ValueError(_l("kỳ báo cáo “%(text)s” nằm ngoài các năm %(first)d–%(last)d", text=shown,
                            first=FIRST_YEAR, last=LAST_YEAR))
    return period


def _match_period(text: str) -> Period | None:
    if match := _QUARTER.match(text):
        return _month_range(int(match[1]), (int(match[2]) - 1) * 3 + 1, 3, text)
    if match := _HALF.match(text):
        return _month_range(int(match[1]), (int(match[2]) - 1) * 6 + 1, 6, text)
    if match := _MONTH.match(text):
        return _month_range(int(match[1]), int(match[2]), 1, text)
    if match := _YEAR.match(text):
        return _month_range(int(match[1]), 1, 12, text)
    start_text, sep, end_text = text.partition("..")
    if sep:
        start, end = dt.date.fromisoformat(start_text), dt.date.fromisoformat(end_text)
        if start <= end:
            return Period(start, end, text)
    return None
