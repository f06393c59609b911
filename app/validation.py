"""Checking what people hand in (definition files, uploaded tables, forms): one problem type, one error type, and the
reading of YAML definitions.

A ``Problem`` says what is wrong and where: a path in a document (``sections[2].items[1].scale``), or a row (and
column) of a table, of a file. Its message is a lazy Flask-Babel string, worded in the reader's language when
shown (Vietnamese on the command line). ``Rejected`` refuses an input as a whole, listing every problem at once;
nothing is written. Imports nothing from the app but its domain errors.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import yaml
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.errors import AppError

#: What a message may be: plain text, or a lazy translation rendered by ``str()`` where it is shown.
Message = str | LazyString
#: What a row number counts: a spreadsheet row (the header is row 1) or an entry's position in a YAML list.
Place = Literal["row", "question"]
#: Definition files larger than this are refused before they are parsed.
MAX_YAML_BYTES = 1_000_000


def place_name(place: Place, number: int) -> LazyString:
    """Name a place in a file ("Dòng 3" of a table, "Câu 3" of a YAML list), translated when shown."""
    return _l("Câu %(n)d", n=number) if place == "question" else _l("Dòng %(n)d", n=number)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is; ``str()`` gives "where: message" in the current language."""

    message: Message
    #: A key path in a document (``rounds[0].bank``); a key of the format, never translated.
    path: str = ""
    #: A row of a table (the header is row 1), or a position in a YAML list (see ``place``).
    row: int | None = None
    #: A column name of the table's format (``birth_date``), never translated.
    column: str | None = None
    file: str = ""
    place: Place = "row"

    def where(self) -> str:
        """Return the location as the reader reads it: "file: path" or "Dòng 3, cột “code”" (empty when none)."""
        cell = []
        if self.row is not None:
            cell.append(str(place_name(self.place, self.row)))
        if self.column:
            cell.append(str(_l("cột “%(column)s”", column=self.column)))
        return ": ".join(part for part in (self.file, self.path, ", ".join(cell)) if part)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else str(self.message)


class Rejected(AppError, ValueError):
    """An input refused as a whole (nothing was written); ``problems`` lists every reason.

    ``message`` sums the refusal up for a page's heading; without one, the problems themselves are the message.
    The JSON form of the error carries the problems as text, or ``details`` when a form keys them by field.
    """

    def __init__(self, problems: Iterable[Problem], message: Message | None = None, *, status: int | None = None,
                 details: dict | None = None) -> None:
        self.problems = tuple(problems)
        summary = message if message is not None else LazyString(self._listing)
        super().__init__(summary, status=status,
                         details=details if details is not None else {"problems": [str(p) for p in self.problems]})

    def _listing(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)

    def __str__(self) -> str:
        return str(self.message)

    @classmethod
    def fields(cls, errors: dict[str, Message], message: Message, *, key: str) -> Rejected:
        """Refuse a form: ``errors`` maps a field to its message; the JSON form keys them by field under ``key``."""
        return cls([Problem(text, path=name) for name, text in errors.items()], message,
                   details={key: {name: str(text) for name, text in errors.items()}})

    def by_field(self) -> dict[str, Message]:
        """Return the problems of a refused form as {field: message}, for the form to show beside each field."""
        return {problem.path: problem.message for problem in self.problems}


# --- YAML definition files -------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that reports duplicated mapping keys (PyYAML silently keeps the last one)."""

    def __init__(self, stream: str, problems: list[Problem], source: str) -> None:
        super().__init__(stream)
        self.problems = problems
        self.source = source

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    self.problems.append(Problem(
                        _l("dòng %(line)d: khoá “%(key)s” bị lặp lại trong cùng một bảng",
                           line=key_node.start_mark.line + 1, key=key_node.value), file=self.source))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def read_yaml(data: bytes, source: str = "") -> object:
    """Return the data of a YAML definition (UTF-8, at most MAX_YAML_BYTES, no duplicated keys).

    :raise Rejected: the file is too large, not UTF-8, not valid YAML, or repeats a key (with the line).
    """
    def refuse(message: Message) -> Rejected:
        return Rejected([Problem(message, file=source)])

    if len(data) > MAX_YAML_BYTES:
        raise refuse(_l("tệp quá lớn (tối đa %(n)d byte)", n=MAX_YAML_BYTES))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise refuse(_l("dòng %(line)d: tệp không phải văn bản UTF-8 hợp lệ (byte 0x%(byte)02X)",
                        line=data[: error.start].count(b"\n") + 1, byte=data[error.start])) from None
    problems: list[Problem] = []
    loader = _StrictLoader(text, problems, source)
    try:
        loaded = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # PyYAML describes the fault in English only; it is quoted as it is.
        detail = error.problem or error.context
        if mark is None:
            raise refuse(_l("lỗi cú pháp YAML (%(detail)s)", detail=detail)) from None
        raise refuse(_l("dòng %(line)d, cột %(column)d: lỗi cú pháp YAML (%(detail)s)", line=mark.line + 1,
                        column=mark.column + 1, detail=detail)) from None
    except yaml.YAMLError as error:
        raise refuse(_l("lỗi cú pháp YAML (%(detail)s)", detail=error)) from None
    finally:
        loader.dispose()
    if problems:
        raise Rejected(problems)
    return loaded


def read_yaml_file(path: str) -> object:
    """Return the data of a YAML definition file; a missing or unreadable file is a problem like any other."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise Rejected([Problem(_l("không tìm thấy tệp"), file=path)]) from None
    except OSError as error:
        raise Rejected([Problem(_l("không đọc được tệp (%(reason)s)", reason=error.strerror), file=path)]) from None
    return read_yaml(data, path)
