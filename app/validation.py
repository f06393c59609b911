"""Checking what people hand in (definition files, uploaded tables, forms): one problem type, one error type, and the
reading of YAML definitions.

A ``Problem`` says what is wrong and where: a path in a document (``sections[2].items[1].scale``), or a row (and
column) of a table, of a file. Its message is a lazy Flask-Babel string, worded in the reader's language when
shown (Vietnamese on the command line). ``Rejected`` refuses an input as a whole, listing every problem at once;
nothing is written. Imports nothing from the app but its domain errors.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Literal, NamedTuple, NoReturn, Union, get_args, get_origin

import yaml
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.errors import AppError

#: What a message may be: plain text, or a lazy translation rendered by ``str()`` where it is shown.
Message = str | LazyString
#: What a row number counts: a spreadsheet row (the header is row 1) or an entry's position in a YAML list.
Place = Literal["row", "question"]
#: Definition files larger than this are refused before they are parsed.
MAX_YAML_BYTES = 1_000_000
#: How deeply a definition may nest lists and tables (real ones: under 10).
MAX_YAML_DEPTH = 64
#: Nodes (scalars, lists, tables) a definition may have once its aliases are expanded: aliases are allowed (the
#: SIPAS instruments share help texts that way), but a few bytes of nested aliases must not grow into gigabytes.
MAX_YAML_NODES = 200_000
#: Characters of scalar text a definition may have once its aliases are expanded.
MAX_YAML_CHARS = 4 * MAX_YAML_BYTES
#: Characters of a value quoted back in a message; longer values are cut with "…".
MAX_QUOTED = 80


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
        self.problems = list(problems)
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

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooLarge(_l("dòng %(line)d: lồng nhau quá sâu (tối đa %(n)d cấp)", line=mark.line + 1,
                                   n=MAX_YAML_DEPTH))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

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


class _TooLarge(Exception):
    """A definition that nests too deeply or expands too far; carries the message for the reader."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def _check_expansion(root: yaml.Node | None) -> None:
    """Refuse a node graph whose expansion (every alias replaced by what it names) is too large or cyclic.

    Each distinct node is measured once (aliases share their node), so this costs the size of the file, not of
    the expansion.
    """
    sizes: dict[int, tuple[int, int]] = {}
    visiting: set[int] = set()
    too_large = _l("định nghĩa quá lớn khi mở rộng các tham chiếu (alias); tối đa %(n)d phần tử", n=MAX_YAML_NODES)

    def measure(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise _TooLarge(_l("định nghĩa có tham chiếu (alias) vòng tròn"))
        if isinstance(node, yaml.ScalarNode):
            size = (1, len(node.value))
        else:
            visiting.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            nodes, chars = 1, 0
            for child in children:
                child_nodes, child_chars = measure(child)
                nodes, chars = nodes + child_nodes, chars + child_chars
                if nodes > MAX_YAML_NODES or chars > MAX_YAML_CHARS:
                    raise _TooLarge(too_large)
            visiting.discard(key)
            size = (nodes, chars)
        sizes[key] = size
        return size

    if root is not None:
        measure(root)


def read_yaml(data: bytes, source: str = "") -> object:
    """Return the data of a YAML definition (UTF-8, at most MAX_YAML_BYTES, no duplicated keys, nested at most
    MAX_YAML_DEPTH deep, at most MAX_YAML_NODES nodes and MAX_YAML_CHARS characters once aliases are expanded).

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
    loader = None
    try:
        loader = _StrictLoader(text, problems, source)  # its reader refuses control characters at once
        root = loader.get_single_node()
        _check_expansion(root)
        loaded = loader.construct_document(root) if root is not None else None
    except _TooLarge as error:
        raise refuse(error.message) from None
    except RecursionError:
        raise refuse(_l("lồng nhau quá sâu (tối đa %(n)d cấp)", n=MAX_YAML_DEPTH)) from None
    except ValueError:  # a number with more digits than Python converts (sys.get_int_max_str_digits)
        raise refuse(_l("có một số quá lớn")) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # PyYAML describes the fault in English only; it is quoted as it is.
        detail = error.problem or error.context
        if mark is None:
            raise refuse(_l("lỗi cú pháp YAML (%(detail)s)", detail=detail)) from None
        raise refuse(_l("dòng %(line)d, cột %(column)d: lỗi cú pháp YAML (%(detail)s)", line=mark.line + 1,
                        column=mark.column + 1, detail=detail)) from None
    except yaml.reader.ReaderError as error:
        raise refuse(_l("ký tự không được phép trong YAML (mã #x%(code)04X, vị trí %(position)d)",
                        code=error.character if isinstance(error.character, int) else 0,
                        position=error.position)) from None
    except yaml.YAMLError as error:
        raise refuse(_l("lỗi cú pháp YAML (%(detail)s)", detail=quoted(str(error)))) from None
    finally:
        if loader is not None:
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


# --- checking a document's shape with pydantic ---------------------------------------------------------------------
#
# A definition (an instrument, a contest) is described by pydantic models with strict types; their own validators
# raise ``refuse(kind, ...)``. pydantic reports every shape problem at once (missing and unknown keys, types, ranges,
# patterns) with its location; ``shape_problems`` words each one with the checker's own messages, keyed by the error
# type, and orders them as the document's schema reads: unknown keys first, then missing ones, then the fields in the
# order the model declares them. A rule between two keys of one part can be the later key's validator, reading the
# earlier value (``ValidationInfo.data``); rules that span the whole document are the checker's own plain functions.

#: A location in a document: keys and list positions, as pydantic reports them.
Location = tuple[str | int, ...]
#: Words one pydantic error (its dict: type, loc, input, ctx) in the reader's language.
Wording = Callable[[dict], Message]


#: The error type of a refusal that carries its own message.
_STATED = "stated"


def refuse(kind: str, **context: object) -> NoReturn:
    """Refuse a value in a model's validator; ``kind`` names the checker's message, ``context`` fills it in."""
    raise PydanticCustomError(kind, kind, context)


def refuse_with(message: Message) -> NoReturn:
    """Refuse a value in a model's validator with its message written there (a rule of one field, worded beside
    the rule rather than in a table)."""
    raise PydanticCustomError(_STATED, _STATED, {"message": message})


def ascii_digits(text: str) -> str:
    """Return a text with every decimal digit of any script (Arabic-Indic ٠١٢, full-width ０１２, …) written as the
    ASCII digit of the same value, so that "０９１２…" and "0912…" are one phone number, not two."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def quoted(value: object) -> str:
    """Return a value as a message may quote it: at most MAX_QUOTED characters (cut with "…"), never failing (a
    number with more digits than Python prints is named by its length)."""
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits
        return f"…({value.bit_length()} bit)" if isinstance(value, int) else "…"
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED - 1] + "…"


