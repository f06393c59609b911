"""Working days across Tết, a year without a calendar, and the figures (on-time share with n, indicator 8) against
values computed by hand for a small fixture that crosses Tết and an extension."""
from __future__ import annotations

import datetime as dt
import json
import random
from zoneinfo import ZoneInfo

import pytest

from tests.feedback.conftest import SENDER_PHONE

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: str, hour: int = 9) -> dt.datetime:
    """A local working-hours moment of a day, as UTC."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=ZONE).astimezone(dt.timezone.utc)


def test_ten_working_days_across_tet_2026(app, world):
    from app.feedback.calendar import load_calendar

    with app.app_context():
        calendar = load_calendar()
        # Received Wed 11/02/2026: Thu 12, Fri 13, then Tết 14–22/02 off, then 23, 24, 25, 26, 27/02, 2, 3, 4/03.
        assert calendar.add_working_days(dt.date(2026, 2, 11), 10) == dt.date(2026, 3, 4)
        assert calendar.add_working_days(dt.date(2026, 2, 11), 5) == dt.date(2026, 2, 25)
        # 2025: Saturday 26/04 was worked to take Friday 02/05 off.
        assert calendar.is_working_day(dt.date(2025, 4, 26)) and not calendar.is_working_day(dt.date(2025, 5, 2))
        assert calendar.working_days_between(dt.date(2026, 2, 11), dt.date(2026, 3, 4)) == 10


def test_a_year_without_a_calendar_is_refused_clearly(app, world, runner, tmp_path):
    from app.feedback.calendar import CalendarMissing, load_calendar

    with app.app_context():
        with pytest.raises(CalendarMissing, match="Chưa có lịch nghỉ lễ, Tết năm 2028"):
            load_calendar().add_working_days(dt.date(2027, 12, 24), 10)
    path = tmp_path / "2028.yaml"
    path.write_text("year: 2028\nholidays:\n  - {date: 2028-01-01, name: Tết Dương lịch}\n", encoding="utf-8")
    result = runner.invoke(args=["holidays", "load", str(path)])
    assert result.exit_code == 0 and "Đã nạp lịch năm 2028" in result.output
    with app.app_context():
        assert load_calendar().add_working_days(dt.date(2027, 12, 24), 10) == dt.date(2028, 1, 7)  # 27–31/12, 3–7/01
    path.write_text("year: 2028\nholidays:\n  - {date: 2029-01-01, name: sai năm}\n", encoding="utf-8")
    result = runner.invoke(args=["holidays", "load", str(path)])
    assert result.exit_code == 1 and "thuộc năm 2028" in result.output


def test_a_submission_in_a_year_without_calendar_is_refused_and_nothing_written(app, client, world):
    import re

    import sqlalchemy as sa

    from app.extensions import db
    from app.feedback.models import Feedback, Holiday
    from tests.feedback.conftest import citizen_fields, form_values

    with app.app_context():
        db.session.execute(sa.delete(Holiday).where(Holiday.year == 2026))
        db.session.commit()
    html = client.get("/phan-anh/gui?unit=T01-A").get_data(as_text=True)
    unit_id = re.search(r'<option value="(\d+)" selected>', html).group(1)
    response = client.post("/phan-anh/gui", data={**form_values(html), **citizen_fields(unit=unit_id)},
                           content_type="multipart/form-data")
    assert response.status_code == 409 and "Chưa có lịch nghỉ lễ, Tết năm 2026" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_indicator_8_points():
    from app.feedback.figures import indicator_8_points

    assert [indicator_8_points(*pair) for pair in ((0, 0), (10, 10), (9, 10), (19, 20), (8, 10), (0, 3))] == \
        [2, 2, 1, 1, 0, 0]


def _fixture(app) -> dict[str, str]:
    """Five PAKN of unit A (codes by name), received and answered on chosen days."""
    from app.auth.audit import COMMAND_LINE
    from app.extensions import db
    from app.feedback import services
    from app.feedback.calendar import load_calendar
    from app.units.services import get_unit_by_code

    codes = {}
    with app.app_context():
        calendar = load_calendar()
        unit_id = str(get_unit_by_code("T01-A").id)

        def make(name, received, answered=None, extend=None, rating=None):
            data = {"name": "Trần Văn Bình", "address": "5 Hai Bà Trưng, Huế", "phone": SENDER_PHONE,
                    "kind": "unsuited", "title": f"Phản ánh {name}", "content": "Quy định chưa phù hợp thực tế.",
                    "consent_data": "1", "unit": unit_id}
            feedback, _ = services.submit(services.read_submission(data), now=at(received), zone=ZONE,
                                          calendar=calendar, rng=random.Random(name), storage="/tmp/unused")
            services.accept(feedback, COMMAND_LINE, at(received, 10))
            if extend:
                services.extend(feedback, COMMAND_LINE, extend, "Cần lấy ý kiến Sở Tài chính", at(received, 11),
                                calendar)
            if answered:
                services.draft_answer(feedback, COMMAND_LINE, "Câu trả lời của cơ quan.", at(answered, 8))
                services.approve(feedback, COMMAND_LINE, at(answered, 9), ZONE)
                if rating:
                    services.rate(feedback, rating, at(answered, 15))
            codes[name] = feedback.code
            return feedback

        f1 = make("F1", "2026-02-11", answered="2026-03-04", rating="satisfied")
        f2 = make("F2", "2026-02-11", answered="2026-03-05", rating="dissatisfied")
        f3 = make("F3", "2026-02-11", answered="2026-03-06", extend=3)
        f4 = make("F4", "2026-03-02")
        f5 = make("F5", "2026-03-25")
        assert (f1.due_on, f3.extended_due_on, f4.due_on, f5.due_on) == (
            dt.date(2026, 3, 4), dt.date(2026, 3, 9), dt.date(2026, 3, 16), dt.date(2026, 4, 8))
        db.session.commit()
    return codes


def test_figures_against_values_computed_by_hand(app, world):
    from app.feedback.figures import feedback_figures
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    _fixture(app)
    with app.app_context():
        figures = feedback_figures(get_unit_by_code("T01"), parse_period("2026-Q1"), at("2026-04-10"), ZONE)
    # Due in Q1: F1 (4/3), F2 (4/3), F3 (9/3 after a 3-day extension), F4 (16/3, still open: late).
    # On time: F1 (answered on the day), F3 (6/3 ≤ 9/3). Late: F2 (5/3), F4. 2/4 = 50 % → 0 points.
    # Working days to answer: F1 10, F2 11, F3 12 → median 11. Overdue now: F4 and F5 (due 8/4).
    assert figures["received"] == 5 and figures["accepted"] == 5 and figures["answered"] == 3
    assert (figures["due"], figures["decided"], figures["on_time"]) == (4, 4, 2)
    assert figures["on_time_share"] == 0.5 and figures["indicator_8_points"] == 0
    assert figures["median_working_days"] == 11 and figures["overdue_now"] == 2 and figures["extended"] == 1
    assert figures["ratings"] == {"satisfied": 1, "accepted": 0, "dissatisfied": 1}
    with app.app_context():
        sibling = feedback_figures(get_unit_by_code("T01-B"), parse_period("2026-Q1"), at("2026-04-10"), ZONE)
    assert sibling["received"] == 0 and sibling["indicator_8_points"] == 2


def test_report_and_overdue_commands(app, world, runner, tmp_path):
    codes = _fixture(app)
    result = runner.invoke(args=["report", "feedback", "--unit", "T01-A", "--period", "2026-Q1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["decided"], data["on_time"], data["indicator_8_points"]) == (4, 2, 0)
    result = runner.invoke(args=["report", "feedback", "--unit", "T01-A", "--period", "2026-Q1", "--format", "csv"])
    assert "Tỷ lệ đúng hạn,0.5" in result.output
    out = tmp_path / "pakn.xlsx"
    result = runner.invoke(args=["report", "feedback", "--unit", "T01-A", "--period", "2026-Q1", "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    result = runner.invoke(args=["feedback", "overdue", "--unit", "T01-A", "--json"])
    assert result.exit_code == 0
    late = {row["code"] for row in json.loads(result.output)}
    assert {codes["F4"], codes["F5"]} <= late and codes["F1"] not in late
    assert runner.invoke(args=["feedback", "overdue", "--unit", "NOPE"]).exit_code == 1


def test_the_dashboard_shows_the_figures_of_its_unit_and_period(app, world, login, client):
    from app.units.services import get_unit_by_code

    _fixture(app)
    login(world.a_organiser)
    with app.app_context():
        unit_id = get_unit_by_code("T01-A").id
    html = client.get(f"/quan-tri/tong-quan?unit={unit_id}&year=2026&preset=Q1").get_data(as_text=True)
    assert "Phản ánh, kiến nghị" in html and "50,0 % (2 trên 4)" in html
    assert "Điểm chỉ số 8" in html


def test_the_periodic_report_has_a_feedback_section_with_the_same_figures(app, world):
    from app.documents.periodic import flatten_text, periodic_document
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    _fixture(app)
    with app.app_context():
        document = periodic_document(get_unit_by_code("T01"), parse_period("2026-Q1"), now=at("2026-04-10"),
                                     zone=ZONE)
        text = "\n".join(flatten_text(document))
    assert "TIẾP NHẬN VÀ TRẢ LỜI PHẢN ÁNH, KIẾN NGHỊ" in text
    assert "tiếp nhận 5 phản ánh, kiến nghị" in text and "đã trả lời 3 phản ánh, kiến nghị" in text
    assert "Trong 4 phản ánh, kiến nghị đến hạn trả lời, 2 được trả lời đúng hạn (tỷ lệ 50,0 %), tương ứng 0 điểm" \
        in text
    assert "Hiện còn 2 phản ánh, kiến nghị quá hạn chưa trả lời." in text
