"""Parse and validate survey instruments (the YAML files in surveys/) into frozen dataclasses; no Flask, no database.

The format is documented in surveys/README.md. Every problem in a file is reported at once, in the reader's language
(Vietnamese on the command line), with the path of the offending value (for example ``sections[2].items[1].scale``).
The shape of a file (keys, types, ranges, codes, texts) is the pydantic model ``InstrumentFile``; the rules across
its parts (unique codes, conditions, what each kind of instrument needs) are the functions below it. The parsed
definition is normalised (NFC text, defaults filled in) so that its checksum does not depend on YAML formatting.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictInt, WrapValidator

from app.stats.satisfaction import ELEMENT_RULES, OVERALL_RULES, UNIT_RULES
from app.validation import (Located, Location, Message, Refusal, allowed_keys, describe, path_text, read_yaml_file,
                            refusal, refuse, refuse_parts, shape_problems)

INSTRUMENT_KINDS = ("sipas", "dossier")
SECTION_KINDS = ("element", "overall", "expectations", "demographics", "comment", "rating")
ITEM_TYPES = ("scale", "choice", "multi", "text")
#: The languages every text is written in.
REQUIRED_LANGUAGES = ("vi", "en")
#: Responses pack their scale answers one byte each into a fixed row, which holds at most this many.
MAX_SCALE_ITEMS = 62
DEFAULT_MAX_LENGTH = 1000
MAX_TEXT_LENGTH = 5000
DEFAULT_MIN_N = 10
MAX_VERSION = 9999

_INSTRUMENT_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_ITEM_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
_SCALE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
#: The item keys that belong to some types only, and the keys each type needs.
_KEY_TYPES = {"scale": ("scale",), "options": ("choice", "multi"), "max_choices": ("multi",), "max_length": ("text",)}
_TYPE_REQUIRED_KEYS = {"scale": ("scale",), "choice": ("options",), "multi": ("options",), "text": ()}


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

    @property
    def numbered(self) -> bool:
        """Tell whether the item is a scale of 4 to 7 points valued 1, 2, … in order, shown as a row of numbers."""
        values = [choice.value for choice in self.choices]
        return self.type == "scale" and 4 <= len(values) <= 7 and values == list(range(1, len(values) + 1))


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


#: Seconds a citizen takes, by item type, for the time estimate shown on the form (about 6 s to read a short
#: statement and tap a point; longer for ticking several options). Optional free text is not counted: it is asked,
#: not expected. A required text counts TEXT_SECONDS.
ITEM_SECONDS = {"scale": 6, "choice": 6, "multi": 10, "text": 0}
TEXT_SECONDS = 30
#: Reading the title and introduction.
READING_SECONDS = 10


@dataclass(frozen=True)
class Effort:
    """What filling in a form asks of a citizen: questions that must be answered, optional ones, an estimated time."""

    required: int
    optional: int
    seconds: int

    @property
    def minutes(self) -> int:
        """Return the estimate in whole minutes (at least 1), rounded to the nearest."""
        return max(1, round(self.seconds / 60))

    @property
    def under_a_minute(self) -> bool:
        """Tell whether the form takes at most a minute."""
        return self.seconds <= 60


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

    def condition_labels(self, item: Item, language: str) -> list[str]:
        """Return the labels of the answers that make ``item`` required (its required_if), in the language given."""
        if item.required_if is None:
            return []
        code, values = item.required_if
        return [choice.label.get(language) or choice.label["vi"] for choice in self.item(code).choices
                if choice.value in values]

    def effort(self, extra_required: int = 0) -> Effort:
        """Count the required and optional questions and estimate the time they take (see ITEM_SECONDS).

        :param extra_required: questions the form adds to the instrument's (the service field), each a single choice.
        """
        required = [item for item in self.items if item.required]
        seconds = READING_SECONDS + extra_required * ITEM_SECONDS["choice"] + sum(
            TEXT_SECONDS if item.type == "text" and item.required else ITEM_SECONDS[item.type] for item in self.items)
        return Effort(len(required) + extra_required, len(self.items) - len(required), seconds)

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


# --- the shape of a file ---------------------------------------------------------------------------------------------


def _code(pattern: re.Pattern, rule: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            refuse("code", rule=rule)
        return value
    return check


def _within(low: int, high: int, what: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            refuse("range", what=what, low=low, high=high, value=value)
        return value
    return check


def _one_of(allowed: tuple[str, ...], what: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            refuse("choice", what=what, allowed=", ".join(allowed))
        return value
    return check


def _instance_of(expected: type, kind: str) -> Callable[[object], object]:
    """Refuse anything but a mapping or a list (``expected``) with the message of ``kind``, before its entries are
    checked."""
    def check(value: object) -> object:
        if not isinstance(value, expected):
            refuse(kind)
        return value
    return check


def _non_empty_list(kind: str, empty: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, list):
            refuse(kind)
        if not value:
            refuse(empty)
        return value
    return check


def _optional(value: object, handler: Callable[[object], object]) -> object:
    """Let an absent (null) optional value through as None; check any other value."""
    return None if value is None else handler(value)


def _text_problem(value: object) -> tuple[str, dict] | None:
    """Return why a text cannot be used (its kind of problem and context), or None."""
    if not isinstance(value, str):
        return "not_text", {}
    for character in value:
        category = unicodedata.category(character)
        if (category == "Cc" and character != "\n") or category == "Cs" or character == "\ufffd":
            return "bad_character", {"code": f"U+{ord(character):04X}"}
    if not value.strip():
        return "blank", {}
    return None


def _texts(value: object) -> dict[str, str]:
    """Return a {language: text} mapping with vi and en, texts normalised to NFC and stripped; refuse every wrong
    language code, unusable text and missing language at once."""
    if not isinstance(value, dict):
        refuse("text")
    refusals = []
    for language, text in value.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            refusals.append(Refusal((language,), "language", language))
        elif (problem := _text_problem(text)) is not None:
            refusals.append(Refusal((language,), problem[0], text, problem[1]))
    refusals += [Refusal((language,), "missing_language", context={"language": language})
                 for language in REQUIRED_LANGUAGES if language not in value]
    refuse_parts(refusals)
    return {language: unicodedata.normalize("NFC", text).strip() for language, text in value.items()}


def _is_value_list(value: object) -> bool:
    """Tell whether value is a non-empty list of integers (booleans excluded)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, int) and not isinstance(v, bool)
                                                           for v in value)


