"""Parse and validate a contest definition (YAML, or the organiser's form) into frozen dataclasses; no database.

The shape of a definition is the pydantic model ``ContestFile``. Every problem is reported at once, in the organiser's
language, with the path of the offending value (``rounds[1].draw.mode``). Times are written in the contest's local
zone ("2026-03-02 10:00", Asia/Ho_Chi_Minh) and become aware UTC datetimes.
The canonical definition (defaults filled in, times as local text) is what the database stores and what
``flask contests load`` reads back, so a contest is reproducible from its file. The format is shown by
``app/contests/examples/cchc-2026.yaml``.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, StrictBool, StrictInt,
                      ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator, model_validator)

from app import cache
from app.contests.draw import BlueprintPart, DrawRule
from app.stats.ranking import CRITERIA, PREDICTION_TARGETS, PRESETS, PrizeTier
from app.validation import (Message, Problem, Refusal, Rejected, Wording, describe, quoted, read_yaml, refusal,
                            refuse_parts, refuse_with, shape_problems)

if TYPE_CHECKING:
    from app.contests.models import Contest, Round

MAX_ROUNDS = 60
MAX_QUESTIONS = 200
SHOW_CORRECT = ("never", "after_round_close", "immediately")
WHICH_COUNTS = ("best", "first", "last")
DRAW_MODES = ("random", "blueprint")
LEADERBOARD_VISIBILITY = ("hidden", "top_n", "public")
CCCD_MODES = ("off", "optional", "required")
OVERALL_AGGREGATIONS = ("sum_of_round_scores", "best_round")
CERTIFICATE_AWARDS = ("winners", "completers", "threshold")
#: The document's title: "GIẤY CHỨNG NHẬN" (certificate) or "GIẤY KHEN" (commendation).
CERTIFICATE_TITLES = ("giay_chung_nhan", "giay_khen")
#: Paths under /thi/ that are pages, not contests.
RESERVED_SLUGS = frozenset({"chung-nhan", "static", "api", "moi", "nap", "ngan-hang", "mau"})

DEFAULT_CONSENT = (
    "Tôi đồng ý để Ban Tổ chức xử lý dữ liệu cá nhân (họ tên, ngày sinh, số điện thoại, đơn vị, số CCCD nếu khai) "
    "chỉ nhằm tổ chức cuộc thi, xác minh và trao giải, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân."
)
DEFAULT_PREDICTION_QUESTION = {
    "persons_full_marks": "Dự đoán: có bao nhiêu người trả lời đúng tất cả các câu hỏi của vòng thi này?",
    "attempts_full_marks": "Dự đoán: có bao nhiêu lượt thi trả lời đúng tất cả các câu hỏi của vòng thi này?",
    "persons_participating": "Dự đoán: có bao nhiêu người tham gia vòng thi này?",
    "attempts_participating": "Dự đoán: có bao nhiêu lượt tham gia vòng thi này?",
    "percent_persons_full_marks": "Dự đoán: bao nhiêu phần trăm người dự thi trả lời đúng tất cả các câu hỏi "
                                  "của vòng thi này (ghi tối đa 5 chữ số thập phân)?",
}

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LOCAL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?")
_TIME_FORMAT = "%Y-%m-%d %H:%M"

@dataclass(frozen=True)
class Group:
    """An audience group (đối tượng dự thi)."""

    code: str
    name: str


#: The one audience group of a contest that declares none.
DEFAULT_GROUP = Group("chung", "Tất cả người dự thi")


@dataclass(frozen=True)
class Registration:
    """Registration rules (contest.md §5.2)."""

    min_age: int | None
    max_age: int | None
    cccd: str
    consent_text: str
    retention_days: int


@dataclass(frozen=True)
class Leaderboard:
    """What the public sees before results are published (contest.md §5.5)."""

    visibility: str
    top_n: int
    freeze_minutes: int


@dataclass(frozen=True)
class RankingRule:
    """Ordered ranking criteria (contest.md §5.5)."""

    criteria: tuple[str, ...]
    prefer_under: bool


@dataclass(frozen=True)
class Prediction:
    """The tie-break question collected with the attempt (contest.md §5.4)."""

    enabled: bool
    required: bool
    target: str
    question: str
    max_value: float
    decimals: int


@dataclass(frozen=True)
class Collective:
    """Unit prizes by participation rate against headcount (contest.md §5.6)."""

    enabled: bool
    min_rate: float
    split_by_block: bool
    points: dict[str, float]
    prizes: tuple[PrizeTier, ...]


@dataclass(frozen=True)
class Certificate:
    """Who receives a certificate."""

    awarded_to: str
    min_score_percent: float
    #: The signer's title (e.g. "TRƯỞNG BAN TỔ CHỨC", "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH").
    signer: str
    title: str = "giay_chung_nhan"
    #: The signer's name under the signature; empty leaves the space blank.
    signer_name: str = ""
    #: The issuing body and the body above it (top-left block); empty = the organising unit's name.
    issuer: str = ""
    issuer_parent: str = ""
    #: The place written before the date ("An Khang, ngày … tháng … năm …").
    place: str = ""


@dataclass(frozen=True)
class RoundSpec:
    """One round (đợt / tuần)."""

    number: int
    name: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    bank: str
    question_count: int
    draw: DrawRule
    time_limit_seconds: int
    attempts_allowed: int
    counts: str
    shuffle_questions: bool
    shuffle_options: bool
    show_correct: str
    grace_seconds: int
    audience_groups: tuple[str, ...] | None
    prediction: Prediction
    #: Prize tables by group for this round; None = the contest's round prize tables.
    prizes: dict[str, tuple[PrizeTier, ...]] | None
    definition: dict


@dataclass(frozen=True)
class ContestSpec:
    """A validated contest definition."""

    slug: str
    title: str
    unit: str
    legal_basis: str
    rules: str
    groups: tuple[Group, ...]
    registration: Registration
    leaderboard: Leaderboard
    ranking: RankingRule
    round_prizes: dict[str, tuple[PrizeTier, ...]]
    overall_prizes: dict[str, tuple[PrizeTier, ...]]
    overall_aggregation: str
    collective: Collective
    certificate: Certificate
    rounds: tuple[RoundSpec, ...]
    definition: dict

    def group(self, code: str) -> Group | None:
        """Return the audience group with this code."""
        return next((group for group in self.groups if group.code == code), None)

    def prizes_for_round(self, round_spec: RoundSpec) -> dict[str, tuple[PrizeTier, ...]]:
        """Return the prize tables by group that apply to a round."""
        return round_spec.prizes if round_spec.prizes is not None else self.round_prizes


def load_contest_file(data: bytes, zone: ZoneInfo, source: str = "") -> ContestSpec:
    """Read UTF-8 YAML bytes and parse the contest; raise Rejected listing every problem."""
    return parse_contest(read_yaml(data, source), zone)


def dump_definition(definition: dict) -> str:
    """Return a definition as YAML text (what the organiser edits and `flask contests load` reads)."""
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=110)


def parse_contest(data: object, zone: ZoneInfo) -> ContestSpec:
    """Validate loaded YAML (or an equivalent dict) and build the spec; raise Rejected listing every problem."""
    if not isinstance(data, dict):
        raise Rejected([Problem(_l("tệp phải là một bảng khoá: giá trị (slug, title, unit, rounds …)"))])
    shape, problems = shape_problems(ContestFile, data, _WORDING, _unexpected,
                                     context={"zone": zone, "groups": _declared_groups(data)})
    if problems:
        raise refusal(ContestFile, problems)
    return _build(shape, zone)


def contest_spec(contest: Contest, zone: ZoneInfo) -> ContestSpec:
    """Return the parsed definition of a stored contest (cached until the contest changes: its key is the change)."""
    key = (contest.id, contest.updated_at, str(zone))
    return cache.contest_definitions.get_or_compute(key, lambda: parse_contest(contest.definition, zone))


def round_spec(contest: Contest, round_: Round, zone: ZoneInfo) -> RoundSpec:
    """Return the spec of one round of a stored contest."""
    return contest_spec(contest, zone).rounds[round_.number - 1]


def local_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    """Return a UTC moment as the local "YYYY-MM-DD HH:MM" text of definitions."""
    return moment.astimezone(zone).strftime(_TIME_FORMAT)


# --- the shape of a definition ---------------------------------------------------------------------------------------
#
# Every key may be left out or written as null: it then takes its default (or is refused when it has none), so every
# field defaults to None and its validator supplies the real default. A rule between two keys of one part is checked
# by the later key's validator, which reads the earlier one (``info.data``: present when it was valid); the zone of
# the times and the audience groups the file declares are the validation's context.


def _plain_text(value: object) -> str | None:
    """Return a value usable as text (a string or a number) as NFC text without surrounding space; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return unicodedata.normalize("NFC", str(value)).strip()


