"""Working days on the holiday calendar: weekends and the holidays loaded per year are days off, a weekend day
listed as a working day (làm bù) is worked. A year without loaded data is refused clearly, never guessed.

The calendar is data: one YAML file per year in app/feedback/holidays/ (shipped for 2025–2027), loaded with
`flask holidays load FILE` (which replaces that year).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml

from app.errors import AppError
from app.extensions import db
from app.feedback.models import Holiday

#: Where the shipped calendars live.
SHIPPED = Path(__file__).resolve().parent / "holidays"


class CalendarMissing(AppError):
    """A deadline needs a year whose holidays were never loaded."""

    status = 409


@dataclass(frozen=True)
class Calendar:
    """The days off and worked weekend days of the years loaded."""

    years: frozenset[int]
    days_off: frozenset[dt.date]
    worked: frozenset[dt.date]

    def _check(self, day: dt.date) -> None:
        if day.year not in self.years:
            raise CalendarMissing(
                f"Chưa có lịch nghỉ lễ, Tết năm {day.year}: chưa tính được thời hạn theo ngày làm việc. "
                f"Quản trị viên cần nạp lịch năm {day.year} (flask holidays load TỆP).")

    def is_working_day(self, day: dt.date) -> bool:
        self._check(day)
        if day in self.worked:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """Return the `days`-th working day after `start` (the day of receipt itself is not counted)."""
        day = start
        counted = 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Count the working days after `start` up to and including `end` (0 when end ≤ start)."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def load_calendar() -> Calendar:
    """Read every loaded year from the database."""
    rows = db.session.execute(sa.select(Holiday.day, Holiday.year, Holiday.working)).all()
    return Calendar(frozenset(row.year for row in rows), frozenset(row.day for row in rows if not row.working),
                    frozenset(row.day for row in rows if row.working))


def parse_calendar_file(text: str) -> tuple[int, list[tuple[dt.date, str, bool]]]:
    """Read one year's file: its year, then (day, name, worked) rows; a malformed file is refused, line by line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AppError(f"Tệp lịch nghỉ không đọc được (YAML): {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise AppError("Tệp lịch nghỉ phải có khoá year (năm, số nguyên) và danh sách holidays.")
    year = data["year"]
    rows: list[tuple[dt.date, str, bool]] = []
    for key, worked in (("holidays", False), ("working_days", True)):
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise AppError(f"Mục {key} phải là một danh sách.")
        for index, entry in enumerate(entries, start=1):
            day = entry.get("date") if isinstance(entry, dict) else None
            if not isinstance(day, dt.date) or day.year != year:
                raise AppError(f"Mục {key} thứ {index}: cần ngày (date) thuộc năm {year}, dạng YYYY-MM-DD.")
            rows.append((day, str(entry.get("name") or "")[:200], worked))
    if not any(not worked for _, _, worked in rows):
        raise AppError(f"Tệp lịch năm {year} không có ngày nghỉ nào.")
    days = [day for day, _, _ in rows]
    if len(days) != len(set(days)):
        raise AppError(f"Tệp lịch năm {year} có ngày bị lặp.")
    return year, rows


def load_year(text: str) -> tuple[int, int]:
    """Replace one year's calendar with the file's; return (year, number of days)."""
    year, rows = parse_calendar_file(text)
    db.session.execute(sa.delete(Holiday).where(Holiday.year == year))
    db.session.add_all(Holiday(day=day, year=year, name=name, working=worked) for day, name, worked in rows)
    db.session.flush()
    return year, len(rows)