def _is_condition(value: object) -> bool:
    """Tell whether value has the shape of required_if: [ITEM_CODE, [value, ...]]."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and _is_value_list(value[1])


def _condition(value: object) -> object:
    if not _is_condition(value):
        refuse("condition")
    return value


def _satisfied(value: object) -> object:
    if not _is_value_list(value):
        refuse("satisfied")
    return value


_STRICT = ConfigDict(extra="forbid")
Text = Annotated[Any, AfterValidator(_texts)]
OptionalText = Annotated[Text, WrapValidator(_optional)]
ItemCode = Annotated[Any, AfterValidator(_code(_ITEM_CODE, "item"))]


class ScalePoint(BaseModel):
    """A point of a scale: 1–255 (0 stands for a question left blank)."""

    model_config = _STRICT
    value: Annotated[StrictInt, AfterValidator(_within(1, 255, "scale_value"))]
    label: Text


class OptionPoint(BaseModel):
    """An option of a choice item: 0–255."""

    model_config = _STRICT
    value: Annotated[StrictInt, AfterValidator(_within(0, 255, "option_value"))]
    label: Text


class ItemEntry(BaseModel):
    """A question; the keys of the other types are accepted here and refused per type by _check_item_keys."""

    model_config = _STRICT
    code: ItemCode
    type: Annotated[Any, AfterValidator(_one_of(ITEM_TYPES, "item_type"))]
    text: Text
    required: StrictBool = False
    help: OptionalText = None
    required_if: Annotated[Any, AfterValidator(_condition), WrapValidator(_optional)] = None
    scale: Any = None
    # Absent, these take their type's default; written as null, they are refused like any other wrong value.
    options: Annotated[list[OptionPoint], BeforeValidator(_instance_of(list, "points"))] = None
    max_choices: StrictInt = None
    max_length: Annotated[StrictInt, AfterValidator(_within(1, MAX_TEXT_LENGTH, "max_length"))] = None


class SectionEntry(BaseModel):
    """A titled group of items."""

    model_config = _STRICT
    code: Annotated[Any, AfterValidator(_code(_ITEM_CODE, "section"))]
    kind: Annotated[Any, AfterValidator(_one_of(SECTION_KINDS, "section_kind"))]
    title: Text
    items: Annotated[list[ItemEntry], BeforeValidator(_non_empty_list("items", "no_items"))]


class AggregationRules(BaseModel):
    """The satisfied values and the rules from criteria to elements, overall and parent units."""

    model_config = _STRICT
    satisfied: Annotated[Any, AfterValidator(_satisfied)]
    element_rule: Annotated[Any, AfterValidator(_one_of(ELEMENT_RULES, "rule"))] = "mean"
    overall_rule: Annotated[Any, AfterValidator(_one_of(OVERALL_RULES, "rule"))] = "mean_of_elements"
    unit_rule: Annotated[Any, AfterValidator(_one_of(UNIT_RULES, "rule"))] = "pooled"
    min_n: Annotated[StrictInt, AfterValidator(_within(1, 1_000_000, "min_n"))] = DEFAULT_MIN_N


class InstrumentFile(BaseModel):
    """An instrument file as surveys/README.md describes it."""

    model_config = _STRICT
    code: Annotated[Any, AfterValidator(_code(_INSTRUMENT_CODE, "instrument"))]
    version: Annotated[StrictInt, AfterValidator(_within(1, MAX_VERSION, "version"))]
    kind: Annotated[Any, AfterValidator(_one_of(INSTRUMENT_KINDS, "instrument_kind"))]
    title: Text
    intro: Text
    scales: Annotated[dict[Annotated[Any, AfterValidator(_code(_SCALE_NAME, "scale"))],
                           Annotated[list[ScalePoint], BeforeValidator(_instance_of(list, "points"))]],
                      BeforeValidator(_instance_of(dict, "scales"))]
    sections: Annotated[list[SectionEntry], BeforeValidator(_non_empty_list("sections", "sections"))]
    aggregation: AggregationRules


# --- how each problem reads ------------------------------------------------------------------------------------------

_RULES = {
    "instrument": _l("dùng chữ thường không dấu, chữ số và dấu gạch ngang, bắt đầu bằng chữ cái (vd. sipas-counter)"),
    "item": _l("dùng chữ in hoa không dấu, chữ số và “_”, bắt đầu bằng chữ cái, tối đa 32 ký tự (vd. TC1)"),
    "section": _l("dùng chữ in hoa không dấu, chữ số và “_”, bắt đầu bằng chữ cái, tối đa 32 ký tự (vd. TC)"),
    "scale": _l("tên thang đo dùng chữ thường không dấu, chữ số và “_”"),
}


def _range(error: dict) -> Message:
    context = error["ctx"]
    what, values = context["what"], dict(low=context["low"], high=context["high"], value=context["value"])
    if what == "version":
        return _l("số phiên bản phải từ %(low)d đến %(high)d, nhận được %(value)d", **values)
    if what == "scale_value":
        return _l("giá trị của thang đo phải từ %(low)d đến %(high)d, nhận được %(value)d (0 dành cho câu bỏ trống)",
                  **values)
    if what == "option_value":
        return _l("giá trị của lựa chọn phải từ %(low)d đến %(high)d, nhận được %(value)d", **values)
    if what == "max_choices":
        return _l("số lựa chọn tối đa phải từ %(low)d đến %(high)d, nhận được %(value)d", **values)
    if what == "max_length":
        return _l("độ dài tối đa phải từ %(low)d đến %(high)d, nhận được %(value)d", **values)
    return _l("ngưỡng ẩn số liệu phải từ %(low)d đến %(high)d, nhận được %(value)d", **values)


def _choice(error: dict) -> Message:
    what, values = error["ctx"]["what"], dict(value=describe(error["input"]), allowed=error["ctx"]["allowed"])
    if what == "instrument_kind":
        return _l("loại phiếu %(value)s không hợp lệ (dùng: %(allowed)s)", **values)
    if what == "section_kind":
        return _l("loại phần %(value)s không hợp lệ (dùng: %(allowed)s)", **values)
    if what == "item_type":
        return _l("loại câu hỏi %(value)s không hợp lệ (dùng: %(allowed)s)", **values)
    return _l("quy tắc %(value)s không hợp lệ (dùng: %(allowed)s)", **values)


_WORDING: dict[str, Callable[[dict], Message]] = {
    "missing": lambda e: _l("thiếu khoá bắt buộc “%(key)s”", key=e["loc"][-1]),
    "extra_forbidden": lambda e: _l("khoá “%(key)s” không được hỗ trợ ở đây (dùng: %(allowed)s)", key=e["loc"][-1],
                                    allowed=", ".join(_allowed(e))),
    "invalid_key": lambda e: _l("khoá “%(key)s” không được hỗ trợ ở đây (dùng: %(allowed)s)", key=e["loc"][-1],
                                allowed=", ".join(_allowed(e))),
    "model_type": lambda e: _l("phải là một bảng khoá–giá trị, không phải %(value)s", value=describe(e["input"])),
    "model_attributes_type": lambda e: _l("phải là một bảng khoá–giá trị, không phải %(value)s",
                                          value=describe(e["input"])),
    "int_type": lambda e: _l("phải là một số nguyên, không phải %(value)s", value=describe(e["input"])),
    "bool_type": lambda e: _l("phải là true hoặc false, không phải %(value)s", value=describe(e["input"])),
    "code": lambda e: _l("mã %(value)s không hợp lệ: %(rule)s", value=describe(e["input"]),
                         rule=_RULES[e["ctx"]["rule"]]),
    "range": _range,
    "choice": _choice,
    "text": lambda e: _l("phải là một bảng theo ngôn ngữ {vi: …, en: …}, không phải %(value)s",
                         value=describe(e["input"])),
    "language": lambda e: _l("mã ngôn ngữ %(value)s không hợp lệ (dùng vi, en)", value=describe(e["input"])),
    "missing_language": lambda e: (_l("thiếu nội dung tiếng Việt (“vi”)") if e["ctx"]["language"] == "vi"
                                   else _l("thiếu nội dung tiếng Anh (“en”)")),
    "not_text": lambda e: _l("phải là một chuỗi văn bản, không phải %(value)s", value=describe(e["input"])),
    "bad_character": lambda e: _l("chứa ký tự không hợp lệ %(code)s (lỗi mã hoá Unicode?)", code=e["ctx"]["code"]),
    "blank": lambda e: _l("không được để trống"),
    "points": lambda e: _l("phải là một danh sách lựa chọn, không phải %(value)s", value=describe(e["input"])),
    "scales": lambda e: _l("phải là một bảng “tên thang đo: danh sách mức”, không phải %(value)s",
                           value=describe(e["input"])),
    "sections": lambda e: _l("phải là một danh sách phần không rỗng, không phải %(value)s",
                             value=describe(e["input"])),
    "items": lambda e: _l("phải là một danh sách câu hỏi, không phải %(value)s", value=describe(e["input"])),
    "no_items": lambda e: _l("phần này chưa có câu hỏi nào"),
    "condition": lambda e: _l("phải có dạng [MÃ_CÂU_HỎI, [giá trị, …]], ví dụ [DANH_GIA, [1]]"),
    "satisfied": lambda e: _l("phải là danh sách các giá trị được tính là hài lòng, ví dụ [4, 5]"),
}


def _allowed(error: dict) -> list[str]:
    return allowed_keys(InstrumentFile, tuple(error["loc"])[:-1])


def _unexpected(error: dict) -> Message:
    return _l("giá trị %(value)s không hợp lệ", value=describe(error.get("input")))


# --- rules across the parts of a file --------------------------------------------------------------------------------


def _raw_sections(top: dict) -> list[tuple[Location, dict]]:
    """Return (location, mapping) for every section that is at least a mapping, valid or not."""
    raw = top.get("sections")
    if not isinstance(raw, list):
        return []
    return [(("sections", index), section) for index, section in enumerate(raw) if isinstance(section, dict)]


def _raw_items(location: Location, section: dict) -> list[tuple[Location, dict]]:
    """Return (location, mapping) for every item of a section that is at least a mapping."""
    raw = section.get("items")
    if not isinstance(raw, list):
        return []
    return [(location + ("items", index), item) for index, item in enumerate(raw) if isinstance(item, dict)]


def _text_value_of(entry: dict, key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def _check_item_keys(items: list[tuple[Location, dict]], declared: set[str], options_valid: Callable[[Location], bool]
                     ) -> tuple[list[tuple[Location, Message]], list[Location]]:
    """Check what depends on an item's type: keys of other types, keys its type needs, its scale, max_choices, and
    a condition on a required item. Return the problems and the misplaced keys (whose own value is not checked)."""
    problems: list[tuple[Location, Message]] = []
    misplaced: list[Location] = []
    for location, item in items:
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in ITEM_TYPES:
            continue  # the type itself is reported; every type's keys are accepted meanwhile
        for key, types in _KEY_TYPES.items():
            if key in item and kind not in types:
                misplaced.append(location + (key,))
                problems.append((location + (key,), _l("khoá “%(key)s” chỉ dùng cho câu hỏi loại %(types)s", key=key,
                                                       types=", ".join(types))))
        for key in _TYPE_REQUIRED_KEYS[kind]:
            if key not in item:
                problems.append((location + (key,), _l("thiếu khoá bắt buộc “%(key)s”", key=key)))
        scale = item.get("scale")
        if kind == "scale" and "scale" in item and (not isinstance(scale, str) or scale not in declared):
            problems.append((location + ("scale",), _l("thang đo %(value)s không được khai báo trong scales",
                                                       value=describe(scale))))
        options, most = item.get("options"), item.get("max_choices")
        if kind == "multi" and isinstance(options, list) and options_valid(location + ("options",)) \
                and isinstance(most, int) and not isinstance(most, bool) and not 1 <= most <= len(options):
            problems.append((location + ("max_choices",), _l(
                "số lựa chọn tối đa phải từ %(low)d đến %(high)d, nhận được %(value)d", low=1, high=len(options),
                value=most)))
        if _is_condition(item.get("required_if")) and item.get("required") is True:
            problems.append((location + ("required_if",),
                             _l("câu hỏi đã bắt buộc (required: true) thì không dùng required_if")))
    return problems, misplaced


def _check_unique(entries: list[tuple[Location, dict]], what: str) -> list[tuple[Location, Message]]:
    problems = []
    first: dict[str, Location] = {}
    for location, entry in entries:
        code = _text_value_of(entry, "code")
        if code is None:
            continue
        if code in first:
            used = path_text(first[code])
            problems.append((location + ("code",), _l("mã phần “%(code)s” bị trùng (đã dùng ở %(first)s)", code=code,
                                                      first=used) if what == "section" else
                             _l("mã câu hỏi “%(code)s” bị trùng (đã dùng ở %(first)s)", code=code, first=used)))
        else:
            first[code] = location
    return problems


def _check_conditions(items: list[tuple[Location, dict]], scales: dict[str, list]) -> list[tuple[Location, Message]]:
    """Check that every required_if points to an earlier scale or choice item, and to values it offers."""
    problems = []
    position: dict[str, int] = {}
    for index, (_, item) in enumerate(items):
        code = _text_value_of(item, "code")
        if code is not None:
            position.setdefault(code, index)
    for index, (location, item) in enumerate(items):
        condition = item.get("required_if")
        if not _is_condition(condition):
            continue
        code, values = condition
        where = location + ("required_if",)
        if code not in position:
            problems.append((where, _l("câu hỏi “%(code)s” không tồn tại", code=code)))
            continue
        if position[code] >= index:
            problems.append((where, _l("câu hỏi “%(code)s” phải đứng trước câu hỏi này", code=code)))
            continue
        target = items[position[code]][1]
        if target.get("type") == "scale":
            offered = scales.get(_text_value_of(target, "scale") or "")
        elif target.get("type") == "choice":
            offered = target.get("options")
        else:
            problems.append((where, _l("chỉ có thể phụ thuộc vào câu hỏi loại scale hoặc choice, còn “%(code)s” thì "
                                       "không", code=code)))
            continue
        if not isinstance(offered, list):
            continue  # the target's own problem is already reported
        choices = {point.get("value") for point in offered if isinstance(point, dict)}
        problems += [(where, _l("giá trị %(value)d không có trong các lựa chọn của “%(code)s”", value=value, code=code))
                     for value in sorted(set(values)) if value not in choices]
    return problems


def _check_kind(kind: object, sections: list[tuple[Location, dict]]) -> list[tuple[Location, Message]]:
    """Check the sections each instrument kind needs: SIPAS elements, or exactly one dossier rating."""
    problems = []
    if kind == "sipas":
        if not any(section.get("kind") == "element" for _, section in sections):
            problems.append((("sections",), _l("phiếu loại sipas cần ít nhất một phần loại element (yếu tố dịch vụ)")))
        problems += [(location + ("kind",), _l("phiếu loại sipas không dùng phần loại rating"))
                     for location, section in sections if section.get("kind") == "rating"]
    elif kind == "dossier":
        ratings = [(location, section) for location, section in sections if section.get("kind") == "rating"]
        if len(ratings) != 1:
            problems.append((("sections",), _l("phiếu loại dossier cần đúng một phần loại rating, hiện có %(n)d",
                                               n=len(ratings))))
        for location, section in ratings:
            count = sum(item.get("type") == "scale" for _, item in _raw_items(location, section))
            if count != 1:
                problems.append((location, _l("phần loại rating cần đúng một câu hỏi thang đo, hiện có %(n)d",
                                              n=count)))
        problems += [(location + ("kind",), _l("phiếu loại dossier không dùng phần loại element"))
                     for location, section in sections if section.get("kind") == "element"]
    return problems


def _check_points(points: object, location: Location, low: int) -> list[tuple[Location, Message]]:
    """Check a list of scale points (low = 1, since 0 means missing) or of options (low = 0): at least two, and no
    value twice (the second is reported, naming the first)."""
    if not isinstance(points, list):
        return []  # reported by the shape
    problems = []
    if len(points) < 2:
        problems.append((location, _l("cần ít nhất 2 lựa chọn, hiện có %(n)d", n=len(points))))
    first: dict[int, Location] = {}
    for index, point in enumerate(points):
        value = point.get("value") if isinstance(point, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 255:
            continue
        here = location + (index,)
        if value in first:
            problems.append((here + ("value",), _l("giá trị %(value)d bị trùng (đã dùng ở %(first)s)", value=value,
                                                   first=path_text(first[value]))))
        first.setdefault(value, here)
    return problems


def _check_structure(top: dict, clean: Callable[[Location], bool]) -> tuple[list[tuple[Location, Message]],
                                                                             list[Location]]:
    """Check the rules that span the file: item keys by type, unique codes, conditions, counts, the instrument
    kind, scales declared but unused, satisfied values on the scales. ``clean`` tells whether a part of the file
    passed the shape checks. Return the problems and the misplaced item keys."""
    raw_scales = top.get("scales") if isinstance(top.get("scales"), dict) else {}
    sections = _raw_sections(top)
    items = [(location, item) for section_location, section in sections
             for location, item in _raw_items(section_location, section)]
    points = [problem for name, entries in raw_scales.items()
              for problem in _check_points(entries, ("scales", name), 1)]
    points += [problem for location, item in items if item.get("type") in ("choice", "multi")
               for problem in _check_points(item.get("options"), location + ("options",), 0)]
    refused = {location for location, _ in points}

    def valid(location: Location) -> bool:
        return clean(location) and not any(place[:len(location)] == location for place in refused)

    declared = {name for name in raw_scales if isinstance(name, str)}
    scales = {name: entries for name, entries in raw_scales.items()
              if isinstance(name, str) and valid(("scales", name))}
    problems, misplaced = _check_item_keys(items, declared, valid)
    problems += points
    problems += _check_unique(sections, "section") + _check_unique(items, "item")
    problems += _check_conditions(items, scales)
    scale_items = [(location, item) for location, item in items if item.get("type") == "scale"]
    if len(scale_items) > MAX_SCALE_ITEMS:
        problems.append((("sections",), _l("có %(n)d câu hỏi thang đo, tối đa %(max)d", n=len(scale_items),
                                          max=MAX_SCALE_ITEMS)))
    problems += [(location, _l("phần loại element (yếu tố) phải có ít nhất một câu hỏi thang đo (tiêu chí)"))
                 for location, section in sections if section.get("kind") == "element"
                 and not any(item.get("type") == "scale" for _, item in _raw_items(location, section))]
    problems += _check_kind(top.get("kind"), sections)
    used = list(dict.fromkeys(name for _, item in scale_items if (name := _text_value_of(item, "scale")) in scales))
    problems += [(("scales", name), _l("thang đo “%(name)s” được khai báo nhưng không câu hỏi nào dùng", name=name))
                 for name in scales if name not in used]
    aggregation = top.get("aggregation")
    satisfied = aggregation.get("satisfied") if isinstance(aggregation, dict) else None
    if _is_value_list(satisfied) and clean(("aggregation",)):
        for name in used:
            values = {point["value"] for point in scales[name]}
            missing = [value for value in sorted(set(satisfied)) if value not in values]
            if missing:
                problems.append((("aggregation", "satisfied"), _l(
                    "giá trị %(values)s không có trong thang đo “%(name)s”",
                    values=", ".join(str(value) for value in missing), name=name)))
    return problems, misplaced


# --- reading ---------------------------------------------------------------------------------------------------------


def parse_instrument(data: object, source: str = "<data>") -> Instrument:
    """Validate already-loaded YAML data and build the instrument; raise Rejected listing every problem."""
    shape, problems = shape_problems(InstrumentFile, data, _WORDING, _unexpected)
    if isinstance(data, dict):
        refused = {found.location for found in problems}

        def clean(location: Location) -> bool:
            return not any(place[:len(location)] == location for place in refused)

        rules, misplaced = _check_structure(data, clean)
        problems = [found for found in problems if not any(found.location[:len(key)] == key for key in misplaced)]
        problems += [Located(location, message) for location, message in rules]
    if problems:
        raise refusal(InstrumentFile, problems, source)
    return _build(_canonical(shape))


def load_instrument(path: str | os.PathLike) -> Instrument:
    """Read a UTF-8 YAML instrument file and parse it; raise Rejected listing every problem."""
    return parse_instrument(read_yaml_file(os.fspath(path)), os.fspath(path))


def instrument_from_definition(definition: dict) -> Instrument:
    """Rebuild an instrument from its stored canonical definition, without validating it again.

    A published definition must load forever, even after the validator becomes stricter, so it is trusted.
    """
    return _build(json.loads(_canonical_json(definition)))


def _canonical(shape: InstrumentFile) -> dict:
    """Return the definition a checksum is taken of: every default filled in, texts as cleaned, lists sorted."""
    def points(entries: list[BaseModel]) -> list[dict]:
        return [{"value": point.value, "label": point.label} for point in entries]

    def item(entry: ItemEntry) -> dict:
        canonical: dict[str, Any] = {"required": entry.required, "help": entry.help, "required_if": None,
                                     "code": entry.code, "type": entry.type, "text": entry.text}
        if entry.required_if is not None:
            canonical["required_if"] = [entry.required_if[0], sorted(set(entry.required_if[1]))]
        if entry.type == "scale":
            canonical["scale"] = entry.scale
        if entry.type in ("choice", "multi"):
            canonical["options"] = points(entry.options)
        if entry.type == "multi":
            canonical["max_choices"] = entry.max_choices if entry.max_choices is not None else len(entry.options)
        if entry.type == "text":
            canonical["max_length"] = entry.max_length if entry.max_length is not None else DEFAULT_MAX_LENGTH
        return canonical

    rules = shape.aggregation
    return {
        "code": shape.code, "version": shape.version, "kind": shape.kind, "title": shape.title, "intro": shape.intro,
        "scales": {name: points(entries) for name, entries in shape.scales.items()},
        "sections": [{"code": section.code, "kind": section.kind, "title": section.title,
                      "items": [item(entry) for entry in section.items]} for section in shape.sections],
        "aggregation": {"satisfied": sorted(set(rules.satisfied)), "element_rule": rules.element_rule,
                        "overall_rule": rules.overall_rule, "unit_rule": rules.unit_rule, "min_n": rules.min_n},
    }
