"""The citizen form of a counter, compiled once from its instrument, and the validation of a submission.

Not WTForms on purpose: a SIPAS form has over a hundred radio inputs, and WTForms' per-option sub-fields make
rendering and validating it the most expensive part of a visit (reference/perf-baseline.md §1).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from app.surveys.instruments import Effort, Instrument, Item
from app.validation import Message, Rejected

#: Form fields that are not items: CSRF token, submission key, signed start time, service field, honeypot.
META_FIELDS = frozenset({"csrf_token", "k", "t", "field", "website"})
#: The honeypot: hidden from people by CSS, filled in by bots.
HONEYPOT = "website"
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}


def _invalid(errors: dict[str, Message]) -> Rejected:
    """Refuse a submission: each item code (or "field", "form") with its message, shown beside the question."""
    return Rejected.fields(errors, _l("Phiếu chưa hợp lệ. Vui lòng xem lại các câu được đánh dấu."), key="fields")


@dataclass(frozen=True)
class FieldChoice:
    """A service field offered on a counter's form."""

    id: int
    name: str
    name_en: str

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name


@dataclass(frozen=True)
class ValidAnswers:
    """A submission that passed validation, in the shape it is stored."""

    scores: bytes
    answers: dict
    texts: dict
    service_field_id: int | None


@dataclass(frozen=True)
class ResponseForm:
    """A counter's form: the instrument version and the service fields offered (or the one field already known, for a
    dossier link minted with it: then the citizen is not asked)."""

    instrument_version_id: int
    instrument: Instrument
    service_fields: tuple[FieldChoice, ...] = ()
    fixed_field_id: int | None = None
    _positions: dict = field(init=False, repr=False, compare=False)
    _known: frozenset = field(init=False, repr=False, compare=False)
    _allowed: dict = field(init=False, repr=False, compare=False)
    _offered: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compiled once per form, so validating a submission only looks things up.
        items = self.instrument.items
        object.__setattr__(self, "_positions", {item.code: i for i, item in enumerate(self.instrument.scale_items)})
        object.__setattr__(self, "_known", META_FIELDS | {item.code for item in items})
        allowed = {item.code: {str(choice.value): choice.value for choice in item.choices} for item in items}
        object.__setattr__(self, "_allowed", allowed)
        object.__setattr__(self, "_offered", {str(choice.id): choice.id for choice in self.service_fields})

    @property
    def effort(self) -> Effort:
        """Return what the form asks: the instrument's questions, and the service field when it is asked."""
        return self.instrument.effort(1 if self.service_fields else 0)

    def validate(self, data: Mapping[str, list[str]]) -> ValidAnswers:
        """Check every answer against the instrument; raise Rejected listing every problem, by item code."""
        unknown = sorted(set(data) - self._known)
        if unknown:
            raise _invalid({"form": _l("Phiếu có câu hỏi không thuộc biểu mẫu: %(codes)s",
                                       codes=", ".join(unknown)[:200])})
        errors: dict[str, str] = {}
        scores = bytearray(len(self._positions))
        answers: dict = {}
        texts: dict = {}
        chosen: dict[str, tuple[int, ...]] = {}
        for item in self.instrument.items:
            values = [v for v in data.get(item.code, []) if v != ""]
            problem, value = _check_item(item, values, self._allowed[item.code])
            if problem is None and item.required_if and value is None:
                other, triggering = item.required_if
                if set(chosen.get(other, ())) & set(triggering):
                    problem = _l("Vui lòng cho biết lý do.")
            if problem is not None:
                errors[item.code] = problem
                continue
            if value is None:
                continue
            if item.type == "scale":
                scores[self._positions[item.code]] = value
                chosen[item.code] = (value,)
            elif item.type == "choice":
                answers[item.code] = value
                chosen[item.code] = (value,)
            elif item.type == "multi":
                answers[item.code] = value
                chosen[item.code] = tuple(value)
            else:
                texts[item.code] = value
        service_field_id = self._check_service_field(data.get("field", []), errors)
        if errors:
            raise _invalid(errors)
        return ValidAnswers(bytes(scores), answers, texts, service_field_id)

    def _check_service_field(self, values: list[str], errors: dict[str, str]) -> int | None:
        if not self.service_fields:
            return self.fixed_field_id
        if len(values) != 1 or values[0] not in self._offered:
            errors["field"] = _l("Vui lòng chọn lĩnh vực thủ tục Ông/Bà vừa thực hiện.")
            return None
        return self._offered[values[0]]


def _check_item(item: Item, values: list[str], allowed: dict[str, int]) -> tuple[str | None, object]:
    """Return (problem, parsed value) for one item; value None means "not answered".

    `allowed` maps each choice's value as the form sends it ("4") to the stored value (4).
    """
    if not values:
        return (_l("Vui lòng trả lời câu này.") if item.required else None), None
    if item.type == "text":
        if len(values) > 1:
            return _l("Câu này chỉ nhận một câu trả lời."), None
        text = unicodedata.normalize("NFC", "".join(c for c in values[0] if c not in _CONTROL)).strip()
        if len(text) > (item.max_length or 1000):
            return _l("Nội dung dài quá %(limit)d ký tự.", limit=item.max_length or 1000), None
        if not text:
            return (_l("Vui lòng trả lời câu này.") if item.required else None), None
        return None, text
    if any(v not in allowed for v in values):
        return _l("Giá trị không hợp lệ cho câu này."), None
    if item.type == "multi":
        if len(set(values)) != len(values):
            # A browser sends each ticked box once: a repeat means a hand-made or tampered request.
            return _l("Mỗi phương án chỉ được chọn một lần."), None
        picked = sorted({allowed[v] for v in values})
        if item.max_choices and len(picked) > item.max_choices:
            return _l("Chọn tối đa %(limit)d phương án.", limit=item.max_choices), None
        return None, picked
    if len(values) > 1:
        return _l("Câu này chỉ chọn một phương án."), None
    return None, allowed[values[0]]
