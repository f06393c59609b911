"""Closing a contest and publishing its results are asked for on a confirmation page that says what will happen."""
from __future__ import annotations

import pytest

from tests.contests.helpers import local
from tests.factories import csrf_from, log_in


@pytest.fixture
def organiser(app, client, make, units):
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    return account


def status(app, contest_id: int) -> str:
    from app.contests.models import Contest
    from app.extensions import db

    with app.app_context():
        return db.session.get(Contest, contest_id).status


def test_closing_and_publishing_ask_first_and_say_what_happens(app, client, organiser, make_contest):
    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    page = client.get(f"/quan-tri/cuoc-thi/{contest.slug}").get_data(as_text=True)
    assert f'href="/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/close"' in page  # a link, not a one-click form
    asked = client.get(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/close")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Không ai bắt đầu bài thi mới được nữa" in html
    assert status(app, contest.id) == "open"
    assert client.post(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/close").status_code == 400  # no token
    assert status(app, contest.id) == "open"
    done = client.post(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/close", data={"csrf_token": csrf_from(html)})
    assert done.status_code == 303 and status(app, contest.id) == "closed"

    asked = client.get(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/publish_results")
    html = asked.get_data(as_text=True)
    assert "Không thể huỷ công bố." in html and 'class="danger"' in html
    done = client.post(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/publish_results",
                       data={"csrf_token": csrf_from(html)})
    assert done.status_code == 303 and status(app, contest.id) == "results_published"
    again = client.post(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/close", data={"csrf_token": csrf_from(html)})
    assert again.status_code == 303 and status(app, contest.id) == "results_published"  # refused, said on the way back
    assert client.get(f"/quan-tri/cuoc-thi/{contest.slug}/xac-nhan/archive").status_code == 404


def test_item_analysis_shows_the_question_text(app, client, organiser, make_contest, units):
    from tests.contests.helpers import finished_attempt

    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    finished_attempt(app, contest.id, "0912345601", 4, units=units, questions=6)
    html = client.get(f"/quan-tri/cuoc-thi/{contest.slug}/phan-tich").get_data(as_text=True)
    assert "về cải cách hành chính?" in html  # the question, not only its code


def test_the_contest_workbooks_are_finished_and_in_words_while_the_csv_keeps_its_keys(app, client, organiser,
                                                                                      make_contest, units):
    import io

    import openpyxl

    from tests.contests.helpers import finished_attempt
    from tests.factories import job_file

    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    finished_attempt(app, contest.id, "0912345601", 4, units=units, questions=6)
    book = openpyxl.load_workbook(io.BytesIO(job_file(client, f"/quan-tri/cuoc-thi/{contest.slug}/xuat/bao-cao.xlsx")
                                             .get_data()))
    assert book.sheetnames[:4] == ["Xếp hạng", "Câu dự đoán", "Câu hỏi", "Thống kê bài thi"]
    ranking = book["Xếp hạng"]
    assert ranking.freeze_panes == "A2" and ranking.auto_filter.ref
    assert [cell.value for cell in ranking[1]][:3] == ["Số thứ tự thí sinh", "Hạng", "Đồng hạng"]
    assert ranking["F2"].value == 4 and ranking["F2"].number_format != "General"
    csv = job_file(client, f"/quan-tri/cuoc-thi/{contest.slug}/xuat/bao-cao.csv").get_data(as_text=True)
    assert csv.lstrip("\ufeff").startswith("participant_id,rank,tied,")
