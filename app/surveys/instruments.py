"""Parse and validate survey instruments (the YAML files in surveys/) into frozen dataclasses; no Flask, no database.

The format is documented in surveys/README.md. Every problem in a file is reported at once, in Vietnamese, with the
path of the offending value (for example ``sections[2].items[1].scale``). The parsed definition is normalised (NFC
text, defaults filled in) so that its checksum does not depend on YAML formatting.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

INSTRUMENT_KINDS = ("sipas", "dossier")
SECTION_KINDS = ("element", "overall", "expectations", "demographics", "comment", "rating")
ITEM_TYPES = ("scale", "choice", "multi", "text")
ELEMENT_RULES = ("mean",)
OVERALL_RULES = ("mean_of_elements", "mean_of_criteria", "pooled")
UNIT_RULES = ("pooled", "mean_of_children")
REQUIRED_LANGUAGES = {"vi": "tiếng Việt", "en": "tiếng Anh"}
#: Responses pack their scale answers one byte each into a fixed row, which holds at most this many.
MAX_SCALE_ITEMS = 62
DEFAULT_MAX_LENGTH = 1000
MAX_TEXT_LENGTH = 5000
DEFAULT_MIN_N = 10
MAX_VERSION = 9999
MAX_FILE_BYTES = 1_000_000

_INSTRUMENT_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_ITEM_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
_SCALE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")

_TOP_KEYS = ("code", "version", "kind", "title", "intro", "scales", "sections", "aggregation")
_SECTION_KEYS = ("code", "kind", "title", "items")
_ITEM_KEYS = ("code", "type", "text")
_ITEM_OPTIONAL_KEYS = ("required", "help", "required_if")
#: The item keys that belong to some types only.
_KEY_TYPES = {"scale": ("scale",), "options": ("choice", "multi"), "max_choices": ("multi",), "max_length": ("text",)}
_MISPLACED_KEYS = {
    key: f"khoá “{key}” chỉ dùng cho câu hỏi loại {', '.join(types)}" for key, types in _KEY_TYPES.items()
}
_TYPE_REQUIRED_KEYS = {"scale": ("scale",), "choice": ("options",), "multi": ("options",), "text": ()}
_TYPE_OPTIONAL_KEYS = {"scale": (), "choice": (), "multi": ("max_choices",), "text": ("max_length",)}
_AGGREGATION_KEYS = ("satisfied",)
_AGGREGATION_OPTIONAL_KEYS = ("element_rule", "overall_rule", "unit_rule", "min_n")
_CODE_RULE = "dùng chữ in hoa không dấu, chữ số và “_”, bắt đầu bằng chữ cái, tối đa 32 ký tự"
_INSTRUMENT_CODE_RULE = "dùng chữ thường không dấu, chữ số và dấu gạch ngang, bắt đầu bằng chữ cái (vd. sipas-counter)"


@dataclass(frozen=True)
class Choice:
    """A labelled point of a scale, or an option of a choice item."""

    value: int
    label: dict[str, str]


@dataclass(frozen=True)
class Item:
    """One question of an instrument."""

    code: str
    text: dict[str, str]
    type: str
    required: bool
    choices: tuple[Choice, ...]
    max_choices: int | None
    max_length: int | None
    required_if: tuple[str, tuple[int, ...]] | None
    help: dict[str, str] | None


@dataclass(frozen=True)
class Section:
    """A titled group of items; an "element" section is a SIPAS service element whose scale items are criteria."""

    code: str
    kind: str
    title: dict[str, str]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Aggregation:
    """How answers become indices: the satisfied values and the criteria → element → overall → unit rules."""

    satisfied: frozenset[int]
    element_rule: str
    overall_rule: str
    unit_rule: str
    min_n: int


@dataclass(frozen=True)
class Instrument:
    """One published version of a survey instrument."""

    code: str
    version: int
    kind: str
    title: dict[str, str]
    intro: dict[str, str]
    sections: tuple[Section, ...]
    aggregation: Aggregation
    checksum: str
    definition: dict

    def __hash__(self) -> int:
        return hash((self.code, self.version, self.checksum))

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """Return every item, in order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _items_by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    def item(self, code: str) -> Item:
        """Return the item with this code; raise KeyError if there is none."""
        return self._items_by_code[code]

    @cached_property
    def scale_items(self) -> tuple[Item, ...]:
        """Return every scale item in order: a response stores one byte per scale item (0 = missing)."""
        return tuple(item for item in self.items if item.type == "scale")

    @cached_property
    def elements(self) -> tuple[Section, ...]:
        """Return the sections of kind "element" (the SIPAS service elements)."""
        return tuple(section for section in self.sections if section.kind == "element")

    @cached_property
    def criteria(self) -> tuple[Item, ...]:
        """Return the scale items inside element sections (the SIPAS criteria), in order."""
        return tuple(item for section in self.elements for item in section.items if item.type == "scale")

    @cached_property
    def element_columns(self) -> tuple[tuple[int, ...], ...]:
        """Return, for each element, the indices of its criteria within scale_items."""
        column = {item.code: index for index, item in enumerate(self.scale_items)}
        return tuple(
            tuple(column[item.code] for item in section.items if item.type == "scale") for section in self.elements
        )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an instrument file, located by a path such as ``sections[2].items[1].scale``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class InstrumentError(ValueError):
    """An instrument file is invalid; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def parse_instrument(data: object, source: str = "<data>") -> Instrument:
    """Validate already-loaded YAML data and build the instrument; raise InstrumentError listing every problem."""
    return _parse(_Checker(source), data)


def load_instrument(path: str | os.PathLike) -> Instrument:
    """Read a UTF-8 YAML instrument file and parse it; raise InstrumentError listing every problem."""
    checker = _Checker(os.fspath(path))
    return _parse(checker, _read_yaml(checker, checker.source))


def instrument_from_definition(definition: dict) -> Instrument:
    """Rebuild an instrument from its stored canonical definition, without validating it again.

    A published definition must load forever, even after the validator becomes stricter, so it is trusted.
    """
    return _build(json.loads(_canonical_json(definition)))


def _parse(checker: _Checker, data: object) -> Instrument:
    definition = _check_instrument(checker, data)
    checker.raise_if_any()
    return _build(definition)


def _canonical_json(definition: dict) -> str:
    return json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _build(definition: dict) -> Instrument:
    scales = {name: tuple(_build_choice(point) for point in points) for name, points in definition["scales"].items()}
    sections = tuple(
        Section(
            code=section["code"],
            kind=section["kind"],
            title=section["title"],
            items=tuple(_build_item(item, scales) for item in section["items"]),
        )
        for section in definition["sections"]
    )
    aggregation = definition["aggregation"]
    return Instrument(
        code=definition["code"],
        version=definition["version"],
        kind=definition["kind"],
        title=definition["title"],
        intro=definition["intro"],
        sections=sections,
        aggregation=Aggregation(
            satisfied=frozenset(aggregation["satisfied"]),
            element_rule=aggregation["element_rule"],
            overall_rule=aggregation["overall_rule"],
            unit_rule=aggregation["unit_rule"],
            min_n=aggregation["min_n"],
        ),
        checksum=hashlib.sha256(_canonical_json(definition).encode("utf-8")).hexdigest(),
        definition=definition,
    )


def _build_choice(point: dict) -> Choice:
    return Choice(value=point["value"], label=point["label"])


def _build_item(item: dict, scales: dict[str, tuple[Choice, ...]]) -> Item:
    if item["type"] == "scale":
        choices = scales[item["scale"]]
    else:
        choices = tuple(_build_choice(option) for option in item.get("options", ()))
    condition = item.get("required_if")
    return Item(
        code=item["code"],
        text=item["text"],
        type=item["type"],
        required=item["required"],
        choices=choices,
        max_choices=item.get("max_choices"),
        max_length=item.get("max_length"),
        required_if=(condition[0], tuple(condition[1])) if condition else None,
        help=item.get("help"),
    )


# --- reading -------------------------------------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one source instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.source, path, message))

    def stop(self, message: str) -> InstrumentError:
        """Record a problem that makes reading impossible and return the error to raise."""
        self.fail("", message)
        return InstrumentError(self.problems)

    def mark(self) -> int:
        return len(self.problems)

    def clean_since(self, mark: int) -> bool:
        return len(self.problems) == mark

    def raise_if_any(self) -> None:
        if self.problems:
            raise InstrumentError(self.problems)


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that reports duplicated mapping keys (PyYAML silently keeps the last one)."""

    def __init__(self, stream: str, checker: _Checker) -> None:
        super().__init__(stream)
        self.checker = checker

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    line = key_node.start_mark.line + 1
                    self.checker.fail("", f"dòng {line}: khoá “{key_node.value}” bị lặp lại trong cùng một bảng")
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def _read_yaml(checker: _Checker, source: str) -> object:
    """Return the YAML data of a file; raise InstrumentError if it cannot be read or parsed."""
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise checker.stop("không tìm thấy tệp") from None
    except OSError as error:
        raise checker.stop(f"không đọc được tệp ({error.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise checker.stop(f"tệp quá lớn (tối đa {MAX_FILE_BYTES} byte)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = f"dòng {line}: tệp không phải văn bản UTF-8 hợp lệ (byte 0x{raw[error.start]:02X})"
        raise checker.stop(message) from None
    loader = _StrictLoader(text, checker)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"dòng {mark.line + 1}, cột {mark.column + 1}: " if mark else ""
        raise checker.stop(f"{where}lỗi cú pháp YAML ({error.problem or error.context})") from None
    except yaml.YAMLError as error:
        raise checker.stop(f"lỗi cú pháp YAML ({error})") from None
    finally:
        loader.dispose()


# --- validation: values --------------------------------------------------------------------------------------------


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _describe(value: object) -> str:
    """Name a YAML value in a message: “abc” for a string, otherwise its kind."""
    if isinstance(value, str):
        return f"“{value}”"
    if value is None:
        return "giá trị rỗng"
    if isinstance(value, bool):
        return "giá trị đúng/sai"
    if isinstance(value, (int, float)):
        return f"số {value}"
    if isinstance(value, list):
        return "một danh sách"
    if isinstance(value, dict):
        return "một bảng khoá–giá trị"
    return type(value).__name__


def _mapping(
    checker: _Checker,
    value: object,
    path: str,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    misplaced: dict[str, str] | None = None,
) -> dict | None:
    """Check that value is a mapping with every required key and no unknown key; return it or None.

    ``misplaced`` gives a better message for keys that are valid elsewhere (e.g. max_length on a scale item).
    """
    if not isinstance(value, dict):
        checker.fail(path, f"phải là một bảng khoá–giá trị, không phải {_describe(value)}")
        return None
    allowed = required + optional
    for key in value:
        if key in allowed:
            continue
        hint = (misplaced or {}).get(key) if isinstance(key, str) else None
        checker.fail(_join(path, key), hint or f"khoá “{key}” không được hỗ trợ ở đây (dùng: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            checker.fail(_join(path, key), f"thiếu khoá bắt buộc “{key}”")
    return value


def _bad_character(text: str) -> str | None:
    for character in text:
        category = unicodedata.category(character)
        if (category == "Cc" and character != "\n") or category == "Cs" or character == "\ufffd":
            return character
    return None


def _string(checker: _Checker, value: object, path: str) -> str | None:
    """Return the text normalised to NFC and stripped, or None after reporting why it is unusable."""
    if not isinstance(value, str):
        checker.fail(path, f"phải là một chuỗi văn bản, không phải {_describe(value)}")
        return None
    bad = _bad_character(value)
    if bad is not None:
        checker.fail(path, f"chứa ký tự không hợp lệ U+{ord(bad):04X} (lỗi mã hoá Unicode?)")
        return None
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        checker.fail(path, "không được để trống")
        return None
    return text


def _text(checker: _Checker, value: object, path: str) -> dict[str, str] | None:
    """Return a {language: text} mapping that has both vi and en, or None after reporting the problems."""
    if not isinstance(value, dict):
        checker.fail(path, f"phải là một bảng theo ngôn ngữ {{vi: …, en: …}}, không phải {_describe(value)}")
        return None
    mark = checker.mark()
    texts: dict[str, str] = {}
    for language, raw in value.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            checker.fail(_join(path, language), f"mã ngôn ngữ {_describe(language)} không hợp lệ (dùng vi, en)")
            continue
        text = _string(checker, raw, _join(path, language))
        if text is not None:
            texts[language] = text
    for language, name in REQUIRED_LANGUAGES.items():
        if language not in value:
            checker.fail(_join(path, language), f"thiếu nội dung {name} (“{language}”)")
    return texts if checker.clean_since(mark) else None


def _code(checker: _Checker, value: object, path: str, pattern: re.Pattern, rule: str) -> str | None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        checker.fail(path, f"mã {_describe(value)} không hợp lệ: {rule}")
        return None
    return value


def _integer(
    checker: _Checker, value: object, path: str, low: int, high: int, what: str = "", note: str = ""
) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        checker.fail(path, f"phải là một số nguyên, không phải {_describe(value)}")
        return None
    if not low <= value <= high:
        subject = f"{what} " if what else ""
        checker.fail(path, f"{subject}phải từ {low} đến {high}, nhận được {value}{note}")
        return None
    return value


def _one_of(checker: _Checker, value: object, path: str, allowed: tuple[str, ...], what: str) -> str | None:
    if not isinstance(value, str) or value not in allowed:
        checker.fail(path, f"{what} {_describe(value)} không hợp lệ (dùng: {', '.join(allowed)})")
        return None
    return value


def _is_value_list(value: object) -> bool:
    """Tell whether value is a non-empty list of integers (booleans excluded)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def _is_condition(value: object) -> bool:
    """Tell whether value has the shape of required_if: [ITEM_CODE, [value, ...]]."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and _is_value_list(value[1])


def _points(checker: _Checker, value: object, path: str, low: int) -> list[dict] | None:
    """Check the points of a scale (low = 1, since 0 means missing) or the options of a choice item (low = 0)."""
    if not isinstance(value, list):
        checker.fail(path, f"phải là một danh sách lựa chọn, không phải {_describe(value)}")
        return None
    mark = checker.mark()
    if len(value) < 2:
        checker.fail(path, f"cần ít nhất 2 lựa chọn, hiện có {len(value)}")
    what, note = ("giá trị của thang đo", " (0 dành cho câu bỏ trống)") if low == 1 else ("giá trị của lựa chọn", "")
    points: list[dict] = []
    seen: dict[int, str] = {}
    for index, raw in enumerate(value):
        point_path = f"{path}[{index}]"
        point = _mapping(checker, raw, point_path, ("value", "label"))
        if point is None:
            continue
        number = None
        if "value" in point:
            number = _integer(checker, point["value"], _join(point_path, "value"), low, 255, what, note)
        label = _text(checker, point["label"], _join(point_path, "label")) if "label" in point else None
        if number is not None:
            if number in seen:
                checker.fail(_join(point_path, "value"), f"giá trị {number} bị trùng (đã dùng ở {seen[number]})")
            seen.setdefault(number, point_path)
        points.append({"value": number, "label": label})
    return points if checker.clean_since(mark) else None


# --- validation: parts ---------------------------------------------------------------------------------------------


def _check_scales(checker: _Checker, value: object) -> tuple[dict[str, list[dict]], set[str]]:
    """Return the valid scales and the names of every declared scale, valid or not."""
    if not isinstance(value, dict):
        checker.fail("scales", f"phải là một bảng “tên thang đo: danh sách mức”, không phải {_describe(value)}")
        return {}, set()
    scales: dict[str, list[dict]] = {}
    for name, raw in value.items():
        path = _join("scales", name)
        checked = _code(checker, name, path, _SCALE_NAME, "tên thang đo dùng chữ thường không dấu, chữ số và “_”")
        points = _points(checker, raw, path, low=1)
        if checked is not None and points is not None:
            scales[checked] = points
    return scales, {name for name in value if isinstance(name, str)}


def _check_item(checker: _Checker, value: object, path: str, declared: set[str]) -> dict | None:
    """Check one item; return its canonical form (defaults filled in) or None."""
    raw_type = value.get("type") if isinstance(value, dict) else None
    item_type = raw_type if isinstance(raw_type, str) and raw_type in ITEM_TYPES else None
    if item_type is None:
        # Unknown type: accept every type's keys so that only the type itself is reported.
        optional = _ITEM_OPTIONAL_KEYS + tuple(_KEY_TYPES)
        required = _ITEM_KEYS
    else:
        optional = _ITEM_OPTIONAL_KEYS + _TYPE_OPTIONAL_KEYS[item_type]
        required = _ITEM_KEYS + _TYPE_REQUIRED_KEYS[item_type]
    mark = checker.mark()
    item = _mapping(checker, value, path, required, optional, _MISPLACED_KEYS)
    if item is None:
        return None
    canonical: dict[str, Any] = {"required": item.get("required", False), "help": None, "required_if": None}
    if "code" in item:
        canonical["code"] = _code(checker, item["code"], _join(path, "code"), _ITEM_CODE, _CODE_RULE + " (vd. TC1)")
    if "type" in item:
        canonical["type"] = _one_of(checker, item["type"], _join(path, "type"), ITEM_TYPES, "loại câu hỏi")
    if "text" in item:
        canonical["text"] = _text(checker, item["text"], _join(path, "text"))
    if not isinstance(canonical["required"], bool):
        checker.fail(_join(path, "required"), f"phải là true hoặc false, không phải {_describe(item['required'])}")
    if item.get("help") is not None:
        canonical["help"] = _text(checker, item["help"], _join(path, "help"))
    if item.get("required_if") is not None:
        condition = item["required_if"]
        if not _is_condition(condition):
            checker.fail(_join(path, "required_if"), "phải có dạng [MÃ_CÂU_HỎI, [giá trị, …]], ví dụ [DANH_GIA, [1]]")
        elif canonical["required"] is True:
            checker.fail(_join(path, "required_if"), "câu hỏi đã bắt buộc (required: true) thì không dùng required_if")
        else:
            canonical["required_if"] = [condition[0], sorted(set(condition[1]))]
    if item_type == "scale" and "scale" in item:
        canonical["scale"] = item["scale"]
        if not isinstance(item["scale"], str) or item["scale"] not in declared:
            checker.fail(_join(path, "scale"), f"thang đo {_describe(item['scale'])} không được khai báo trong scales")
    if item_type in ("choice", "multi") and "options" in item:
        canonical["options"] = _points(checker, item["options"], _join(path, "options"), low=0)
    if item_type == "multi" and canonical.get("options"):
        count = len(canonical["options"])
        canonical["max_choices"] = item.get("max_choices", count)
        _integer(checker, canonical["max_choices"], _join(path, "max_choices"), 1, count, "số lựa chọn tối đa")
    if item_type == "text":
        canonical["max_length"] = item.get("max_length", DEFAULT_MAX_LENGTH)
        _integer(checker, canonical["max_length"], _join(path, "max_length"), 1, MAX_TEXT_LENGTH, "độ dài tối đa")
    return canonical if checker.clean_since(mark) else None


def _check_items(checker: _Checker, value: object, path: str, declared: set[str]) -> list[dict | None] | None:
    """Check the non-empty list of a section's items."""
    if not isinstance(value, list):
        checker.fail(path, f"phải là một danh sách câu hỏi, không phải {_describe(value)}")
        return None
    if not value:
        checker.fail(path, "phần này chưa có câu hỏi nào")
        return None
    return [_check_item(checker, raw, f"{path}[{index}]", declared) for index, raw in enumerate(value)]


def _check_section(checker: _Checker, value: object, path: str, declared: set[str]) -> dict | None:
    """Check one section and its items; return its canonical form or None."""
    mark = checker.mark()
    section = _mapping(checker, value, path, _SECTION_KEYS)
    if section is None:
        return None
    canonical: dict[str, Any] = {}
    if "code" in section:
        canonical["code"] = _code(checker, section["code"], _join(path, "code"), _ITEM_CODE, _CODE_RULE + " (vd. TC)")
    if "kind" in section:
        canonical["kind"] = _one_of(checker, section["kind"], _join(path, "kind"), SECTION_KINDS, "loại phần")
    if "title" in section:
        canonical["title"] = _text(checker, section["title"], _join(path, "title"))
    if "items" in section:
        canonical["items"] = _check_items(checker, section["items"], _join(path, "items"), declared)
    return canonical if checker.clean_since(mark) else None


def _check_aggregation(checker: _Checker, value: object) -> dict | None:
    """Check the aggregation rules; return them with defaults filled in, or None."""
    mark = checker.mark()
    aggregation = _mapping(checker, value, "aggregation", _AGGREGATION_KEYS, _AGGREGATION_OPTIONAL_KEYS)
    if aggregation is None:
        return None
    satisfied = aggregation.get("satisfied")
    if "satisfied" in aggregation and not _is_value_list(satisfied):
        checker.fail("aggregation.satisfied", "phải là danh sách các giá trị được tính là hài lòng, ví dụ [4, 5]")
    canonical = {
        "satisfied": sorted(set(satisfied)) if _is_value_list(satisfied) else None,
        "element_rule": aggregation.get("element_rule", "mean"),
        "overall_rule": aggregation.get("overall_rule", "mean_of_elements"),
        "unit_rule": aggregation.get("unit_rule", "pooled"),
        "min_n": aggregation.get("min_n", DEFAULT_MIN_N),
    }
    _one_of(checker, canonical["element_rule"], "aggregation.element_rule", ELEMENT_RULES, "quy tắc")
    _one_of(checker, canonical["overall_rule"], "aggregation.overall_rule", OVERALL_RULES, "quy tắc")
    _one_of(checker, canonical["unit_rule"], "aggregation.unit_rule", UNIT_RULES, "quy tắc")
    _integer(checker, canonical["min_n"], "aggregation.min_n", 1, 1_000_000, "ngưỡng ẩn số liệu")
    return canonical if checker.clean_since(mark) else None


def _check_instrument(checker: _Checker, data: object) -> dict | None:
    """Check the whole instrument; return its canonical definition, or None when any problem was reported."""
    top = _mapping(checker, data, "", _TOP_KEYS)
    if top is None:
        return None
    definition: dict[str, Any] = {}
    if "code" in top:
        definition["code"] = _code(checker, top["code"], "code", _INSTRUMENT_CODE, _INSTRUMENT_CODE_RULE)
    if "version" in top:
        definition["version"] = _integer(checker, top["version"], "version", 1, MAX_VERSION, "số phiên bản")
    if "kind" in top:
        definition["kind"] = _one_of(checker, top["kind"], "kind", INSTRUMENT_KINDS, "loại phiếu")
    for key in ("title", "intro"):
        if key in top:
            definition[key] = _text(checker, top[key], key)
    scales, declared = _check_scales(checker, top["scales"]) if "scales" in top else ({}, set())
    definition["scales"] = scales
    if "sections" in top:
        if not isinstance(top["sections"], list) or not top["sections"]:
            checker.fail("sections", f"phải là một danh sách phần không rỗng, không phải {_describe(top['sections'])}")
        else:
            definition["sections"] = [
                _check_section(checker, raw, f"sections[{index}]", declared)
                for index, raw in enumerate(top["sections"])
            ]
    if "aggregation" in top:
        definition["aggregation"] = _check_aggregation(checker, top["aggregation"])
    _check_structure(checker, top, scales, definition.get("aggregation"))
    return None if checker.problems else definition


# --- validation: rules across sections -----------------------------------------------------------------------------


def _raw_sections(top: dict) -> list[tuple[str, dict]]:
    """Return (path, mapping) for every section that is at least a mapping, valid or not."""
    raw = top.get("sections")
    if not isinstance(raw, list):
        return []
    return [(f"sections[{index}]", section) for index, section in enumerate(raw) if isinstance(section, dict)]


def _raw_items(section_path: str, section: dict) -> list[tuple[str, dict]]:
    """Return (path, mapping) for every item of a section that is at least a mapping."""
    raw = section.get("items")
    if not isinstance(raw, list):
        return []
    return [(f"{section_path}.items[{index}]", item) for index, item in enumerate(raw) if isinstance(item, dict)]


def _text_value(entry: dict, key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def _check_structure(
    checker: _Checker, top: dict, scales: dict[str, list[dict]], aggregation: dict | None
) -> None:
    """Check the rules that span sections: unique codes, conditions, counts, instrument kind, satisfied values."""
    sections = _raw_sections(top)
    items = [(path, item) for section_path, section in sections for path, item in _raw_items(section_path, section)]
    _check_unique(checker, sections, "mã phần")
    _check_unique(checker, items, "mã câu hỏi")
    _check_conditions(checker, items, scales)
    scale_items = [(path, item) for path, item in items if item.get("type") == "scale"]
    if len(scale_items) > MAX_SCALE_ITEMS:
        checker.fail("sections", f"có {len(scale_items)} câu hỏi thang đo, tối đa {MAX_SCALE_ITEMS}")
    for path, section in sections:
        if section.get("kind") == "element" and not any(
            item.get("type") == "scale" for _, item in _raw_items(path, section)
        ):
            checker.fail(path, "phần loại element (yếu tố) phải có ít nhất một câu hỏi thang đo (tiêu chí)")
    _check_kind(checker, top.get("kind"), sections)
    used = list(dict.fromkeys(name for _, item in scale_items if (name := _text_value(item, "scale")) in scales))
    for name in scales:
        if name not in used:
            checker.fail(_join("scales", name), f"thang đo “{name}” được khai báo nhưng không câu hỏi nào dùng")
    if aggregation and aggregation["satisfied"]:
        for name in used:
            values = {point["value"] for point in scales[name]}
            missing = [value for value in aggregation["satisfied"] if value not in values]
            if missing:
                listed = ", ".join(str(value) for value in missing)
                checker.fail("aggregation.satisfied", f"giá trị {listed} không có trong thang đo “{name}”")


def _check_unique(checker: _Checker, entries: list[tuple[str, dict]], what: str) -> None:
    first: dict[str, str] = {}
    for path, entry in entries:
        code = _text_value(entry, "code")
        if code is None:
            continue
        if code in first:
            checker.fail(_join(path, "code"), f"{what} “{code}” bị trùng (đã dùng ở {first[code]})")
        else:
            first[code] = path


def _check_conditions(checker: _Checker, items: list[tuple[str, dict]], scales: dict[str, list[dict]]) -> None:
    """Check that every required_if points to an earlier scale or choice item, and to values it offers."""
    position: dict[str, int] = {}
    for index, (_, item) in enumerate(items):
        code = _text_value(item, "code")
        if code is not None:
            position.setdefault(code, index)
    for index, (path, item) in enumerate(items):
        condition = item.get("required_if")
        if not _is_condition(condition):
            continue
        code, values = condition
        where = _join(path, "required_if")
        if code not in position:
            checker.fail(where, f"câu hỏi “{code}” không tồn tại")
            continue
        if position[code] >= index:
            checker.fail(where, f"câu hỏi “{code}” phải đứng trước câu hỏi này")
            continue
        target = items[position[code]][1]
        if target.get("type") == "scale":
            offered = scales.get(_text_value(target, "scale") or "")
        elif target.get("type") == "choice":
            offered = target.get("options")
        else:
            checker.fail(where, f"chỉ có thể phụ thuộc vào câu hỏi loại scale hoặc choice, còn “{code}” thì không")
            continue
        if not isinstance(offered, list):
            continue  # the target's own problem is already reported
        choices = {point.get("value") for point in offered if isinstance(point, dict)}
        for value in sorted(set(values)):
            if value not in choices:
                checker.fail(where, f"giá trị {value} không có trong các lựa chọn của “{code}”")


def _check_kind(checker: _Checker, kind: object, sections: list[tuple[str, dict]]) -> None:
    """Check the sections each instrument kind needs: SIPAS elements, or exactly one dossier rating."""
    if kind == "sipas":
        if not any(section.get("kind") == "element" for _, section in sections):
            checker.fail("sections", "phiếu loại sipas cần ít nhất một phần loại element (yếu tố dịch vụ)")
        for path, section in sections:
            if section.get("kind") == "rating":
                checker.fail(_join(path, "kind"), "phiếu loại sipas không dùng phần loại rating")
    elif kind == "dossier":
        ratings = [(path, section) for path, section in sections if section.get("kind") == "rating"]
        if len(ratings) != 1:
            checker.fail("sections", f"phiếu loại dossier cần đúng một phần loại rating, hiện có {len(ratings)}")
        for path, section in ratings:
            count = sum(item.get("type") == "scale" for _, item in _raw_items(path, section))
            if count != 1:
                checker.fail(path, f"phần loại rating cần đúng một câu hỏi thang đo, hiện có {count}")
        for path, section in sections:
            if section.get("kind") == "element":
                checker.fail(_join(path, "kind"), "phiếu loại dossier không dùng phần loại element")