def _text(max_length: int, *, required: bool = False) -> object:
    def check(value: object) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                refuse_with(_l("bắt buộc, không được để trống"))
            return ""
        text = _plain_text(value)
        if text is None:
            refuse_with(_l("phải là văn bản"))
        if len(text) > max_length:
            refuse_with(_l("dài quá %(n)d ký tự", n=max_length))
        return text
    return Annotated[Any, AfterValidator(check)]


def _absent_is(default: object) -> BeforeValidator:
    """Let an absent (or null) value take ``default``; refuse it when there is none (the key is required)."""
    def check(value: object) -> object:
        if value is None:
            if default is None:
                refuse_with(_l("bắt buộc"))
            return default
        return value
    return BeforeValidator(check)


def _between(low: float, high: float) -> AfterValidator:
    def check(value: float | None) -> float | None:
        if value is not None and not low <= value <= high:
            refuse_with(_l("phải từ %(low)s đến %(high)s", low=f"{low:g}", high=f"{high:g}"))
        return value
    return AfterValidator(check)


def _integer(low: int, high: int, default: int | None = None) -> object:
    """A whole number from low to high; without a default the key is required."""
    return Annotated[StrictInt, _absent_is(default), _between(low, high)]


def _optional_integer(low: int, high: int) -> object:
    """A whole number from low to high, or None when left out."""
    return Annotated[StrictInt | None, _between(low, high)]