def describe(value: object) -> Message:
    """Name a value in a message: “abc” for a string, otherwise its kind (for "…, không phải …")."""
    if isinstance(value, str):
        return f"“{quoted(value)}”"
    if value is None:
        return _l("giá trị rỗng")
    if isinstance(value, bool):
        return _l("giá trị đúng/sai")
    if isinstance(value, (int, float)):
        return _l("số %(value)s", value=quoted(value))
    if isinstance(value, list):
        return _l("một danh sách")
    if isinstance(value, dict):
        return _l("một bảng khoá–giá trị")
    return type(value).__name__


def path_text(location: Location) -> str:
    """Write a location the way problems show it: ``sections[2].items[1].scale``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def location_of(error: dict) -> Location:
    """Return where a pydantic error points: a dict key's own problem points at the key's entry."""
    location = tuple(error["loc"])
    return location[:-1] if location and location[-1] == "[key]" else location


class Located(NamedTuple):
    """A problem found in a document, before it is ordered and worded for the reader."""

    location: Location
    message: Message
    #: The pydantic error type, or "rule" for a rule across the document's parts.
    kind: str = "rule"


def shape_problems(model: type[BaseModel], data: object, wording: Mapping[str, Wording], fallback: Wording,
                   context: dict | None = None) -> tuple[BaseModel | None, list[Located]]:
    """Validate ``data`` against ``model``; return the instance (None when refused) and the located problems.

    ``context`` is what the validators may read besides the document (``ValidationInfo.context``), e.g. a zone.
    """
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as error:
        found = error.errors(include_url=False)
    return None, [Located(location_of(item), _wording(item, wording, fallback), item["type"]) for item in found]


def _wording(error: dict, wording: Mapping[str, Wording], fallback: Wording) -> Message:
    if error["type"] == _STATED:
        return error["ctx"]["message"]
    return wording.get(error["type"], fallback)(error)


def refusal(model: type[BaseModel], problems: Iterable[Located], file: str = "") -> Rejected:
    """Refuse a document: its problems in the order of the model's schema (see ``schema_order``)."""
    ordered = sorted(problems, key=lambda found: schema_order(model, found.location, missing=found.kind == "missing"))
    return Rejected([Problem(found.message, path=path_text(found.location), file=file) for found in ordered])


