"""Read question banks (XLSX, CSV, YAML) and participant lists (XLSX, CSV) into checked rows; templates to fill.

Reading is all-or-nothing: every problem of a file is collected with its row number (the spreadsheet row, the header
being row 1; for YAML the question's position) and reported at once in the organiser's language (each message is
a lazy Flask-Babel string, rendered by ``str()`` where it is shown). Tables are read by ``app.uploads`` (type, size,
content and row checks) and YAML by ``app.validation.read_yaml``. Nothing here touches the database: the services
check rows against what is stored (duplicates, units) and write them in one transaction.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from app.config import Config
from app.contests.grading import MAX_OPTIONS, MIN_OPTIONS, QUESTION_TYPES
from app.exports import Sheet, write_xlsx
from app.uploads import TABLE_FORMATS, UploadLimits, check_size, extension, read_table
from app.validation import Place, Problem, Rejected, place_name, read_yaml

#: The limits of the configuration's defaults (``CONTEST_IMPORT_*``), for callers that do not pass their own.
DEFAULT_LIMITS = UploadLimits(Config.CONTEST_IMPORT_MAX_BYTES, Config.CONTEST_IMPORT_MAX_ROWS,
                              Config.UPLOAD_MAX_INFLATED)
OPTION_LETTERS = "ABCDEFGH"[:MAX_OPTIONS]

#: The headings of the templates people fill: the file format's words, Vietnamese in every language (as the
#: documents are). The importer takes them, the format's column names (their keys: "code", "type", …) and the other
#: Vietnamese aliases below.
QUESTION_HEADINGS = {
    "code": "Mã câu", "type": "Loại câu", "topic": "Chủ đề", "difficulty": "Mức độ", "text": "Nội dung câu hỏi",
    **{f"option_{letter.lower()}": f"Phương án {letter}" for letter in OPTION_LETTERS},
    "correct": "Đáp án đúng", "explanation": "Giải thích", "source": "Nguồn",
}
PARTICIPANT_HEADINGS = {"phone": "Số điện thoại", "full_name": "Họ và tên", "birth_date": "Ngày sinh",
                        "unit": "Mã đơn vị", "group": "Đối tượng", "cccd": "Số CCCD"}
#: The question types in the template's words (its drop-down list), and as the organiser reads them in a report.
QUESTION_TYPE_WORDS = {"single": "Một đáp án", "multiple": "Nhiều đáp án", "true_false": "Đúng/Sai"}
QUESTION_TYPE_NAMES = {"single": _l("Một đáp án"), "multiple": _l("Nhiều đáp án"), "true_false": _l("Đúng/Sai")}
DIFFICULTY_WORDS = ("Dễ", "Trung bình", "Khó")
QUESTION_COLUMNS = tuple(QUESTION_HEADINGS)
PARTICIPANT_COLUMNS = tuple(PARTICIPANT_HEADINGS)

#: Vietnamese headings accepted for the same columns (compared without diacritics, case or spaces).
_ALIASES = {
    "ma": "code", "ma cau": "code", "ma cau hoi": "code", "loai": "type", "loai cau hoi": "type",
    "chu de": "topic", "muc do": "difficulty", "noi dung": "text", "cau hoi": "text",
    "dap an": "correct", "giai thich": "explanation", "nguon": "source",
    "so dien thoai": "phone", "dien thoai": "phone", "ho ten": "full_name", "ho va ten": "full_name",
    "ngay sinh": "birth_date", "don vi": "unit", "ma don vi": "unit", "doi tuong": "group", "cccd": "cccd",
    "so cccd": "cccd", **{f"phuong an {letter.lower()}": f"option_{letter.lower()}" for letter in OPTION_LETTERS},
}
_DIFFICULTY_WORDS = {"de": 1, "trung binh": 2, "kho": 3}
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_TOPIC = re.compile(r"[a-z][a-z0-9_]{0,63}")
TRUE_FALSE_OPTIONS = ("Đúng", "Sai")


@dataclass(frozen=True)
class QuestionRow:
    """A checked question from a file."""

    row: int
    code: str
    type: str
    topic: str
    difficulty: int
    text: str
    options: tuple[str, ...]
    correct: tuple[int, ...]
    explanation: str
    source: str
    place: Place = "row"

    @property
    def text_key(self) -> str:
        """Return the duplicate-detection key of the question text."""
        return text_key(self.text)

    @property
    def place_name(self) -> LazyString:
        """Name the question's place in its file ("Dòng 3", "Câu 3"), translated when shown."""
        return place_name(self.place, self.row)