def _number(low: float, high: float, default: float | None) -> object:
    """A number (whole or not, kept as a float) from low to high; None as default keeps it None when left out."""
    if default is None:
        return Annotated[Annotated[float, Strict()] | None, _between(low, high)]
    return Annotated[float, Strict(), _absent_is(default), _between(low, high)]


def _flag(default: bool) -> object:
    return Annotated[StrictBool, _absent_is(default)]


def _choice(choices: tuple[str, ...], default: str) -> object:
    def check(value: object) -> str:
        if value is None:
            return default
        if value not in choices:
            refuse_with(_l("“%(value)s” không hợp lệ; chọn một trong: %(choices)s", value=quoted(value),
                           choices=", ".join(choices)))
        return str(value)
    return Annotated[Any, AfterValidator(check)]


def _section(value: object) -> object:
    """A part of the definition left out (or null) takes every default."""
    return {} if value is None else value


def _list_of(message: LazyString, *, empty: bool = True) -> BeforeValidator:
    def check(value: object) -> object:
        if not isinstance(value, list) or (not value and not empty):
            refuse_with(message)
        return value
    return BeforeValidator(check)


def _mapping_of(message: LazyString) -> BeforeValidator:
    def check(value: object) -> object:
        if value is not None and not isinstance(value, dict):
            refuse_with(message)
        return value
    return BeforeValidator(check)


def _moment(value: object, info: ValidationInfo) -> dt.datetime:
    """Read a local time of the contest's zone ("2026-03-02 10:00", or a YAML timestamp) as an aware UTC time."""
    zone = info.context["zone"]
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
        return moment.astimezone(dt.timezone.utc)
    match = _LOCAL_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        refuse_with(_l("phải là thời điểm dạng “2026-03-02 10:00” (giờ Việt Nam)"))
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        local = dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        refuse_with(_l("ngày giờ không tồn tại"))
    return local.astimezone(dt.timezone.utc)


