"""Contest files people open in Excel: the command line's report and attempt workbooks name sheets, columns and
question types in words with real dates (the CSV keeps its machine keys), and the question-bank template is in
Vietnamese words with drop-down lists and a guide, fills and imports back, and refuses bad rows by row number."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tests.contests.helpers import count_rows, local, register, start, submit
from tests.factories import assert_finished, csrf_from, log_in

#: A header that is a machine key, not words: snake_case, or one lowercase ASCII word such as "rank" or "items".
MACHINE_KEY = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@pytest.fixture
def finished_round(app, make_contest, units):
    """A round of 4 questions with two attempts started at 07:00 and submitted at 07:05 (local time) on 2 March."""
    from tests.contests.helpers import answers_for

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4)
    for index in range(2):
        participant = register(app, contest.id, f"091230000{index}", units=units, now=local("2026-03-02 06:00"))
        attempt = start(app, contest.id, participant, now=local("2026-03-02 07:00"), seed=index)
        submit(app, attempt, participant, answers_for(app, attempt, [True, index == 0, True, False]), "3",
               now=local("2026-03-02 07:05"))
    return contest


def headers(sheet) -> list[object]:
    return [cell.value for cell in sheet[1]]


def column(sheet, header: str) -> list[object]:
    index = headers(sheet).index(header)
    return [row[index].value for row in sheet.iter_rows(min_row=2)]


def test_the_contest_report_workbook_of_the_command_line_is_in_words_with_real_local_times(runner, finished_round,
                                                                                           tmp_path):
    out = tmp_path / "bao-cao.xlsx"
    result = runner.invoke(args=["report", "contest", "--contest", finished_round.slug, "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["Xếp hạng", "Câu dự đoán", "Câu hỏi", "Thống kê bài thi", "Giải thưởng", "Đơn vị"]
    for sheet in book.worksheets:
        assert_finished(sheet)
        assert not [header for header in headers(sheet) if MACHINE_KEY.match(str(header))], sheet.title
    ranking = book["Xếp hạng"]
    assert headers(ranking)[:3] == ["Số thứ tự thí sinh", "Hạng", "Đồng hạng"]
    assert column(ranking, "Điểm") == [3, 2]
    # The JSON's "2026-03-02T00:05:00.000Z" is read in the display zone: 07:05 in Hà Nội, a real date and time.
    assert column(ranking, "Thời điểm nộp") == [dt.datetime(2026, 3, 2, 7, 5)] * 2
    assert column(ranking, "Đối tượng") == ["Cán bộ, công chức, viên chức"] * 2  # the group's name, not "cbccvc"
    assert column(ranking, "Đồng hạng") == ["Không", "Không"]
    assert set(column(book["Câu hỏi"], "Loại câu hỏi")) == {"Một đáp án"}
    # Two attempts are too few for item statistics: the flag says so in words (the CSV keeps "n_too_small").
    assert all("ít lượt (< 30)" in flags for flags in column(book["Câu hỏi"], "Cờ"))


def test_the_contest_report_csv_keeps_its_documented_keys(runner, finished_round, tmp_path):
    out = tmp_path / "bao-cao.csv"
    assert runner.invoke(args=["report", "contest", "--contest", finished_round.slug, "--format", "csv",
                               "--out", str(out)]).exit_code == 0
    text = out.read_bytes().decode("utf-8-sig")
    assert text.startswith("# ranking\r\nparticipant_id,rank,tied,group,group_rank,score,prediction,duration_ms,"
                           "submitted_at\r\n")
    assert "# items\r\nquestion_id,code,type," in text and ",single," in text and "2026-03-02T00:05:00.000Z" in text
    assert re.search(r"\r\n\d+,1,0,cbccvc,", text)  # codes and 0/1 stay in the machine format


def test_the_attempt_workbook_of_the_command_line_is_in_words_with_real_dates(runner, finished_round, tmp_path):
    out = tmp_path / "bai-thi.xlsx"
    result = runner.invoke(args=["export", "attempts", "--contest", finished_round.slug, "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["Bài thi"]
    sheet = book["Bài thi"]
    assert_finished(sheet)
    assert headers(sheet)[:9] == ["Số thứ tự thí sinh", "Đơn vị", "Đối tượng", "Điểm", "Câu dự đoán",
                                  "Thời điểm bắt đầu", "Thời điểm nộp", "Thời gian làm bài (mili giây)", "Hạng"]
    assert column(sheet, "Thời điểm bắt đầu") == [dt.datetime(2026, 3, 2, 7, 0)] * 2
    assert column(sheet, "Thời gian làm bài (mili giây)") == [300000, 300000]
    assert column(sheet, "Đối tượng") == ["Cán bộ, công chức, viên chức"] * 2


@pytest.fixture
def organiser(app, client, make, units):
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    return account


def template_book(client):
    response = client.get("/quan-tri/cuoc-thi/mau/cau-hoi.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def import_bank(client, book, code: str = "mau-moi"):
    """Upload a filled workbook on the bank import page, as an organiser does."""
    buffer = io.BytesIO()
    book.save(buffer)
    token = csrf_from(client.get("/quan-tri/cuoc-thi/ngan-hang/nhap").get_data(as_text=True))
    return client.post("/quan-tri/cuoc-thi/ngan-hang/nhap", data={
        "csrf_token": token, "bank": code, "file": (io.BytesIO(buffer.getvalue()), "cau-hoi.xlsx")},
        content_type="multipart/form-data")


def test_the_question_template_speaks_vietnamese_with_drop_down_lists_and_a_guide(client, organiser):
    book = template_book(client)
    questions, guide = book.worksheets
    assert (questions.title, guide.title) == ("Câu hỏi", "Hướng dẫn")
    assert headers(questions) == ["Mã câu", "Loại câu", "Chủ đề", "Mức độ", "Nội dung câu hỏi",
                                  *(f"Phương án {letter}" for letter in "ABCDEFGH"), "Đáp án đúng", "Giải thích",
                                  "Nguồn"]
    assert_finished(questions)
    assert_finished(guide)
    assert column(questions, "Loại câu") == ["Một đáp án", "Đúng/Sai", "Nhiều đáp án"]
    for index, header in enumerate(headers(questions), start=1):  # every heading readable without widening
        assert questions.column_dimensions[get_column_letter(index)].width >= len(header), header
    assert questions.column_dimensions["E"].width >= 40  # the question text
    lists = {str(validation.sqref): validation.formula1 for validation in questions.data_validations.dataValidation}
    assert lists["B2:B5001"] == '"Một đáp án,Nhiều đáp án,Đúng/Sai"'
    assert lists["D2:D5001"] == '"Dễ,Trung bình,Khó"'
    assert headers(guide) == ["Cột", "Bắt buộc", "Ý nghĩa"]
    explained = {row[0].value: (row[1].value, row[2].value) for row in guide.iter_rows(min_row=2)}
    assert set(explained) == {"Mã câu", "Loại câu", "Chủ đề", "Mức độ", "Nội dung câu hỏi",
                              "Phương án A … Phương án H", "Đáp án đúng", "Giải thích", "Nguồn"}
    assert explained["Loại câu"] == ("Có", "Chọn trong danh sách: Một đáp án, Nhiều đáp án hoặc Đúng/Sai.")
    assert explained["Nguồn"][0] == "Không"


def test_the_filled_template_imports_back_question_for_question(app, client, organiser):
    from app.contests.models import Question, QuestionBank
    from app.extensions import db

    book = template_book(client)
    sheet = book.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)
    blank = [None] * 6
    sheet.append(["TT-1", "Nhiều đáp án", "mot_cua", "Khó", "Những nơi nào tiếp nhận hồ sơ thủ tục hành chính?",
                  "Bộ phận Một cửa", "Cổng Dịch vụ công", "Nhà văn hoá", *blank[1:], "A,B",
                  "Một cửa và Cổng Dịch vụ công tiếp nhận hồ sơ.", "Nghị định 61/2018/NĐ-CP"])
    sheet.append(["TT-2", "Đúng/Sai", "mot_cua", "Dễ", "Hồ sơ chỉ được nộp trực tiếp.", *blank, None, None, "Sai",
                  None, None])
    sheet.append(["TT-3", "Một đáp án", "chi_so", "Trung bình", "SIPAS đo điều gì?", "Sự hài lòng",
                  "Năng lực cạnh tranh", *blank, "A", None, "QĐ 1001/QĐ-BNV"])
    response = import_bank(client, book)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        bank = db.session.query(QuestionBank).filter_by(code="mau-moi").one()
        stored = {q.code: q for q in db.session.query(Question).filter_by(bank_id=bank.id)}
        assert sorted(stored) == ["TT-1", "TT-2", "TT-3"]
        assert (stored["TT-1"].type, stored["TT-1"].difficulty, stored["TT-1"].options) == \
            ("multiple", 3, ["Bộ phận Một cửa", "Cổng Dịch vụ công", "Nhà văn hoá"])
        assert (stored["TT-2"].type, stored["TT-2"].options, stored["TT-3"].difficulty) == \
            ("true_false", ["Đúng", "Sai"], 2)
        assert stored["TT-3"].source == "QĐ 1001/QĐ-BNV"


def test_bad_rows_of_the_template_are_refused_by_row_in_vietnamese_and_nothing_is_written(app, client, organiser):
    from app.contests.models import Question, QuestionBank

    book = template_book(client)
    sheet = book.worksheets[0]
    sheet.append(["CH-004", "Nhiều lựa chọn", "chi_so", "Rất khó", "Câu có loại lạ?", "X", "Y", *[None] * 6, "Z",
                  None, None])
    response = import_bank(client, book)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Dòng 5, cột “Loại câu”: loại câu phải là một trong: Một đáp án, Nhiều đáp án, Đúng/Sai" in page
    assert "Dòng 5, cột “Mức độ”: mức độ phải là 1 (dễ), 2 (trung bình) hoặc 3 (khó)" in page
    assert "Dòng 5, cột “Đáp án đúng”" in page
    assert "Dòng 2" not in page  # the template's own examples are good
    assert count_rows(app, Question) == 0 and count_rows(app, QuestionBank) == 0


def test_old_files_with_the_english_column_names_still_import(app, client, organiser):
    from app.contests.models import Question

    book = template_book(client)
    sheet = book.worksheets[0]
    for cell, name in zip(sheet[1], ["code", "type", "topic", "difficulty", "text"]):
        cell.value = name
    for row in sheet.iter_rows(min_row=2):
        row[1].value = {"Một đáp án": "single", "Đúng/Sai": "true_false", "Nhiều đáp án": "multiple"}[row[1].value]
    assert import_bank(client, book).status_code == 303
    assert count_rows(app, Question) == 3


def test_the_participant_template_is_in_words_with_a_real_birth_date_and_reads_back(app, client, organiser):
    from app.contests.imports import parse_participants

    data = client.get("/quan-tri/cuoc-thi/mau/thi-sinh.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "Thí sinh"
    assert headers(sheet) == ["Số điện thoại", "Họ và tên", "Ngày sinh", "Mã đơn vị", "Đối tượng", "Số CCCD"]
    assert_finished(sheet)
    assert sheet["C2"].value == dt.datetime(1990, 4, 15) and sheet["C2"].number_format == "dd/mm/yyyy"
    with app.test_request_context():
        [row] = parse_participants("thi-sinh.xlsx", data)
    assert (row.phone, row.full_name, row.birth_date) == ("0912345678", "Nguyễn Văn An", dt.date(1990, 4, 15))


def test_the_personal_data_workbook_is_in_words_with_real_dates(app, client, organiser, finished_round):
    response = client.get(f"/quan-tri/cuoc-thi/{finished_round.slug}/du-lieu-ca-nhan.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert sheet.title == "Thí sinh"
    assert_finished(sheet)
    assert not [header for header in headers(sheet) if MACHINE_KEY.match(str(header))], headers(sheet)
    assert column(sheet, "Ngày sinh") == [dt.datetime(1990, 4, 15)] * 2
    assert column(sheet, "Thời điểm đăng ký") == [dt.datetime(2026, 3, 2, 6, 0)] * 2
    assert column(sheet, "Cấp trước tài khoản") == ["Không", "Không"]
    assert column(sheet, "Đối tượng") == ["Cán bộ, công chức, viên chức"] * 2  # the group's name, not "cbccvc"
