"""Importing units and counters from CSV/XLSX: all rows or none, with a row-numbered Vietnamese problem list."""
from __future__ import annotations

import csv
import html as html_lib
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from tests.factories import csrf_from

UNIT_HEADER = ["Mã đơn vị", "Tên đơn vị", "Loại", "Mã đơn vị cấp trên", "Biên chế", "Khối"]
COUNTER_HEADER = ["Mã quầy", "Tên quầy", "Mã đơn vị", "Mã phiếu khảo sát", "Mã lĩnh vực"]


def csv_bytes(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def codes(app, model_name: str) -> set[str]:
    from app.extensions import db
    from app.units.models import Counter, Unit

    model = {"units": Unit, "counters": Counter}[model_name]
    with app.app_context():
        return set(db.session.scalars(sa.select(model.code)))


def upload(client, kind: str, filename: str, data: bytes):
    path = f"/quan-tri/nhap/{kind}"
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def problems(response) -> list[tuple[str, str]]:
    rows = re.findall(r'<tr><td class="num">([^<]*)</td><td>([^<]*)</td></tr>', response.get_data(as_text=True))
    return [(row, html_lib.unescape(message)) for row, message in rows]


@pytest.fixture
def tree(make, login):
    """Province T with communes T-A and T-B; the signed-in organiser manages T-A. Returns unit ids."""
    ids = {code: make.unit(code, parent=parent) for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T"))}
    make.counter("T-B", code="QB1", fields=("HO_TICH", "DAT_DAI"))
    login(make.organiser("T-A"))
    return ids


def test_units_import_from_utf8_csv_with_semicolons_and_parents_on_earlier_rows(app, client, tree):
    data = csv_bytes([UNIT_HEADER,
                      ["T-A-1", "Thôn Một", "Khác", "T-A", "12", "Khối thôn"],
                      ["", "", "", "", "", ""],
                      ["T-A-1-1", "Tổ Một", "other", "T-A-1", "", ""]], delimiter=";")
    response = upload(client, "don-vi", "don-vi.csv", data)
    assert response.status_code == 303, problems(response)
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        rows = {unit.code: (unit.name, unit.kind, unit.parent.code, unit.headcount, unit.block, unit.path)
                for unit in db.session.scalars(sa.select(Unit).where(Unit.code.like("T-A-1%")))}
        parent_path = db.session.get(Unit, tree["T-A"]).path
    assert rows["T-A-1"][:5] == ("Thôn Một", "other", "T-A", 12, "Khối thôn")
    assert rows["T-A-1-1"][:5] == ("Tổ Một", "other", "T-A-1", None, None)
    assert rows["T-A-1-1"][5].startswith(rows["T-A-1"][5]) and rows["T-A-1"][5].startswith(parent_path)


def test_counters_import_from_xlsx_with_fields_and_default_instrument(app, client, tree):
    data = xlsx_bytes([COUNTER_HEADER,
                       ["QA1", "Quầy Hộ tịch", "T-A", None, "HO_TICH"],
                       ["QA2", "Quầy Tư pháp", "T-A", "sipas-counter", "HO_TICH; DAT_DAI"]])
    response = upload(client, "quay", "quay.xlsx", data)
    assert response.status_code == 303, problems(response)
    assert codes(app, "counters") == {"QB1", "QA1", "QA2"}
    from app.extensions import db
    from app.units.models import Counter

    with app.app_context():
        counter = db.session.scalar(sa.select(Counter).where(Counter.code == "QA2"))
        assert sorted(field.code for field in counter.service_fields) == ["DAT_DAI", "HO_TICH"]
        assert counter.instrument_code == "sipas-counter"


@pytest.mark.parametrize("rows, expected", [
    ([["T-A-1", "Thôn", "", "T-A", "", ""], ["có dấu", "Thôn", "", "T-A", "", ""]],
     [("3", "Mã “có dấu” không hợp lệ")]),
    ([["T-A-1", "Thôn", "", "T-A", "", ""], ["T-A-1", "Thôn khác", "", "T-A", "", ""]],
     [("3", "Mã “T-A-1” trùng với dòng 2.")]),
    ([["T-B", "Trùng mã có sẵn", "", "T-A", "", ""]], [("2", "Mã “T-B” đã có trong hệ thống.")]),
    ([["T-A-1", "Thôn", "", "KHONG-CO", "", ""]], [("2", "Không tìm thấy đơn vị cấp trên “KHONG-CO”")]),
    ([["T-A-1", "Thôn", "", "T-B", "", ""]], [("2", "Không tìm thấy đơn vị cấp trên “T-B”")]),
    ([["T-A-1-1", "Tổ", "", "T-A-1", "", ""], ["T-A-1", "Thôn", "", "T-A", "", ""]],
     [("2", "Không tìm thấy đơn vị cấp trên “T-A-1”")]),
    ([["T-A-1", "Thôn", "", "T-A", "-4", ""], ["T-A-2", "Thôn", "", "T-A", "mười", ""]],
     [("2", "Biên chế “-4” phải là số nguyên không âm."), ("3", "Biên chế “mười” phải là số nguyên không âm.")]),
    ([["T-A-1", "", "vương quốc", "", "", ""]],
     [("2", "Thiếu tên."), ("2", "Loại đơn vị “vương quốc” không hợp lệ."), ("2", "Thiếu mã đơn vị cấp trên.")]),
])
def test_unit_rows_with_problems_are_all_reported_and_nothing_is_imported(app, client, tree, rows, expected):
    before = codes(app, "units")
    good = [["T-A-9", "Thôn Chín", "", "T-A", "", ""]]
    response = upload(client, "don-vi", "don-vi.csv", csv_bytes([UNIT_HEADER, *rows, *good]))
    assert response.status_code == 400
    found = problems(response)
    assert len(found) == len(expected)
    for (row, message), (expected_row, expected_message) in zip(found, expected):
        assert row == expected_row and expected_message in message
    assert "Không dòng nào được ghi." in response.get_data(as_text=True)
    assert codes(app, "units") == before


@pytest.mark.parametrize("row, expected", [
    (["QA1", "Quầy", "T-B", "", ""], "Không tìm thấy đơn vị “T-B” trong phạm vi quản lý của bạn."),
    (["QA1", "Quầy", "KHONG-CO", "", ""], "Không tìm thấy đơn vị “KHONG-CO”"),
    (["QA1", "Quầy", "T-A", "dossier-rating", ""], "Phiếu khảo sát “dossier-rating” chưa được công bố hoặc không"),
    (["QA1", "Quầy", "T-A", "", "HO_TICH;KHONG_CO"], "Không có lĩnh vực mã: KHONG_CO."),
    (["QB1", "Quầy", "T-A", "", ""], "Mã “QB1” đã có trong hệ thống."),
])
def test_counter_rows_with_problems_are_reported_by_row_and_nothing_is_imported(app, client, tree, row, expected):
    data = xlsx_bytes([COUNTER_HEADER, ["QA0", "Quầy tốt", "T-A", "", ""], row])
    response = upload(client, "quay", "quay.xlsx", data)
    assert response.status_code == 400
    found = problems(response)
    assert [number for number, _ in found] == ["3"] and expected in found[0][1]
    assert codes(app, "counters") == {"QB1"}


@pytest.mark.parametrize("filename, data, status, expected", [
    ("don-vi.csv", b"", 400, "Tệp trống."),
    ("don-vi.csv", csv_bytes([UNIT_HEADER]), 400, "Tệp không có dòng dữ liệu nào"),
    ("don-vi.txt", csv_bytes([UNIT_HEADER, ["X", "X", "", "T-A", "", ""]]), 400, "Chỉ nhận tệp .csv hoặc .xlsx."),
    ("don-vi.csv", xlsx_bytes([UNIT_HEADER]), 400, "không phải văn bản CSV"),
    ("don-vi.xlsx", csv_bytes([UNIT_HEADER]), 400, "không phải là bảng tính Excel .xlsx hợp lệ"),
    ("don-vi.xlsx", b"PK\x03\x04" + b"\x00" * 200, 400, "không phải là bảng tính Excel .xlsx hợp lệ"),
    ("don-vi.csv", csv_bytes([["code", "name", "kind", "parent"], ["T-A-1", "Thôn", "", "T-A"]], encoding="latin-1"),
     400, "mã hoá UTF-8"),
    ("don-vi.csv", csv_bytes([["Mã đơn vị", "Tên đơn vị"], ["T-A-1", "Thôn"]]), 400,
     "Thiếu cột “Mã đơn vị cấp trên” ở dòng tiêu đề."),
    ("don-vi.csv", csv_bytes([UNIT_HEADER]) + b"X,Y,,T-A,,\r\n" * 180_000, 413, "Tệp quá lớn"),
])
def test_unreadable_files_are_refused_with_a_clear_message(app, client, tree, filename, data, status, expected):
    before = codes(app, "units")
    response = upload(client, "don-vi", filename, data)
    assert response.status_code == status
    assert expected in html_lib.unescape(response.get_data(as_text=True))
    assert codes(app, "units") == before


def test_too_many_rows_are_refused(app, client, tree):
    rows = [[f"T-A-{n}", f"Thôn {n}", "", "T-A", "", ""] for n in range(app.config["IMPORT_MAX_ROWS"] + 1)]
    response = upload(client, "don-vi", "don-vi.csv", csv_bytes([UNIT_HEADER, *rows]))
    assert response.status_code == 400
    assert "mỗi lần nhập tối đa" in response.get_data(as_text=True)
    assert "T-A-0" not in codes(app, "units")


def test_upload_without_a_file_asks_for_one(client, tree):
    path = "/quan-tri/nhap/don-vi"
    token = csrf_from(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Vui lòng chọn tệp để nhập." in response.get_data(as_text=True)


@pytest.mark.parametrize("kind, header", [("don-vi", UNIT_HEADER), ("quay", COUNTER_HEADER)])
def test_template_files_carry_the_expected_header_and_round_trip(app, client, tree, kind, header):
    sheet = load_workbook(io.BytesIO(client.get(f"/quan-tri/nhap/mau/{kind}.xlsx").data)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == header
    text = client.get(f"/quan-tri/nhap/mau/{kind}.csv").data.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == header
    row = ["T-A-7", "Thôn Bảy", "", "T-A", "", ""] if kind == "don-vi" else ["QA7", "Quầy Bảy", "T-A", "", ""]
    assert upload(client, kind, "mau.csv", (text + ",".join(row) + "\r\n").encode("utf-8")).status_code == 303


def test_the_template_sheet_is_named_in_the_organisers_language(client, tree, english):
    for lang, title in (("en", "Import template"), ("vi", "Mẫu nhập")):
        template = client.get(f"/quan-tri/nhap/mau/don-vi.xlsx?lang={lang}").data
        assert load_workbook(io.BytesIO(template)).sheetnames == [title]


def test_viewer_cannot_import(app, make, login, tree):
    viewer = login(make.organiser("T-A", role="viewer"), app.test_client())
    assert viewer.get("/quan-tri/nhap/don-vi").status_code == 403
