"""Question banks: the demo bank, XLSX/CSV/YAML imports (all or nothing, row-numbered errors), duplicates, template."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from tests.contests.helpers import count_rows, now_utc, question_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO_BANK = ROOT / "app/contests/banks/cchc-demo.yaml"


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_demo_bank_has_at_least_sixty_valid_sourced_questions():
    from app.contests.imports import parse_questions

    rows = parse_questions(DEMO_BANK.name, DEMO_BANK.read_bytes())
    assert len(rows) >= 60
    assert {row.type for row in rows} == {"single", "multiple", "true_false"}
    assert all(row.source and row.explanation for row in rows)
    assert all(len(row.correct) == 1 for row in rows if row.type != "multiple")


def test_the_template_reads_back_as_three_valid_questions_one_of_each_type():
    from app.contests.imports import parse_questions, question_template

    rows = parse_questions("mau.xlsx", question_template())
    assert [(row.code, row.type, row.correct) for row in rows] == [("CH-001", "single", (2,)),
                                                                    ("CH-002", "true_false", (0,)),
                                                                    ("CH-003", "multiple", (0, 1, 2))]


def mistaken_bank() -> bytes:
    """Return an XLSX bank whose row 3 is wrong in every column and whose row 4 repeats row 2's code and text."""
    from app.contests.imports import QUESTION_COLUMNS

    blank = [None] * 8
    return xlsx([
        list(QUESTION_COLUMNS),
        ["A-1", "single", "chi_so", 2, "Câu đúng mẫu?", "Một", "Hai", *blank[2:], "B", "", ""],
        ["A 2", "choice", "Chỉ số", 5, "", "Một", None, "Ba", *blank[3:], "Z", "", ""],
        ["A-1", "multiple", "tthc", 1, "Câu  đúng mẫu", "X", "Y", "Z", *blank[3:], "A,C", "", ""],
    ])


def refused_questions(name: str, data: bytes) -> list[str]:
    """Return the problems of reading a question file that must be refused, as the organiser reads them."""
    from app.contests.imports import parse_questions
    from app.validation import Rejected

    with pytest.raises(Rejected) as error:
        parse_questions(name, data)
    return [str(problem) for problem in error.value.problems]


def test_an_xlsx_with_mistakes_lists_every_problem_by_row():
    assert refused_questions("bank.xlsx", mistaken_bank()) == [
        "Dòng 3, cột “code”: mã câu hỏi bắt buộc: chữ, số, “-”, “_”, “.”, tối đa 32 ký tự",
        "Dòng 3, cột “type”: loại câu phải là một trong: Một đáp án, Nhiều đáp án, Đúng/Sai",
        "Dòng 3, cột “topic”: chủ đề bắt buộc, chữ thường không dấu, số và “_” (vd. chi_so)",
        "Dòng 3, cột “difficulty”: mức độ phải là 1 (dễ), 2 (trung bình) hoặc 3 (khó)",
        "Dòng 3, cột “text”: nội dung câu hỏi bắt buộc",
        "Dòng 3, cột “option_a …”: các phương án phải điền liền nhau từ Phương án A, không bỏ trống ở giữa",
        "Dòng 3, cột “correct”: đáp án phải là chữ cái của phương án (vd. “B”, hoặc “A,C” với câu nhiều đáp án)",
        "Dòng 4, cột “code”: mã “A-1” trùng với dòng 2",
        "Dòng 4, cột “text”: nội dung trùng với dòng 2",
    ]


def test_a_csv_with_semicolons_and_vietnamese_headings_is_read():
    from app.contests.imports import parse_questions

    data = ("Mã câu;Loại;Chủ đề;Mức độ;Nội dung;Phương án A;Phương án B;Phương án C;Đáp án;Nguồn\n"
            "B-1;multiple;mot_cua;khó;Chọn các ý đúng?;Một;Hai;Ba;A, C;NĐ 61/2018/NĐ-CP\n").encode("utf-8-sig")
    [row] = parse_questions("bank.csv", data)
    assert (row.code, row.difficulty, row.correct, row.source) == ("B-1", 3, (0, 2), "NĐ 61/2018/NĐ-CP")


@pytest.mark.parametrize("name, data, message", [
    ("bank.pdf", b"%PDF", "Định dạng tệp không được hỗ trợ"),
    ("bank.csv", "code,type\n".encode("utf-16"), "UTF-8"),
    ("bank.xlsx", b"not a workbook", "Không đọc được tệp XLSX"),
    ("bank.csv", b"ma,loai,xyz\n", "tên cột không được hỗ trợ"),
    ("bank.yaml", b"questions: [\n", "lỗi cú pháp YAML"),
    ("bank.csv", b"x" * (5 * 1024 * 1024 + 1), "Tệp quá lớn"),
])
def test_unreadable_files_are_refused_with_a_clear_message(name, data, message):
    from app.contests.imports import parse_questions
    from app.validation import Rejected

    with pytest.raises(Rejected) as error:
        parse_questions(name, data)
    assert message in str(error.value)


