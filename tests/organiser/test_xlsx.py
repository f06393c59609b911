"""People's workbooks look finished: frozen header, filter, widths, number and date formats with real values, a
native chart on the report's summary sheet, and every comment (the per-dossier complaints too)."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from tests.factories import assert_finished, job_file
from tests.organiser.reporting import store, store_many, vector

APRIL = dt.date(2026, 4, 10)


@pytest.fixture
def site(app, make, login):
    make.unit("T", name="Tỉnh Thử")
    make.unit("T-A", name="Xã Thử A", parent="T")
    counter = make.counter("T-A", code="QA")
    store_many(app, counter, vector(5), 30, day=APRIL, field="HO_TICH")
    store(app, counter, vector(2), day=APRIL, texts={"Y_KIEN": "Chờ lâu quá"})
    store(app, counter, bytes([1]), day=APRIL, code="dossier-rating",
          texts={"LY_DO": "Hồ sơ trả chậm hai tuần"})
    login(make.organiser("T", role="viewer"))
    return counter


def test_the_report_workbook_is_finished_with_a_chart_real_dates_and_every_comment(client, site):
    response = job_file(client, "/quan-tri/bao-cao/tai-ve.xlsx?period=2026-Q2")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    for sheet in book.worksheets:
        assert_finished(sheet)
    summary = book.worksheets[0]
    assert summary.title == "Tổng hợp" and len(summary._charts) == 1  # a native Excel chart, not a picture
    lines = {row[0].value: row[1].value for row in summary.iter_rows(min_row=2)}
    assert lines["Từ ngày"] == dt.datetime(2026, 4, 1) and lines["Đến ngày"] == dt.datetime(2026, 6, 30)
    assert isinstance(lines["Cận dưới khoảng tin cậy 95%"], float)
    assert not any(isinstance(value, str) and ("mean" in value or "pooled" in value) for value in lines.values())
    elements = book["Yếu tố"]
    assert isinstance(elements["C2"].value, float) and elements["C2"].number_format == '0.00" %"'
    trend = book["Xu hướng"]
    assert isinstance(trend["B2"].value, dt.datetime)
    comments = [(row[0].value, row[5].value) for row in book["Ý kiến"].iter_rows(min_row=2)]
    assert {text for _, text in comments} == {"Chờ lâu quá", "Hồ sơ trả chậm hai tuần"}
    assert all(isinstance(moment, dt.datetime) for moment, _ in comments)


def test_the_response_export_workbook_is_finished(client, site):
    response = job_file(client, f"/quan-tri/xuat-du-lieu/tai-ve?unit={site.unit_id}&instrument=sipas-counter"
                        "&format=xlsx&period=2026-Q2")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert_finished(book.worksheets[0])
    assert book.worksheets[0].max_row == 32  # header and the 31 responses


def test_machine_formats_keep_their_keys(runner, site):
    import json

    data = json.loads(runner.invoke(args=["report", "sipas", "--unit", "T", "--period", "2026-Q2",
                                          "--format", "json"]).output)
    assert data["method"]["overall_rule"] in ("mean_of_elements", "mean_of_criteria", "pooled")
    csv = runner.invoke(args=["report", "sipas", "--unit", "T", "--period", "2026-Q2", "--format", "csv"]).output
    assert csv.lstrip("\ufeff").startswith("section,code,name,value,n,ci_low,ci_high,flags,alpha,rank,")


def test_charts_fit_and_too_few_ratings_get_a_sentence_not_a_chart(client, site):
    import re
    import xml.etree.ElementTree as ET

    html = client.get("/quan-tri/tong-quan?year=2026&preset=Q2").get_data(as_text=True)
    assert "/quan-tri/bieu-do/ho-so.svg" not in html  # one dossier rating: no chart that looks like a finding
    assert "Mới có 1 lượt đánh giá hồ sơ trong kỳ" in html
    trend = html.split('id="h-trend"')[1].split("</section>")[0]
    assert "không có phiếu" in html and "mẫu nhỏ (n < 30)" not in trend
    assert "<td>04/2026</td>" in trend and "2026-04" not in trend  # months as people write them
    source = re.search(r'src="(/quan-tri/bieu-do/yeu-to\.svg[^"]+)"', html).group(1).replace("&amp;", "&")
    root = ET.fromstring(client.get(source).get_data())
    texts = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and "(n = " in t.text]
    assert texts and all(float(t.get("x")) < float(root.get("width").rstrip("pt")) for t in texts)  # inside the figure


def test_the_counter_page_shows_responses_in_the_quarter_the_last_one_and_the_index_with_n(app, client, make,
                                                                                          login):
    from app.database import utcnow

    today = utcnow().date()
    make.unit("Q", name="Tỉnh Quầy")
    counter = make.counter("Q", code="Q-1", name="Quầy Một")
    store_many(app, counter, vector(5), 30, day=today, field="HO_TICH")
    store(app, counter, vector(2), day=today, at=utcnow().replace(microsecond=0))
    login(make.organiser("Q", role="viewer"))
    html = client.get(f"/quan-tri/quay/{counter.id}").get_data(as_text=True)
    quarter = ("I", "II", "III", "IV")[(today.month - 1) // 3]
    assert f"Số phiếu, quý {quarter} năm {today.year}" in html and "<dd>31</dd>" in html
    assert "Phiếu gần nhất" in html and "chưa có phiếu nào" not in html
    assert "96,8 % (n = 31)" in html  # 30 of 31 respondents satisfied on every criterion


@pytest.mark.parametrize("command, title", [
    (["export", "responses", "--instrument", "sipas-counter", "--period", "2026-Q2"], "Phiếu trả lời"),
    (["report", "sipas", "--unit", "T", "--period", "2026-Q2"], "Tổng hợp"),
    (["report", "feedback", "--unit", "T", "--period", "2026-Q2"], "PAKN"),
], ids=["export-responses", "report-sipas", "report-feedback"])
def test_the_command_line_workbooks_are_finished_too(runner, site, tmp_path, command, title):
    out = tmp_path / "tep.xlsx"
    result = runner.invoke(args=[*command, "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.worksheets[0].title == title and book.worksheets[0].max_row >= 2
    for sheet in book.worksheets:
        assert_finished(sheet)
