"""Raw response exports from the organiser area: scoped, streamed CSV, XLSX, formula-safe, logged."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from tests.factories import job_file

UTC = dt.timezone.utc
DOWNLOAD = "/quan-tri/xuat-du-lieu/tai-ve"


@pytest.fixture
def site(app, make, login):
    """Communes A and B under T with a counter each; a viewer of A signed in."""
    from app.extensions import db
    from app.units.models import ServiceField

    for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T")):
        make.unit(code, parent=parent)
    counters = {"A": make.counter("T-A", code="QA", fields=("HO_TICH",)),
                "B": make.counter("T-B", code="QB", fields=("HO_TICH",))}
    with app.app_context():
        db.session.scalar(sa.select(ServiceField).where(ServiceField.code == "HO_TICH")).name = "-cmd|' /C calc'!A0"
        db.session.commit()
    login(make.organiser("T-A", role="viewer"))
    return counters


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_csv_export_streams_the_subtree_only_with_formulas_defused(client, make, site):
    first = make.response(site["A"], comment='=HYPERLINK("http://x","bấm")', when=dt.datetime(2026, 2, 1, tzinfo=UTC))
    make.response(site["A"], comment="@SUM(A1)", when=dt.datetime(2026, 2, 2, tzinfo=UTC))
    make.response(site["B"], comment="xã khác")
    response = job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&instrument=sipas-counter&format=csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    header = rows[0]
    assert header[:3] == ["response_id", "instrument_version", "counter"]
    by_column = [dict(zip(header, row)) for row in rows[1:]]
    assert [row["counter"] for row in by_column] == ["QA", "QA"]
    assert by_column[0]["response_id"] == str(first)
    assert by_column[0]["Y_KIEN"] == "'=HYPERLINK(\"http://x\",\"bấm\")"
    assert by_column[1]["Y_KIEN"] == "'@SUM(A1)"
    assert by_column[0]["service_field"] == "'-cmd|' /C calc'!A0"
    assert by_column[0]["TC1"] == "4"


def test_xlsx_export_has_the_same_rows_and_defused_cells(client, make, site):
    make.response(site["A"], comment="+1+2", when=dt.datetime(2026, 2, 1, tzinfo=UTC))
    response = job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&instrument=sipas-counter&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    record = dict(zip(rows[0], rows[1]))
    assert len(rows) == 2 and record["counter"] == "QA" and record["Y_KIEN"] == "'+1+2" and record["TC1"] == 4


def test_the_xlsx_export_sheet_is_named_in_the_organisers_language(client, make, site, english):
    make.response(site["A"], when=dt.datetime(2026, 2, 1, tzinfo=UTC))
    for lang, title in (("en", "Responses"), ("vi", "Phiếu trả lời")):
        response = job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&instrument=sipas-counter&format=xlsx&lang={lang}")
        assert load_workbook(io.BytesIO(response.data)).sheetnames == [title]


def test_period_narrows_the_export_by_local_day(client, make, site):
    make.response(site["A"], comment="quý 1", when=dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    make.response(site["A"], comment="quý 2", when=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    rows = read_csv(job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&instrument=sipas-counter&format=csv"
                               "&period=2026-Q2"))
    assert [dict(zip(rows[0], row))["Y_KIEN"] for row in rows[1:]] == ["quý 2"]


def test_export_of_another_subtree_is_not_found_and_not_logged(app, client, make, site):
    from app.auth.models import AuditEntry
    from app.extensions import db

    make.response(site["B"], comment="bí mật xã B")
    for fmt in ("csv", "xlsx"):
        response = job_file(client, f"{DOWNLOAD}?unit={site['B'].unit_id}&instrument=sipas-counter&format={fmt}")
        assert response.status_code == 404
        assert "bí mật" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "export.responses")) == 0


def test_each_export_is_logged(app, client, site):
    from app.auth.models import AuditEntry
    from app.extensions import db

    job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&instrument=sipas-counter&format=csv&period=2026").get_data()
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "export.responses"))
        assert (entry.unit_id, entry.object_id, entry.detail) == (
            site["A"].unit_id, "sipas-counter", {"unit": "T-A", "period": "2026", "format": "csv"})


@pytest.mark.parametrize("query, status, message", [
    ("instrument=khong-co&format=csv", 404, "Không có phiếu khảo sát mã “khong-co”."),
    ("instrument=sipas-counter&format=pdf", 400, "Lựa chọn không hợp lệ"),
    ("instrument=sipas-counter&format=csv&period=2026-Q5", 400, "Kỳ không hợp lệ"),
])
def test_bad_export_requests_get_a_clear_answer(client, site, query, status, message):
    response = job_file(client, f"{DOWNLOAD}?unit={site['A'].unit_id}&{query}")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_export_page_offers_the_subtree_and_published_instruments(client, site):
    html = client.get("/quan-tri/xuat-du-lieu").get_data(as_text=True)
    assert f'value="{site["A"].unit_id}"' in html and f'value="{site["B"].unit_id}"' not in html
    assert 'value="sipas-counter"' in html and 'value="dossier-rating"' in html


@pytest.mark.parametrize("query", ["unit=abc&format=csv", "unit=&format=csv", f"unit={10**30}&format=csv",
                                   "format=csv&period=" + "9" * 100])
def test_malformed_export_requests_are_refused_in_vietnamese(client, site, query):
    response = job_file(client, f"{DOWNLOAD}?instrument=sipas-counter&{query}")
    assert 400 <= response.status_code < 500
    assert "Hệ thống gặp sự cố" not in response.get_data(as_text=True)