def test_bank_problems_and_the_template_guide_are_in_the_organisers_language(app, bank, english):
    from app.auth.audit import COMMAND_LINE
    from app.contests import banks
    from app.contests.imports import parse_questions, question_template
    from app.extensions import db
    from app.validation import Rejected

    questions = question_rows(2)
    questions[1]["code"] = questions[0]["code"]
    repeated_code = yaml.safe_dump({"questions": questions}, allow_unicode=True).encode()
    in_bank = yaml.safe_dump({"questions": question_rows(1)}, allow_unicode=True).encode()

    def in_bank_problems() -> list[str]:
        with pytest.raises(Rejected) as error:
            banks.import_questions(bank, parse_questions("bank.yaml", in_bank), actor=COMMAND_LINE, now=now_utc())
        db.session.rollback()
        return [str(problem) for problem in error.value.problems]

    def guide() -> list[tuple[object, ...]]:
        return list(load_workbook(io.BytesIO(question_template())).worksheets[1].iter_rows(values_only=True))

    with app.test_request_context("/?lang=en"):
        problems = refused_questions("bank.xlsx", mistaken_bank())
        assert problems[1] == ("Row 3, column “type”: the question type must be one of: Một đáp án, Nhiều đáp án, "
                               "Đúng/Sai")
        assert problems[-2:] == ["Row 4, column “code”: code “A-1” duplicates row 2",
                                 "Row 4, column “text”: the text duplicates row 2"]
        assert refused_questions("bank.yaml", repeated_code) == [
            "Question 2, column “code”: code “Q001” duplicates question 1"]
        assert refused_questions("bank.pdf", b"%PDF") == ["Unsupported file format; use: .xlsx, .csv, .yaml."]
        assert refused_questions("bank.csv", b"x" * (5 * 1024 * 1024 + 1)) == [
            "The file is too large (at most 5 MB)."]
        assert in_bank_problems() == ["Question 1: code “Q001” already exists in bank bank-a",
                                      "Question 1: text duplicates a question already in bank bank-a"]
        assert guide()[:2] == [("Column", "Required", "Meaning"),
                               ("Mã câu", "Yes", "Question code, unique within the bank (letters, digits, “-”, “_”, "
                                                 "“.”; at most 32 characters).")]
    with app.test_request_context("/?lang=vi"):
        assert refused_questions("bank.yaml", repeated_code) == ["Câu 2, cột “code”: mã “Q001” trùng với câu 1"]
        assert refused_questions("bank.pdf", b"%PDF") == ["Định dạng tệp không được hỗ trợ; dùng: .xlsx, .csv, .yaml."]
        assert in_bank_problems()[0] == "Câu 1: mã “Q001” đã có trong ngân hàng bank-a"
        assert guide()[0] == ("Cột", "Bắt buộc", "Ý nghĩa")


def test_questions_import_command_is_all_or_nothing_and_detects_duplicates_in_the_bank(app, runner, tmp_path):
    from app.contests.models import Question, QuestionBank

    first = runner.invoke(args=["questions", "import", str(DEMO_BANK), "--bank", "cchc-demo", "--title", "Demo"])
    assert first.exit_code == 0, first.output
    total = count_rows(app, Question)
    assert "Đã nhập" in first.output and total >= 60
    again = tmp_path / "again.csv"
    again.write_text("code,type,topic,difficulty,text,option_a,option_b,correct\n"
                     "MOI-1,true_false,chi_so,1,Câu hoàn toàn mới?,Đúng,Sai,A\n"
                     "CCHC-001,single,chi_so,1,Câu khác hẳn?,X,Y,A\n"
                     "MOI-2,single,chi_so,1,\"SIPAS là tên viết tắt của chỉ số nào\",X,Y,A\n", encoding="utf-8")
    refused = runner.invoke(args=["questions", "import", str(again), "--bank", "cchc-demo"])
    assert refused.exit_code == 1
    assert "Dòng 3: mã “CCHC-001” đã có trong ngân hàng cchc-demo" in refused.output
    assert "Dòng 4: nội dung trùng với một câu đã có trong ngân hàng cchc-demo" in refused.output
    assert count_rows(app, Question) == total and count_rows(app, QuestionBank) == 1


def test_questions_template_command_writes_the_xlsx(runner, tmp_path):
    out = tmp_path / "mau.xlsx"
    result = runner.invoke(args=["questions", "template", "--out", str(out)])
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"
