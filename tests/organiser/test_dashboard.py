"""Dashboard and periodic report pages: rendering, tenant scope, charts, downloads, and a response seen end to end."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest

from tests.factories import full_answers
from tests.organiser.reporting import store_many, vector
from tests.factories import job_file

APRIL, MAY = dt.date(2026, 4, 10), dt.date(2026, 5, 20)
Q2 = "year=2026&preset=Q2"


@pytest.fixture
def site(app, make, login):
    """T → T-A (12 responses in April, 75 % satisfied), T-B (10 in May, 40 %); a viewer of T signed in."""
    for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T"), ("K", None)):
        make.unit(code, name=f"Đơn vị {code}", parent=parent)
    counters = {"A": make.counter("T-A", code="QA"), "B": make.counter("T-B", code="QB"),
                "K": make.counter("K", code="QK")}
    store_many(app, counters["A"], vector(5), 9, day=APRIL, field="HO_TICH")
    store_many(app, counters["A"], vector(2), 3, day=APRIL, field="HO_TICH")
    store_many(app, counters["B"], vector(4), 4, day=MAY, field="HO_TICH")
    store_many(app, counters["B"], vector(3), 6, day=MAY, field="HO_TICH")
    store_many(app, counters["K"], vector(5), 10, day=MAY, field="HO_TICH")
    login(make.organiser("T", role="viewer"))
    return counters


def unit_id(app, code: str) -> int:
    from app.units.services import get_unit_by_code

    with app.app_context():
        return get_unit_by_code(code).id


def test_the_dashboard_shows_indices_children_and_charts_for_the_period(client, site):
    response = client.get(f"/quan-tri/tong-quan?{Q2}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đơn vị T · quý II năm 2026" in html
    assert "59,09" in html  # 13 of 22 satisfied, shown the Vietnamese way
    assert "75,00" in html and "40,00" in html and "Đơn vị K" not in html
    charts = re.findall(r'<img src="([^"]+)"', html)
    assert charts and all("/quan-tri/bieu-do/" in src for src in charts)
    assert "Bảng số phiếu theo ngày" in html and "Không khác biệt có ý nghĩa với" in html
    chart = client.get(charts[0].replace("&amp;", "&"))
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert chart.get_data().lstrip().startswith(b"<?xml") and b"<svg" in chart.get_data()
    assert "style-src 'unsafe-inline'" in chart.headers["Content-Security-Policy"]


def test_another_tenants_unit_is_not_found_on_every_report_route(app, client, site):
    other = unit_id(app, "K")
    for path in (f"/quan-tri/tong-quan?{Q2}&unit={other}", f"/quan-tri/bao-cao?{Q2}&unit={other}",
                 f"/quan-tri/bieu-do/yeu-to.svg?unit={other}&period=2026-Q2",
                 f"/quan-tri/bao-cao/tai-ve.pdf?unit={other}&period=2026-Q2",
                 f"/quan-tri/bao-cao/tai-ve.xlsx?unit={other}&period=2026-Q2"):
        response = job_file(client, path)
        assert response.status_code == 404, path
        assert "75,00" not in response.get_data(as_text=True)


def test_a_child_unit_can_be_chosen_and_the_unit_list_is_the_subtree(app, client, site):
    html = client.get(f"/quan-tri/tong-quan?{Q2}&unit={unit_id(app, 'T-A')}").get_data(as_text=True)
    assert "Đơn vị T-A · quý II năm 2026" in html and "75,00" in html
    options = re.findall(r'<option[^>]*value="(\d+)"', html)
    assert str(unit_id(app, "K")) not in options and str(unit_id(app, "T-B")) in options


def test_signing_in_is_required(app, make):
    anonymous = app.test_client()
    for path in ("/quan-tri/tong-quan", "/quan-tri/bao-cao", "/quan-tri/bieu-do/yeu-to.svg?period=2026-Q2",
                 "/quan-tri/tac-vu", "/quan-tri/tac-vu/1"):
        response = anonymous.get(path)
        assert response.status_code in (302, 401), path
        assert "75,00" not in response.get_data(as_text=True)


def test_a_custom_range_needs_both_dates_in_order(client, site):
    response = client.get("/quan-tri/tong-quan?year=2026&preset=custom&start=2026-05-01")
    assert response.status_code == 400
    assert "Chọn cả ngày bắt đầu và ngày kết thúc." in response.get_data(as_text=True)
    response = client.get("/quan-tri/tong-quan?year=2026&preset=custom&start=2026-05-01&end=2026-04-01")
    assert response.status_code == 400 and "Ngày kết thúc phải sau ngày bắt đầu." in response.get_data(as_text=True)
    response = client.get("/quan-tri/tong-quan?year=2026&preset=custom&start=2026-05-01&end=2026-05-31")
    assert response.status_code == 200 and "2026-05-01..2026-05-31" in response.get_data(as_text=True)


def test_bad_chart_and_period_arguments_get_a_clear_4xx(client, site):
    assert client.get("/quan-tri/bieu-do/khong-co.svg?period=2026-Q2").status_code == 404
    response = client.get("/quan-tri/bieu-do/yeu-to.svg?period=2026-Q9")
    assert response.status_code == 400 and "kỳ báo cáo không hợp lệ" in response.get_data(as_text=True)
    assert client.get("/quan-tri/tong-quan?year=1990&preset=Q2").status_code == 400
    assert client.get("/quan-tri/bieu-do/ho-so.svg?period=2026-Q2").status_code == 404  # no dossier ratings


def test_a_bad_period_is_explained_in_the_organisers_language(client, site, english):
    response = client.get("/quan-tri/bieu-do/yeu-to.svg?period=2026-Q9&lang=en")
    assert response.status_code == 400
    assert "invalid reporting period: “2026-Q9” (use 2026-Q3, 2026-H1" in response.get_data(as_text=True)


def test_the_periodic_report_page_is_the_document_and_offers_its_downloads_that_open(client, site):
    html = client.get(f"/quan-tri/bao-cao?{Q2}").get_data(as_text=True)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "BÁO CÁO" in html
    assert "chỉ số hài lòng chung đạt 59,1 % (n = 22)" in html  # the document's own sentence, one decimal
    assert "Kruskal–Wallis" not in html and "KTC 95%" not in html  # not a second dashboard
    documents = re.findall(r'action="(/quan-tri/van-ban/bao-cao-dinh-ky\.(?:docx|pdf)[^"]*)"', html)
    assert len(documents) == 2
    links = dict(re.findall(r'action="(/quan-tri/bao-cao/tai-ve\.(pdf|xlsx)[^"]*)"', html))
    assert len(links) == 2
    for link in links:
        response = job_file(client, link.replace("&amp;", "&"))
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        if link.split("?")[0].endswith(".pdf"):
            assert response.get_data().startswith(b"%PDF")
        else:
            book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
            assert book.sheetnames[:4] == ["Tổng hợp", "Yếu tố", "Tiêu chí", "Đơn vị"]
            assert [cell.value for cell in book["Đơn vị"][2]][:5] == [1, "T-A", "Đơn vị T-A", 75.0, 12]


def test_a_submitted_response_appears_in_the_dashboard_and_the_xlsx_report(app, client, make, login):
    """The end of the issue-4 walk: a citizen's response shows up for the organiser of its unit."""
    make.unit("W", name="Phường Thử")
    counter = make.counter("W", code="QW")
    citizen = app.test_client()
    answers = full_answers(citizen.get(counter.path).get_data(as_text=True), value="5")
    answers["Y_KIEN"] = "Cán bộ hướng dẫn rất tận tình"
    assert citizen.post(counter.path, data=answers).status_code == 303
    login(make.organiser("W", role="viewer"))
    html = client.get("/quan-tri/tong-quan").get_data(as_text=True)
    assert "Phường Thử" in html
    assert re.search(r"trên 1 phiếu trong kỳ", html)
    today = re.search(r"<td>(\d\d/\d\d/\d{4})</td><td class=\"num\">1</td>", html)
    assert today is not None
    period = re.search(r'name="period" value="([^"]+)"', html) or re.search(r"period=([0-9Q-]+)", html)
    xlsx = job_file(client, f"/quan-tri/bao-cao/tai-ve.xlsx?period={period.group(1)}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    summary = {row[0].value: row[1].value for row in book["Tổng hợp"].iter_rows(min_row=2)}
    assert summary["Số phiếu hợp lệ"] == 1
    assert all(row[4].value == 1 for row in book["Tiêu chí"].iter_rows(min_row=2))
    comments = [row[5].value for row in book["Ý kiến"].iter_rows(min_row=2)]
    assert comments == ["Cán bộ hướng dẫn rất tận tình"]


def test_charts_are_drawn_from_the_report_of_their_page_even_after_new_responses(app, client, site, monkeypatch):
    from app.organiser import reports as dashboard

    html = client.get(f"/quan-tri/tong-quan?{Q2}").get_data(as_text=True)
    sources = [src.replace("&amp;", "&") for src in re.findall(r'<img src="([^"]+)"', html)]
    assert sources and all("state=" in src for src in sources)
    store_many(app, site["B"], vector(5), 2, day=MAY, field="HO_TICH")

    def no_new_computation(*args, **kwargs):
        raise AssertionError("a chart computed the report again")

    monkeypatch.setattr(dashboard, "sipas_report", no_new_computation)
    assert all(client.get(src).status_code == 200 for src in sources)


def test_the_dashboard_writes_nothing_and_shows_responses_stored_since_it_was_last_computed(app, client, site):
    import sqlalchemy as sa

    from app.extensions import db

    written = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            written.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        assert "59,09" in client.get(f"/quan-tri/tong-quan?{Q2}").get_data(as_text=True)
        assert written == []
        store_many(app, site["B"], vector(5), 4, day=MAY, field="HO_TICH")
        written.clear()
        html = client.get(f"/quan-tri/tong-quan?{Q2}").get_data(as_text=True)
        assert written == []
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)
    assert "65,38" in html  # 17 of 26 satisfied: the new responses are read although nothing folded them


def test_the_dashboard_speaks_first_in_plain_words_with_the_statistics_one_click_away(client, site):
    html = client.get(f"/quan-tri/tong-quan?{Q2}").get_data(as_text=True)
    head, _, details = html.partition("<details class=\"stats\">")
    assert details, "the statistical detail sits in a Chi tiết thống kê part"
    assert "Chi tiết thống kê" in details and "Khoảng tin cậy 95%" in details  # with its glossary
    assert "59,1 %" in head and "từ 22 phiếu" in head  # the headline, one decimal, with its n
    assert "Chưa có số liệu kỳ trước để so sánh." in head
    assert "Ba tiêu chí yếu nhất" not in head  # every criterion scores alike here: none is named weakest
    assert "KTC" not in head and "Kruskal" not in head and "p =" not in head
    assert "Không có cuộc thi nào trong kỳ." in head and "Không có ý kiến nào trong kỳ." in head
    children = re.search(r'<h3 id="h-apart">.*?</section>', head, re.S).group(0)
    assert "Đơn vị T-A" in children or "Không đơn vị nào" in children
    assert not re.search(r">\s*T-[AB]\s*<", html)  # names, never codes, even in the detail