def _codes(value: object, known: set[str] | None = None) -> tuple[str, ...] | None:
    """Read a non-empty list of codes without repeats (each one of ``known``, when given); None when left out."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        refuse_with(_l("phải là danh sách không rỗng"))
    codes = tuple(str(item) for item in value)
    refusals = [Refusal.stated((index,), _l("“%(code)s” không có trong danh sách đối tượng dự thi", code=code))
                for index, code in enumerate(codes) if known is not None and code not in known]
    if len(set(codes)) != len(codes):
        refusals.append(Refusal.stated((), _l("có mã bị lặp lại")))
    refuse_parts(refusals)
    return codes


def _audience(value: object, info: ValidationInfo) -> tuple[str, ...] | None:
    return _codes(value, info.context["groups"])


def _declared_groups(data: dict) -> set[str]:
    """Return the audience group codes a definition declares (valid or not), which its rounds and prizes may name."""
    declared = data.get("audience_groups")
    if declared is None:
        return {DEFAULT_GROUP.code}
    if not isinstance(declared, list):
        return set()
    return {code for item in declared if isinstance(item, dict) and (code := _plain_text(item.get("code")))}


def _known_group(code: object, info: ValidationInfo) -> str:
    if str(code) not in info.context["groups"]:
        refuse_with(_l("không có đối tượng dự thi với mã này"))
    return str(code)


def _slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug) or slug in RESERVED_SLUGS:
        refuse_with(_l("chỉ dùng chữ thường không dấu, chữ số và dấu gạch ngang (vd. cchc-2026)"))
    return slug


def _group_code(code: str) -> str:
    if not _CODE.fullmatch(code):
        refuse_with(_l("dùng chữ thường không dấu, chữ số và “_” (vd. cbccvc)"))
    return code


def _same_zone(value: object, info: ValidationInfo) -> str:
    zone = str(info.context["zone"])
    if value not in (None, zone):
        refuse_with(_l("thời gian trong tệp phải theo múi giờ %(zone)s", zone=zone))
    return zone


_STRICT = ConfigDict(extra="forbid", validate_default=True)


class TierEntry(BaseModel):
    """A line of a prize table: ``count`` prizes called ``label`` worth ``amount``."""

    model_config = _STRICT
    label: _text(100, required=True) = None
    count: _integer(1, 10_000) = None
    amount: _number(0, 1e12, 0.0) = None


def _descending(tiers: list[TierEntry]) -> list[TierEntry]:
    amounts = [tier.amount for tier in tiers]
    if amounts != sorted(amounts, reverse=True):
        refuse_with(_l("các giải phải xếp từ giá trị cao xuống thấp"))
    return tiers


Tiers = Annotated[list[TierEntry], _list_of(_l("phải là danh sách giải (label, count, amount)")),
                  AfterValidator(_descending)]
#: Prize tables by audience group.
PrizeTables = Annotated[dict[Annotated[Any, AfterValidator(_known_group)], Tiers],
                        _mapping_of(_l("phải là bảng: mã đối tượng → danh sách giải"))]


class GroupEntry(BaseModel):
    """An audience group: its code and name."""

    model_config = _STRICT
    code: Annotated[_text(32, required=True), AfterValidator(_group_code)] = None
    name: _text(200, required=True) = None


def _groups_or_default(value: object) -> object:
    if value is None:
        return [{"code": DEFAULT_GROUP.code, "name": DEFAULT_GROUP.name}]
    if not isinstance(value, list) or not value:
        refuse_with(_l("phải là danh sách các đối tượng (code, name)"))
    return value


def _distinct_groups(groups: list[GroupEntry]) -> list[GroupEntry]:
    if len({group.code for group in groups}) != len(groups):
        refuse_with(_l("có mã đối tượng bị lặp lại"))
    return groups


def _not_below_min_age(max_age: int | None, info: ValidationInfo) -> int | None:
    min_age = info.data.get("min_age")
    if max_age is not None and min_age is not None and max_age < min_age:
        refuse_with(_l("phải không nhỏ hơn tuổi tối thiểu (min_age)"))
    return max_age


class RegistrationEntry(BaseModel):
    """Who may register and what they consent to."""

    model_config = _STRICT
    min_age: _optional_integer(0, 120) = None
    max_age: Annotated[_optional_integer(0, 150), AfterValidator(_not_below_min_age)] = None
    cccd: _choice(CCCD_MODES, "optional") = None
    consent_text: _text(3000) = None
    retention_days: _integer(1, 3650, 180) = None


class LeaderboardEntry(BaseModel):
    """What the public sees before results are published."""

    model_config = _STRICT
    visibility: _choice(LEADERBOARD_VISIBILITY, "hidden") = None
    top_n: _integer(1, 1000, 10) = None
    freeze_minutes: _integer(0, 60 * 24 * 30, 0) = None


def _criteria(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        refuse_with(_l("phải là danh sách tiêu chí trong: %(criteria)s", criteria=", ".join(CRITERIA)))
    criteria = tuple(str(item) for item in value)
    refusals = [Refusal.stated((index,), _l("“%(name)s” không hợp lệ; dùng: %(criteria)s", name=quoted(name),
                                            criteria=", ".join(CRITERIA)))
                for index, name in enumerate(criteria) if name not in CRITERIA]
    if len(set(criteria)) != len(criteria):
        refusals.append(Refusal.stated((), _l("có tiêu chí bị lặp lại")))
    if criteria[0] != "score":
        refusals.append(Refusal.stated((), _l("tiêu chí đầu tiên phải là score (điểm)")))
    refuse_parts(refusals)
    return criteria


def _preset(value: object, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    if info.data.get("criteria") is not None:
        refuse_with(_l("chỉ ghi một trong hai: preset hoặc criteria"))
    if value not in tuple(PRESETS):
        refuse_with(_l("“%(value)s” không hợp lệ; chọn một trong: %(choices)s", value=quoted(value),
                       choices=", ".join(PRESETS)))
    return str(value)


def _needs_prediction_distance(prefer_under: bool, info: ValidationInfo) -> bool:
    if prefer_under and "criteria" in info.data and "preset" in info.data \
            and "prediction_distance" not in _ranking_criteria(info.data["criteria"], info.data["preset"]):
        refuse_with(_l("chỉ dùng khi có tiêu chí prediction_distance"))
    return prefer_under


def _ranking_criteria(criteria: tuple[str, ...] | None, preset: str | None) -> tuple[str, ...]:
    return criteria if criteria is not None else PRESETS[preset or "default"]


class RankingEntry(BaseModel):
    """The ranking criteria: a list of its own, or a preset."""

    model_config = _STRICT
    criteria: Annotated[Any, AfterValidator(_criteria)] = None
    preset: Annotated[Any, AfterValidator(_preset)] = None
    prefer_under: Annotated[_flag(False), AfterValidator(_needs_prediction_distance)] = None


class PrizesEntry(BaseModel):
    """The prize tables of every round and of the whole contest."""

    model_config = _STRICT
    round: PrizeTables | None = None
    overall: PrizeTables | None = None
    overall_aggregation: _choice(OVERALL_AGGREGATIONS, "sum_of_round_scores") = None


def _switched_off(value: object) -> object:
    """Collective prizes left out (or null) are switched off; a collective part written at all is on by default."""
    return {"enabled": False} if value is None else value


class CollectiveEntry(BaseModel):
    """Unit prizes by participation rate."""

    model_config = _STRICT
    points: Annotated[dict[Annotated[Any, AfterValidator(str)], _number(0, 1000, 0.0)],
                      _mapping_of(_l("phải là bảng: tên giải → điểm")), BeforeValidator(_section)] = None
    enabled: _flag(True) = None
    min_rate: _number(0, 100, 70.0) = None
    split_by_block: _flag(True) = None
    prizes: Tiers | None = None


class CertificateEntry(BaseModel):
    """Who receives a certificate, and who signs it."""

    model_config = _STRICT
    awarded_to: _choice(CERTIFICATE_AWARDS, "winners") = None
    min_score_percent: _number(0, 100, 80.0) = None
    signer: _text(200) = None
    title: _choice(CERTIFICATE_TITLES, "giay_chung_nhan") = None
    signer_name: _text(200) = None
    issuer: _text(200) = None
    issuer_parent: _text(200) = None
    place: _text(100) = None


def _difficulty(value: object) -> object:
    if value is not None and value not in (1, 2, 3):
        refuse_with(_l("phải là 1, 2 hoặc 3"))
    return value


class BlueprintEntry(BaseModel):
    """A part of a blueprint draw: ``count`` questions of a topic and/or a difficulty."""

    model_config = _STRICT
    topic: Annotated[Any, AfterValidator(lambda topic: None if topic is None else str(topic))] = None
    difficulty: Annotated[Any, AfterValidator(_difficulty)] = None
    count: _integer(1, MAX_QUESTIONS) = None

    @model_validator(mode="after")
    def _names_its_questions(self) -> BlueprintEntry:
        if self.topic is None and self.difficulty is None:
            refuse_with(_l("cần topic hoặc difficulty"))
        return self


def _difficulties(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or any(item not in (1, 2, 3) for item in value):
        refuse_with(_l("phải là danh sách các mức độ 1, 2, 3"))
    return tuple(sorted(set(value)))


def _blueprint_for_mode(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
    """A blueprint is what a blueprint draw needs, and nothing the other modes use."""
    if info.data.get("mode", "random") != "blueprint":
        if value is not None:
            refuse_with(_l("chỉ dùng khi mode: blueprint"))
        return None
    if not isinstance(value, list) or not value:
        refuse_with(_l("chế độ blueprint cần danh sách phần (topic/difficulty, count)"))
    return handler(value)


class DrawEntry(BaseModel):
    """Which questions a round draws."""

    model_config = _STRICT
    mode: _choice(DRAW_MODES, "random") = None
    topics: Annotated[Any, AfterValidator(_codes)] = None
    difficulties: Annotated[Any, AfterValidator(_difficulties)] = None
    blueprint: Annotated[list[BlueprintEntry] | None, WrapValidator(_blueprint_for_mode)] = None


def _prediction_on(required: bool, info: ValidationInfo) -> bool:
    if required and info.data.get("enabled") is False:
        refuse_with(_l("câu dự đoán đang tắt (enabled: false)"))
    return required


class PredictionEntry(BaseModel):
    """The tie-break question of a round."""

    model_config = _STRICT
    target: _choice(PREDICTION_TARGETS, "persons_full_marks") = None
    enabled: _flag(True) = None
    required: Annotated[_flag(False), AfterValidator(_prediction_on)] = None
    question: _text(500) = None
    #: Left out, these two depend on the target (a percentage or a count).
    max_value: _number(0, 1e12, None) = None
    decimals: _optional_integer(0, 9) = None


def _after_opening(closes_at: dt.datetime, info: ValidationInfo) -> dt.datetime:
    opens_at = info.data.get("opens_at")
    if opens_at is not None and closes_at <= opens_at:
        refuse_with(_l("phải sau thời điểm mở (opens_at)"))
    return closes_at


def _one_time_limit(seconds: int | None, info: ValidationInfo) -> int | None:
    if seconds is not None and info.data.get("time_limit_minutes") is not None:
        refuse_with(_l("chỉ ghi một trong hai: time_limit_minutes hoặc time_limit_seconds"))
    return seconds


def _blueprint_fits(draw: DrawEntry, info: ValidationInfo) -> DrawEntry:
    count = info.data.get("question_count")
    if count is not None and draw.blueprint and sum(part.count for part in draw.blueprint) > count:
        refuse_parts([Refusal.stated(("blueprint",), _l("tổng số câu các phần vượt quá số câu mỗi lượt (%(n)d)",
                                                        n=count))])
    return draw


def _round_mapping(value: object) -> object:
    if not isinstance(value, dict) or not value:
        refuse_with(_l("mỗi vòng thi là một bảng khoá: giá trị (name, opens_at, closes_at, bank …)"))
    return value


class RoundEntry(BaseModel):
    """A round, its keys in the order their problems are reported."""

    model_config = _STRICT
    opens_at: Annotated[Any, AfterValidator(_moment)] = None
    closes_at: Annotated[Any, AfterValidator(_moment), AfterValidator(_after_opening)] = None
    question_count: _integer(1, MAX_QUESTIONS) = None
    time_limit_minutes: _optional_integer(0, 1440) = None
    time_limit_seconds: Annotated[_optional_integer(0, 86_400), AfterValidator(_one_time_limit)] = None
    draw: Annotated[DrawEntry, BeforeValidator(_section), AfterValidator(_blueprint_fits)] = None
    audience_groups: Annotated[Any, AfterValidator(_audience)] = None
    prediction: Annotated[PredictionEntry, BeforeValidator(_section)] = None
    prizes: PrizeTables | None = None
    attempts_allowed: _integer(0, 100, 1) = None
    name: _text(200) = None
    bank: _text(64, required=True) = None
    counts: _choice(WHICH_COUNTS, "best") = None
    shuffle_questions: _flag(True) = None
    shuffle_options: _flag(True) = None
    show_correct: _choice(SHOW_CORRECT, "after_round_close") = None
    grace_seconds: _integer(0, 600, 10) = None


def _rounds(value: object) -> object:
    if not isinstance(value, list) or not value:
        refuse_with(_l("cần ít nhất một vòng thi"))
    if len(value) > MAX_ROUNDS:
        refuse_with(_l("tối đa %(n)d vòng", n=MAX_ROUNDS))
    return value


class ContestFile(BaseModel):
    """A contest definition, its keys in the order their problems are reported (the format of
    ``app/contests/examples/cchc-2026.yaml``)."""

    model_config = _STRICT
    slug: Annotated[_text(64, required=True), AfterValidator(_slug)] = None
    timezone: Annotated[Any, AfterValidator(_same_zone)] = None
    audience_groups: Annotated[list[GroupEntry], BeforeValidator(_groups_or_default),
                               AfterValidator(_distinct_groups)] = None
    registration: Annotated[RegistrationEntry, BeforeValidator(_section)] = None
    leaderboard: Annotated[LeaderboardEntry, BeforeValidator(_section)] = None
    ranking: Annotated[RankingEntry, BeforeValidator(_section)] = None
    prizes: Annotated[PrizesEntry, BeforeValidator(_section)] = None
    collective: Annotated[CollectiveEntry, BeforeValidator(_switched_off)] = None
    certificate: Annotated[CertificateEntry, BeforeValidator(_section)] = None
    rounds: Annotated[list[Annotated[RoundEntry, BeforeValidator(_round_mapping)]], BeforeValidator(_rounds)] = None
    title: _text(300, required=True) = None
    unit: _text(32, required=True) = None
    legal_basis: _text(2000) = None
    rules: _text(50_000) = None


_WORDING: dict[str, Wording] = {
    "extra_forbidden": lambda error: _l("khoá không được hỗ trợ"),
    "model_type": lambda error: _l("phải là một bảng khoá: giá trị"),
    "model_attributes_type": lambda error: _l("phải là một bảng khoá: giá trị"),
    "int_type": lambda error: _l("phải là số nguyên"),
    "float_type": lambda error: _l("phải là số"),
    "bool_type": lambda error: _l("phải là true hoặc false"),
}


def _unexpected(error: dict) -> Message:
    return _l("giá trị %(value)s không hợp lệ", value=describe(error.get("input")))


# --- the spec and its canonical definition ---------------------------------------------------------------------------


def _tiers(entries: list[TierEntry] | None) -> tuple[PrizeTier, ...]:
    return tuple(PrizeTier(label=tier.label, count=tier.count, value=tier.amount) for tier in entries or ())


def _tables(tables: dict[str, list[TierEntry]] | None) -> dict[str, tuple[PrizeTier, ...]]:
    return {group: _tiers(entries) for group, entries in (tables or {}).items()}


def _prediction(entry: PredictionEntry) -> Prediction:
    percent = entry.target.startswith("percent")
    return Prediction(
        enabled=entry.enabled,
        required=entry.required,
        target=entry.target,
        question=entry.question or DEFAULT_PREDICTION_QUESTION[entry.target],
        max_value=entry.max_value if entry.max_value is not None else (100.0 if percent else 10_000_000.0),
        decimals=entry.decimals if entry.decimals is not None else (5 if percent else 0),
    )


def _round(entry: RoundEntry, number: int, zone: ZoneInfo) -> RoundSpec:
    parts = tuple(BlueprintPart(part.count, part.topic, part.difficulty) for part in entry.draw.blueprint or ())
    draw = DrawRule(entry.draw.mode, entry.draw.topics, entry.draw.difficulties, parts)
    if entry.time_limit_seconds is not None:
        limit = entry.time_limit_seconds
    else:
        limit = 60 * (entry.time_limit_minutes if entry.time_limit_minutes is not None else 15)
    prediction = _prediction(entry.prediction)
    prizes = _tables(entry.prizes) if entry.prizes is not None else None
    spec = dict(
        number=number, name=entry.name or f"Vòng {number}", opens_at=entry.opens_at, closes_at=entry.closes_at,
        bank=entry.bank, question_count=entry.question_count, draw=draw, time_limit_seconds=limit,
        attempts_allowed=entry.attempts_allowed, counts=entry.counts, shuffle_questions=entry.shuffle_questions,
        shuffle_options=entry.shuffle_options, show_correct=entry.show_correct, grace_seconds=entry.grace_seconds,
        audience_groups=entry.audience_groups, prediction=prediction, prizes=prizes,
    )
    definition = {
        "name": spec["name"],
        "opens_at": local_text(entry.opens_at, zone),
        "closes_at": local_text(entry.closes_at, zone),
        "bank": entry.bank,
        "question_count": entry.question_count,
        "draw": _draw_definition(draw),
        "time_limit_seconds": limit,
        "attempts_allowed": entry.attempts_allowed,
        "counts": entry.counts,
        "shuffle_questions": entry.shuffle_questions,
        "shuffle_options": entry.shuffle_options,
        "show_correct": entry.show_correct,
        "grace_seconds": entry.grace_seconds,
        "audience_groups": list(entry.audience_groups) if entry.audience_groups else None,
        "prediction": vars(prediction).copy(),
        "prizes": _tables_definition(prizes) if prizes is not None else None,
    }
    return RoundSpec(**spec, definition=definition)


def _build(shape: ContestFile, zone: ZoneInfo) -> ContestSpec:
    groups = tuple(Group(group.code, group.name) for group in shape.audience_groups)
    entry = shape.registration
    registration = Registration(min_age=entry.min_age, max_age=entry.max_age, cccd=entry.cccd,
                                consent_text=entry.consent_text or DEFAULT_CONSENT,
                                retention_days=entry.retention_days)
    leaderboard = Leaderboard(shape.leaderboard.visibility, shape.leaderboard.top_n, shape.leaderboard.freeze_minutes)
    ranking = RankingRule(_ranking_criteria(shape.ranking.criteria, shape.ranking.preset), shape.ranking.prefer_under)
    round_prizes, overall_prizes = _tables(shape.prizes.round), _tables(shape.prizes.overall)
    collective = Collective(enabled=shape.collective.enabled, min_rate=shape.collective.min_rate,
                            split_by_block=shape.collective.split_by_block, points=dict(shape.collective.points),
                            prizes=_tiers(shape.collective.prizes))
    certificate = Certificate(awarded_to=shape.certificate.awarded_to,
                              min_score_percent=shape.certificate.min_score_percent,
                              signer=shape.certificate.signer or "TRƯỞNG BAN TỔ CHỨC",
                              title=shape.certificate.title, signer_name=shape.certificate.signer_name or "",
                              issuer=shape.certificate.issuer or "", issuer_parent=shape.certificate.issuer_parent or "",
                              place=shape.certificate.place or "")
    rounds = tuple(_round(entry, index + 1, zone) for index, entry in enumerate(shape.rounds))
    definition = {
        "slug": shape.slug,
        "title": shape.title,
        "unit": shape.unit,
        "legal_basis": shape.legal_basis,
        "rules": shape.rules,
        "timezone": shape.timezone,
        "audience_groups": [{"code": group.code, "name": group.name} for group in groups],
        "registration": vars(registration).copy(),
        "leaderboard": vars(leaderboard).copy(),
        "ranking": {"criteria": list(ranking.criteria), "prefer_under": ranking.prefer_under},
        "prizes": {"round": _tables_definition(round_prizes), "overall": _tables_definition(overall_prizes),
                   "overall_aggregation": shape.prizes.overall_aggregation},
        "collective": _collective_definition(collective),
        "certificate": vars(certificate).copy(),
        "rounds": [round_spec.definition for round_spec in rounds],
    }
    return ContestSpec(
        slug=shape.slug, title=shape.title, unit=shape.unit, legal_basis=shape.legal_basis, rules=shape.rules,
        groups=groups, registration=registration, leaderboard=leaderboard, ranking=ranking,
        round_prizes=round_prizes, overall_prizes=overall_prizes, overall_aggregation=shape.prizes.overall_aggregation,
        collective=collective, certificate=certificate, rounds=rounds, definition=definition,
    )


def _draw_definition(rule: DrawRule) -> dict:
    return {
        "mode": rule.mode,
        "topics": list(rule.topics) if rule.topics else None,
        "difficulties": list(rule.difficulties) if rule.difficulties else None,
        "blueprint": [{"topic": p.topic, "difficulty": p.difficulty, "count": p.count} for p in rule.blueprint] or None,
    }


def _tables_definition(tables: dict[str, tuple[PrizeTier, ...]]) -> dict:
    return {group: [{"label": t.label, "count": t.count, "amount": t.value} for t in tiers]
            for group, tiers in tables.items()}


def _collective_definition(collective: Collective) -> dict:
    return {
        "enabled": collective.enabled,
        "min_rate": collective.min_rate,
        "split_by_block": collective.split_by_block,
        "points": dict(collective.points),
        "prizes": [{"label": t.label, "count": t.count, "amount": t.value} for t in collective.prizes],
    }