def field_at(model: type[BaseModel], location: Location) -> tuple[type[BaseModel] | None, object]:
    """Return the model that holds the last key of ``location`` and that key (None when it is not a model's key).

    Walks the annotations: a model's field, a list's item, a dict's value, Optional and Annotated unwrapped.
    """
    current: object = model
    owner: type[BaseModel] | None = None
    for part in location:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            field = next((info for name, info in current.model_fields.items() if (info.alias or name) == part), None)
            current = field.annotation if field is not None else None
        elif get_origin(current) in (list, tuple) and isinstance(part, int):
            owner, current = None, get_args(current)[0]
        elif get_origin(current) is dict:
            owner, current = None, get_args(current)[1]
        else:
            return None, None
    return owner, location[-1] if location else None


def _unwrap(annotation: object) -> object:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [option for option in get_args(annotation) if option is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def allowed_keys(model: type[BaseModel], location: Location) -> list[str]:
    """Return the keys the mapping at ``location`` may hold (its model's fields), in the model's order."""
    current = _unwrap(model) if not location else None
    if location:
        owner, key = field_at(model, location + ("",))
        current = owner
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def schema_order(model: type[BaseModel], location: Location, *, missing: bool = False) -> tuple:
    """Sort key of a problem at ``location``: at each level unknown keys first, then missing ones, then the fields
    in the order the model declares them (list positions in order)."""
    key: list[tuple] = []
    for depth, part in enumerate(location):
        if isinstance(part, int):
            key.append((1, part))
            continue
        names = allowed_keys(model, location[:depth])
        if part not in names:
            key.append((-1, str(part)))
        elif missing and depth == len(location) - 1:
            key.append((0, names.index(part)))
        else:
            key.append((1, names.index(part)))
    return tuple(key)


class Refusal(NamedTuple):
    """One part of a value a validator refuses: where below the value, which message, the part and its context."""

    location: Location
    kind: str
    value: object = None
    context: dict | None = None

    @classmethod
    def stated(cls, location: Location, message: Message, value: object = None) -> Refusal:
        """Refuse a part with its message written there (see ``refuse_with``)."""
        return cls(location, _STATED, value, {"message": message})


def refuse_parts(refusals: Iterable[Refusal]) -> None:
    """Refuse, from one validator, several parts of the value it checks (a wrong language code here, a missing
    language there): pydantic places each problem at its part. Does nothing when there is nothing to refuse."""
    details = [InitErrorDetails(type=PydanticCustomError(item.kind, item.kind, item.context or {}),
                                loc=item.location, input=item.value) for item in refusals]
    if details:
        raise ValidationError.from_exception_data("refused", details)