@dataclass(frozen=True)
class ParticipantRow:
    """A row of a pre-issue list, checked for form only (the service checks units, groups and phones)."""

    row: int
    phone: str
    full_name: str
    birth_date: dt.date | None
    unit: str
    group: str
    cccd: str


def text_key(text: str) -> str:
    """Return sha1 of the text lowercased, without punctuation and with single spaces (same question = same key)."""
    folded = unicodedata.normalize("NFC", text).casefold()
    words = re.findall(r"\w+", folded)
    return hashlib.sha1(" ".join(words).encode("utf-8"), usedforsecurity=False).hexdigest()  # a duplicate key


def plain(text: str) -> str:
    """Return text without diacritics, lowercased, single-spaced (for matching headings and words)."""
    decomposed = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().replace("_", " ").split())


def parse_questions(filename: str, data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> list[QuestionRow]:
    """Return the checked questions of an XLSX, CSV or YAML file; raise Rejected listing every problem."""
    kind = extension(filename)
    place: Place
    written: dict[str, str] = {}
    if kind in ("yaml", "yml"):
        records, place = _yaml_questions(data, limits), "question"
    elif kind in TABLE_FORMATS:
        records, written = _table(filename, data, QUESTION_HEADINGS, ("code", "type", "text", "correct"), limits)
        place = "row"
    else:
        raise Rejected([Problem(_l("Định dạng tệp không được hỗ trợ; dùng: %(formats)s.",
                                   formats=".xlsx, .csv, .yaml"))])
    problems: list[Problem] = []
    rows = [row for row in (_question(number, record, problems, place) for number, record in records)
            if row is not None]
    _check_unique(records, problems, place)
    if not records and not problems:
        problems.append(Problem(_l("Tệp không có câu hỏi nào.")))
    if problems:
        raise Rejected(_named_as_written(problems, written))
    return rows


def parse_participants(filename: str, data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> list[ParticipantRow]:
    """Return the rows of a participant list (XLSX or CSV); raise Rejected listing every problem."""
    records, written = _table(filename, data, PARTICIPANT_HEADINGS, ("phone", "full_name", "unit"), limits)
    problems: list[Problem] = []
    rows = []
    for number, record in records:
        birth = None
        raw_birth = record.get("birth_date")
        if raw_birth not in (None, ""):
            birth = parse_birth_date(raw_birth)
            if birth is None:
                problems.append(Problem(_l("ngày sinh phải có dạng 31/12/1990 hoặc 1990-12-31"), row=number,
                                        column="birth_date"))
        rows.append(ParticipantRow(
            row=number,
            phone=_cell_text(record.get("phone")),
            full_name=_cell_text(record.get("full_name")),
            birth_date=birth,
            unit=_cell_text(record.get("unit")),
            group=_cell_text(record.get("group")),
            cccd=_cell_text(record.get("cccd")),
        ))
    if not records:
        problems.append(Problem(_l("Tệp không có dòng dữ liệu nào.")))
    if problems:
        raise Rejected(_named_as_written(problems, written))
    return rows


def parse_birth_date(value: object) -> dt.date | None:
    """Return a birth date from a cell: a date, "31/12/1990", "31-12-1990" or "1990-12-31"; None when unreadable."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for pattern, order in ((r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", "dmy"), (r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd")):
        match = re.fullmatch(pattern, text)
        if match:
            first, second, third = (int(part) for part in match.groups())
            day, month, year = (first, second, third) if order == "dmy" else (third, second, first)
            try:
                return dt.date(year, month, day)
            except ValueError:
                return None
    return None


#: The guide sheet of the question template: each column's heading, whether it must be filled, and what it holds
#: (translated when the template is built, so the organiser reads it in their language).
_QUESTION_COLUMN_HELP = (
    ("code", True, _l("Mã câu hỏi, duy nhất trong ngân hàng (chữ, số, “-”, “_”, “.”; tối đa 32 ký tự).")),
    ("type", True, _l("Chọn trong danh sách: Một đáp án, Nhiều đáp án hoặc Đúng/Sai.")),
    ("topic", True, _l("Chủ đề, chữ thường không dấu (vd. the_che, tthc, bo_may, cong_vu, tai_chinh_cong, "
                       "chinh_phu_so, chi_so, mot_cua).")),
    ("difficulty", True, _l("Chọn trong danh sách: Dễ, Trung bình hoặc Khó (cũng nhận 1, 2, 3).")),
    ("text", True, _l("Nội dung câu hỏi.")),
    ("option_a", True, _l("Các phương án (%(low)d–%(high)d), điền liền nhau từ Phương án A; câu Đúng/Sai có thể để "
                          "trống.", low=MIN_OPTIONS, high=MAX_OPTIONS)),
    ("correct", True, _l("Đáp án đúng theo chữ cái: “B”; nhiều đáp án: “A,C”.")),
    ("explanation", False, _l("Giải thích (hiển thị khi được xem đáp án).")),
    ("source", False, _l("Văn bản nguồn (số, ngày, điều khoản).")),
)
#: Rows of a template that get its drop-down lists (as many as one import takes).
_TEMPLATE_ROWS = DEFAULT_LIMITS.max_rows


def _choice_list(column: int, words: Iterable[str], message: LazyString) -> DataValidation:
    """Return a drop-down list of ``words`` on a template column (0-based) that refuses any other value."""
    letter = get_column_letter(column + 1)
    validation = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                                showErrorMessage=True, error=str(message))
    validation.add(f"{letter}2:{letter}{_TEMPLATE_ROWS + 1}")
    return validation


def question_template() -> bytes:
    """Return the XLSX template of a question bank: headings in words, three example rows (one per type), drop-down
    lists for the type and difficulty, and a guide sheet explaining each column."""
    columns = list(QUESTION_COLUMNS)
    examples = [
        ["CH-001", "single", "chi_so", 1, "SIPAS là tên viết tắt của chỉ số nào?",
         "Chỉ số cải cách hành chính", "Chỉ số năng lực cạnh tranh cấp tỉnh",
         "Chỉ số hài lòng về sự phục vụ hành chính", "Chỉ số chuyển đổi số", None, None, None, None, "C",
         "SIPAS là Chỉ số hài lòng về sự phục vụ hành chính.", "QĐ 1001/QĐ-BNV ngày 11/12/2023"],
        ["CH-002", "true_false", "mot_cua", 1,
         "Bộ phận Một cửa tiếp nhận hồ sơ và trả kết quả giải quyết thủ tục hành chính.",
         "Đúng", "Sai", None, None, None, None, None, None, "A", "", "Nghị định 61/2018/NĐ-CP"],
        ["CH-003", "multiple", "mot_cua", 2, "Người dân có thể nộp hồ sơ thủ tục hành chính qua những cách nào?",
         "Trực tiếp tại Bộ phận Một cửa", "Qua dịch vụ bưu chính công ích", "Trực tuyến trên Cổng Dịch vụ công",
         "Chỉ qua điện thoại", None, None, None, None, "A,B,C",
         "Hồ sơ được nộp trực tiếp, qua bưu chính công ích hoặc trực tuyến.", "Nghị định 61/2018/NĐ-CP"],
    ]
    for row in examples:
        row[1] = QUESTION_TYPE_WORDS[row[1]]
        row[3] = DIFFICULTY_WORDS[row[3] - 1]
    questions = Sheet(str(_l("Câu hỏi")), list(QUESTION_HEADINGS.values()), examples, validations=[
        _choice_list(columns.index("type"), QUESTION_TYPE_WORDS.values(),
                     _l("Chọn Một đáp án, Nhiều đáp án hoặc Đúng/Sai.")),
        _choice_list(columns.index("difficulty"), DIFFICULTY_WORDS, _l("Chọn Dễ, Trung bình hoặc Khó.")),
    ])
    last_option = QUESTION_HEADINGS[f"option_{OPTION_LETTERS[-1].lower()}"]
    guide = [[f"{QUESTION_HEADINGS[name]} … {last_option}" if name == "option_a" else QUESTION_HEADINGS[name],
              str(_l("Có") if required else _l("Không")), str(meaning)]
             for name, required, meaning in _QUESTION_COLUMN_HELP]
    buffer = io.BytesIO()
    write_xlsx([questions, Sheet(str(_l("Hướng dẫn")), [str(_l("Cột")), str(_l("Bắt buộc")), str(_l("Ý nghĩa"))],
                                 guide)], buffer)
    return buffer.getvalue()


def participant_template() -> bytes:
    """Return the XLSX template of a list of accounts to pre-issue (headings in words, an example row)."""
    buffer = io.BytesIO()
    write_xlsx([(str(_l("Thí sinh")), list(PARTICIPANT_HEADINGS.values()),
                 [["0912345678", "Nguyễn Văn An", dt.date(1990, 4, 15), "AK-SNV", "cbccvc", ""]])], buffer)
    return buffer.getvalue()


# --- reading tables ----------------------------------------------------------------------------------------------


def _table(filename: str, data: bytes, headings: dict[str, str], required: tuple[str, ...], limits: UploadLimits
           ) -> tuple[list[tuple[int, dict[str, object]]], dict[str, str]]:
    """Return (row number, {column: cell}) for the non-empty rows of an XLSX or CSV file, and each column's heading
    as the file writes it (problems name the column the organiser sees).

    Headings are the template's words (``headings``), the format's column names or their Vietnamese aliases; any
    other heading is a problem.
    """
    table = read_table(filename, data, limits)
    columns = tuple(headings)
    known = {plain(heading): name for name, heading in headings.items()}
    names = []
    problems = []
    for heading in table.header:
        key = plain(heading or "")
        name = known.get(key) or (key.replace(" ", "_") if key.replace(" ", "_") in columns else _ALIASES.get(key))
        if heading not in (None, "") and name is None:
            problems.append(Problem(_l("tên cột không được hỗ trợ; dùng: %(columns)s",
                                       columns=", ".join(headings.values())), row=1, column=str(heading)))
        if name is not None and name in names:
            problems.append(Problem(_l("cột bị lặp lại"), row=1, column=str(heading)))
        names.append(name)
    missing = [headings[column] for column in required if column not in names]
    if missing:
        problems.append(Problem(_l("thiếu cột: %(columns)s", columns=", ".join(missing)), row=1))
    if problems:
        raise Rejected(problems)
    written = {name: str(heading).strip() for name, heading in zip(names, table.header) if name is not None}
    return [(number, {name: value for name, value in zip(names, cells) if name is not None})
            for number, cells in table.rows], written


def _named_as_written(problems: list[Problem], written: dict[str, str]) -> list[Problem]:
    """Name each problem's column with the file's own heading ("Loại câu"), not the format's key ("type")."""
    if "option_a" in written:
        written = {**written, "options": f"{written['option_a']} …"}
    return [dataclasses.replace(problem, column=written.get(problem.column, problem.column)) for problem in problems]


def _yaml_questions(data: bytes, limits: UploadLimits) -> list[tuple[int, dict[str, object]]]:
    check_size(data, limits)
    loaded = read_yaml(data)
    questions = loaded.get("questions") if isinstance(loaded, dict) else loaded
    if not isinstance(questions, list):
        raise Rejected([Problem(_l("Tệp YAML phải có danh sách “questions”."))])
    if len(questions) > limits.max_rows:
        raise Rejected([Problem(_l("Tệp có quá %(n)d câu hỏi; hãy chia nhỏ.", n=limits.max_rows))])
    records = []
    for number, item in enumerate(questions, start=1):
        if not isinstance(item, dict):
            item = {"_invalid": True}
        records.append((number, item))
    return records


# --- checking rows ---------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _question(number: int, record: dict[str, object], problems: list[Problem], place: Place
              ) -> QuestionRow | None:
    """Check one question record (table row or YAML mapping); record its problems and return it if clean."""
    start = len(problems)

    def fail(column: str | None, message: LazyString) -> None:
        problems.append(Problem(message, row=number, column=column, place=place))

    if record.get("_invalid"):
        fail(None, _l("mỗi câu hỏi phải là một bảng khoá: giá trị"))
        return None
    code = _cell_text(record.get("code"))
    if not _CODE.fullmatch(code):
        fail("code", _l("mã câu hỏi bắt buộc: chữ, số, “-”, “_”, “.”, tối đa 32 ký tự"))
    kind = question_type(record.get("type"))
    if kind not in QUESTION_TYPES:
        fail("type", _l("loại câu phải là một trong: %(types)s", types=", ".join(QUESTION_TYPE_WORDS.values())))
    topic = _cell_text(record.get("topic")).lower()
    if not _TOPIC.fullmatch(topic):
        fail("topic", _l("chủ đề bắt buộc, chữ thường không dấu, số và “_” (vd. chi_so)"))
    difficulty = _difficulty(record.get("difficulty"))
    if difficulty is None:
        fail("difficulty", _l("mức độ phải là 1 (dễ), 2 (trung bình) hoặc 3 (khó)"))
    text = _cell_text(record.get("text"))
    if not text:
        fail("text", _l("nội dung câu hỏi bắt buộc"))
    elif len(text) > 2000:
        fail("text", _l("nội dung dài quá %(n)d ký tự", n=2000))
    options, gap = _options(record)
    if kind == "true_false" and not options:
        options = list(TRUE_FALSE_OPTIONS)
    if gap:
        fail("options", _l("các phương án phải điền liền nhau từ Phương án A, không bỏ trống ở giữa"))
    elif not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        fail("options", _l("cần từ %(low)d đến %(high)d phương án (các cột Phương án A … liền nhau)",
                           low=MIN_OPTIONS, high=MAX_OPTIONS))
    elif kind == "true_false" and len(options) != 2:
        fail("options", _l("câu Đúng/Sai có đúng 2 phương án"))
    if any(len(option) > 500 for option in options):
        fail("options", _l("mỗi phương án tối đa %(n)d ký tự", n=500))
    if len({plain(option) for option in options}) != len(options):
        fail("options", _l("có hai phương án trùng nhau"))
    correct = _correct(record.get("correct"), options, kind)
    if correct is None:
        fail("correct", _l("đáp án phải là chữ cái của phương án (vd. “B”, hoặc “A,C” với câu nhiều đáp án)"))
    elif kind in ("single", "true_false") and len(correct) != 1:
        fail("correct", _l("câu một đáp án (và câu Đúng/Sai) phải có đúng một đáp án"))
    explanation = _cell_text(record.get("explanation"))
    source = _cell_text(record.get("source"))
    if len(explanation) > 5000:
        fail("explanation", _l("giải thích dài quá %(n)d ký tự", n=5000))
    if len(source) > 500:
        fail("source", _l("nguồn dài quá %(n)d ký tự", n=500))
    if len(problems) > start:
        return None
    return QuestionRow(number, code, kind, topic, difficulty, text, tuple(options), tuple(correct), explanation,
                       source, place)


def question_type(value: object) -> str:
    """Return the type code of a cell: the code itself ("true_false") or its words ("Đúng/Sai", "nhieu dap an")."""
    key = plain(_cell_text(value))
    words = {plain(word): code for code, word in QUESTION_TYPE_WORDS.items()}
    return words.get(key, key.replace(" ", "_"))


def _difficulty(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value) in (1.0, 2.0, 3.0):
        return int(value)
    text = plain(_cell_text(value))
    if text in ("1", "2", "3"):
        return int(text)
    return _DIFFICULTY_WORDS.get(text)


def _options(record: dict[str, object]) -> tuple[list[str], bool]:
    """Return the option texts and whether an empty option sits between filled ones."""
    listed = record.get("options")
    if isinstance(listed, list):
        values = [_cell_text(option) for option in listed]
        return values, not all(values)
    values = [_cell_text(record.get(f"option_{letter.lower()}")) for letter in OPTION_LETTERS]
    while values and not values[-1]:
        values.pop()
    return values, not all(values)


def _correct(value: object, options: list[str], kind: str) -> tuple[int, ...] | None:
    """Return the correct option indices from letters ("A,C"), YAML indices ([0, 2]) or "Đúng"/"Sai"."""
    if isinstance(value, list):
        if not value or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(options)
                                for i in value):
            return None
        return tuple(sorted(set(value)))
    text = _cell_text(value)
    if kind == "true_false" and plain(text) in ("dung", "sai"):
        return (0,) if plain(text) == "dung" else (1,)
    letters = [part.strip().upper() for part in re.split(r"[,;\s]+", text) if part.strip()]
    if not letters or any(len(letter) != 1 or letter not in OPTION_LETTERS[: len(options)] for letter in letters):
        return None
    return tuple(sorted({OPTION_LETTERS.index(letter) for letter in letters}))


def _check_unique(records: list[tuple[int, dict[str, object]]], problems: list[Problem], place: Place) -> None:
    """Record codes and texts that appear twice in the file."""
    codes: dict[str, int] = {}
    texts: dict[str, int] = {}
    for number, record in records:
        code, text = _cell_text(record.get("code")), _cell_text(record.get("text"))
        if code and code in codes:
            first = codes[code]
            message = (_l("mã “%(code)s” trùng với câu %(first)d", code=code, first=first) if place == "question"
                       else _l("mã “%(code)s” trùng với dòng %(first)d", code=code, first=first))
            problems.append(Problem(message, row=number, column="code", place=place))
        codes.setdefault(code, number)
        key = text_key(text)
        if text and key in texts:
            first = texts[key]
            message = (_l("nội dung trùng với câu %(first)d", first=first) if place == "question"
                       else _l("nội dung trùng với dòng %(first)d", first=first))
            problems.append(Problem(message, row=number, column="text", place=place))
        texts.setdefault(key, number)
