"""Parse and validate a contest definition (YAML, or the organiser's form) into frozen dataclasses; no database.

Every problem is reported at once, in the organiser's language, with the path of the offending value
(``rounds[1].draw.mode``). Times are written in the contest's local zone ("2026-03-02 10:00", Asia/Ho_Chi_Minh) and
become aware UTC datetimes.
The canonical definition (defaults filled in, times as local text) is what the database stores and what
``flask contests load`` reads back, so a contest is reproducible from its file. The format is shown by
``app/contests/examples/cchc-2026.yaml``.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import yaml
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app import cache
from app.contests.draw import BlueprintPart, DrawRule
from app.stats.ranking import CRITERIA, PREDICTION_TARGETS, PRESETS, PrizeTier
from app.validation import Problem, Rejected, read_yaml

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
#: Paths under /thi/ that are pages, not contests.
RESERVED_SLUGS = frozenset({"chung-nhan", "static", "api", "moi", "nap", "ngan-hang", "mau"})

DEFAULT_CONSENT = (
    "Tôi đồng ý để Ban Tổ chức xử lý dữ liệu cá nhân (họ tên, ngày sinh, số điện thoại, đơn vị, số CCCD nếu khai) "
    "chỉ nhằm tổ chức cuộc thi, xác minh và trao giải, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân. "
    "Dữ liệu được xoá sau thời hạn lưu trữ ghi trong thể lệ."
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

_TOP_KEYS = {"slug", "title", "unit", "legal_basis", "rules", "audience_groups", "registration", "leaderboard",
             "ranking", "prizes", "collective", "certificate", "rounds", "timezone"}
_ROUND_KEYS = {"name", "opens_at", "closes_at", "bank", "question_count", "draw", "time_limit_minutes",
               "time_limit_seconds", "attempts_allowed", "counts", "shuffle_questions", "shuffle_options",
               "show_correct", "grace_seconds", "audience_groups", "prediction", "prizes"}


@dataclass(frozen=True)
class Group:
    """An audience group (đối tượng dự thi)."""

    code: str
    name: str


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
    signer: str


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
    checker = _Checker(zone)
    spec = checker.contest(data)
    if checker.problems:
        raise Rejected(checker.problems)
    # Narrows the type only: no problems means the checker built a spec.
    assert spec is not None  # nosec B101
    return spec


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


class _Checker:
    """Walks a definition, collecting problems and building the canonical form."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.problems: list[Problem] = []

    def fail(self, path: str, message: LazyString) -> None:
        self.problems.append(Problem(message, path=path))

    # --- scalars --------------------------------------------------------------------------------------------------

    def mapping(self, value: object, path: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, _l("phải là một bảng khoá: giá trị"))
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else str(key), _l("khoá không được hỗ trợ"))
        return value

    def text(self, value: object, path: str, *, required: bool = True, max_length: int = 300) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, _l("bắt buộc, không được để trống"))
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(path, _l("phải là văn bản"))
            return ""
        text = unicodedata.normalize("NFC", str(value)).strip()
        if len(text) > max_length:
            self.fail(path, _l("dài quá %(n)d ký tự", n=max_length))
        return text

    def integer(self, value: object, path: str, default: int | None, low: int, high: int) -> int:
        if value is None:
            if default is None:
                self.fail(path, _l("bắt buộc"))
                return low
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, _l("phải là số nguyên"))
            return default if default is not None else low
        if not low <= value <= high:
            self.fail(path, _l("phải từ %(low)s đến %(high)s", low=low, high=high))
        return value

    def number(self, value: object, path: str, default: float, low: float, high: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, _l("phải là số"))
            return default
        if not low <= value <= high:
            self.fail(path, _l("phải từ %(low)s đến %(high)s", low=f"{low:g}", high=f"{high:g}"))
        return float(value)

    def flag(self, value: object, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, _l("phải là true hoặc false"))
            return default
        return value

    def choice(self, value: object, path: str, choices: tuple[str, ...], default: str | None) -> str:
        if value is None:
            if default is None:
                self.fail(path, _l("bắt buộc, một trong: %(choices)s", choices=", ".join(choices)))
                return choices[0]
            return default
        if value not in choices:
            self.fail(path, _l("“%(value)s” không hợp lệ; chọn một trong: %(choices)s", value=value,
                               choices=", ".join(choices)))
            return default or choices[0]
        return str(value)

    def moment(self, value: object, path: str) -> dt.datetime | None:
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=self.zone)
            return moment.astimezone(dt.timezone.utc)
        match = _LOCAL_TIME.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if match is None:
            self.fail(path, _l("phải là thời điểm dạng “2026-03-02 10:00” (giờ Việt Nam)"))
            return None
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            local = dt.datetime(year, month, day, hour, minute, second, tzinfo=self.zone)
        except ValueError:
            self.fail(path, _l("ngày giờ không tồn tại"))
            return None
        return local.astimezone(dt.timezone.utc)

    def code_list(self, value: object, path: str, known: set[str] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            self.fail(path, _l("phải là danh sách không rỗng"))
            return None
        codes = []
        for index, item in enumerate(value):
            code = str(item)
            if known is not None and code not in known:
                self.fail(f"{path}[{index}]", _l("“%(code)s” không có trong danh sách đối tượng dự thi", code=code))
            codes.append(code)
        if len(set(codes)) != len(codes):
            self.fail(path, _l("có mã bị lặp lại"))
        return tuple(codes)

    # --- parts ----------------------------------------------------------------------------------------------------

    def contest(self, data: object) -> ContestSpec | None:
        if not isinstance(data, dict):
            self.fail("", _l("tệp phải là một bảng khoá: giá trị (slug, title, unit, rounds …)"))
            return None
        data = self.mapping(data, "", _TOP_KEYS)
        slug = self.text(data.get("slug"), "slug", max_length=64)
        if slug and (not _SLUG.fullmatch(slug) or slug in RESERVED_SLUGS):
            self.fail("slug", _l("chỉ dùng chữ thường không dấu, chữ số và dấu gạch ngang (vd. cchc-2026)"))
        if data.get("timezone") not in (None, str(self.zone)):
            self.fail("timezone", _l("thời gian trong tệp phải theo múi giờ %(zone)s", zone=str(self.zone)))
        groups = self.groups(data.get("audience_groups"))
        codes = {group.code for group in groups}
        registration = self.registration(data.get("registration"))
        leaderboard = self.leaderboard(data.get("leaderboard"))
        ranking = self.ranking(data.get("ranking"))
        prizes = self.mapping(data.get("prizes"), "prizes", {"round", "overall", "overall_aggregation"})
        round_prizes = self.prize_tables(prizes.get("round"), "prizes.round", codes)
        overall_prizes = self.prize_tables(prizes.get("overall"), "prizes.overall", codes)
        aggregation = self.choice(prizes.get("overall_aggregation"), "prizes.overall_aggregation",
                                  OVERALL_AGGREGATIONS, "sum_of_round_scores")
        collective = self.collective(data.get("collective"))
        certificate = self.certificate(data.get("certificate"))
        rounds = self.rounds(data.get("rounds"), codes)
        definition = {
            "slug": slug,
            "title": self.text(data.get("title"), "title"),
            "unit": self.text(data.get("unit"), "unit", max_length=32),
            "legal_basis": self.text(data.get("legal_basis"), "legal_basis", required=False, max_length=2000),
            "rules": self.text(data.get("rules"), "rules", required=False, max_length=50_000),
            "timezone": str(self.zone),
            "audience_groups": [{"code": group.code, "name": group.name} for group in groups],
            "registration": vars(registration).copy(),
            "leaderboard": vars(leaderboard).copy(),
            "ranking": {"criteria": list(ranking.criteria), "prefer_under": ranking.prefer_under},
            "prizes": {"round": _tables_definition(round_prizes), "overall": _tables_definition(overall_prizes),
                       "overall_aggregation": aggregation},
            "collective": _collective_definition(collective),
            "certificate": vars(certificate).copy(),
            "rounds": [round_spec.definition for round_spec in rounds],
        }
        return ContestSpec(
            slug=slug, title=definition["title"], unit=definition["unit"], legal_basis=definition["legal_basis"],
            rules=definition["rules"], groups=groups, registration=registration, leaderboard=leaderboard,
            ranking=ranking, round_prizes=round_prizes, overall_prizes=overall_prizes,
            overall_aggregation=aggregation, collective=collective, certificate=certificate, rounds=rounds,
            definition=definition,
        )

    def groups(self, value: object) -> tuple[Group, ...]:
        if value is None:
            return (Group("chung", "Tất cả người dự thi"),)
        if not isinstance(value, list) or not value:
            self.fail("audience_groups", _l("phải là danh sách các đối tượng (code, name)"))
            return ()
        groups = []
        for index, item in enumerate(value):
            path = f"audience_groups[{index}]"
            item = self.mapping(item, path, {"code", "name"})
            code = self.text(item.get("code"), f"{path}.code", max_length=32)
            if code and not _CODE.fullmatch(code):
                self.fail(f"{path}.code", _l("dùng chữ thường không dấu, chữ số và “_” (vd. cbccvc)"))
            groups.append(Group(code, self.text(item.get("name"), f"{path}.name", max_length=200)))
        if len({group.code for group in groups}) != len(groups):
            self.fail("audience_groups", _l("có mã đối tượng bị lặp lại"))
        return tuple(groups)

    def registration(self, value: object) -> Registration:
        path = "registration"
        data = self.mapping(value, path, {"min_age", "max_age", "cccd", "consent_text", "retention_days"})
        min_age = None if data.get("min_age") is None else self.integer(data["min_age"], f"{path}.min_age", None, 0,
                                                                         120)
        max_age = None if data.get("max_age") is None else self.integer(data["max_age"], f"{path}.max_age", None, 0,
                                                                         150)
        if min_age is not None and max_age is not None and max_age < min_age:
            self.fail(f"{path}.max_age", _l("phải không nhỏ hơn min_age"))
        return Registration(
            min_age=min_age,
            max_age=max_age,
            cccd=self.choice(data.get("cccd"), f"{path}.cccd", CCCD_MODES, "optional"),
            consent_text=self.text(data.get("consent_text"), f"{path}.consent_text", required=False,
                                   max_length=3000) or DEFAULT_CONSENT,
            retention_days=self.integer(data.get("retention_days"), f"{path}.retention_days", 180, 1, 3650),
        )

    def leaderboard(self, value: object) -> Leaderboard:
        path = "leaderboard"
        data = self.mapping(value, path, {"visibility", "top_n", "freeze_minutes"})
        return Leaderboard(
            visibility=self.choice(data.get("visibility"), f"{path}.visibility", LEADERBOARD_VISIBILITY, "hidden"),
            top_n=self.integer(data.get("top_n"), f"{path}.top_n", 10, 1, 1000),
            freeze_minutes=self.integer(data.get("freeze_minutes"), f"{path}.freeze_minutes", 0, 0, 60 * 24 * 30),
        )

    def ranking(self, value: object) -> RankingRule:
        path = "ranking"
        data = self.mapping(value, path, {"preset", "criteria", "prefer_under"})
        if data.get("preset") is not None and data.get("criteria") is not None:
            self.fail(path, _l("chỉ ghi một trong hai: preset hoặc criteria"))
        criteria: tuple[str, ...] = PRESETS["default"]
        if data.get("criteria") is not None:
            raw = data["criteria"]
            if not isinstance(raw, list) or not raw:
                self.fail(f"{path}.criteria", _l("phải là danh sách tiêu chí trong: %(criteria)s",
                                                 criteria=", ".join(CRITERIA)))
            else:
                criteria = tuple(str(item) for item in raw)
                for index, name in enumerate(criteria):
                    if name not in CRITERIA:
                        self.fail(f"{path}.criteria[{index}]", _l("“%(name)s” không hợp lệ; dùng: %(criteria)s",
                                                                    name=name, criteria=", ".join(CRITERIA)))
                if len(set(criteria)) != len(criteria):
                    self.fail(f"{path}.criteria", _l("có tiêu chí bị lặp lại"))
                if criteria[0] != "score":
                    self.fail(f"{path}.criteria", _l("tiêu chí đầu tiên phải là score (điểm)"))
        elif data.get("preset") is not None:
            preset = self.choice(data["preset"], f"{path}.preset", tuple(PRESETS), "default")
            criteria = PRESETS[preset]
        prefer_under = self.flag(data.get("prefer_under"), f"{path}.prefer_under", False)
        if prefer_under and "prediction_distance" not in criteria:
            self.fail(f"{path}.prefer_under", _l("chỉ dùng khi có tiêu chí prediction_distance"))
        return RankingRule(tuple(criteria), prefer_under)

    def prize_tables(self, value: object, path: str, groups: set[str]) -> dict[str, tuple[PrizeTier, ...]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, _l("phải là bảng: mã đối tượng → danh sách giải"))
            return {}
        tables = {}
        for group, tiers in value.items():
            if str(group) not in groups:
                self.fail(f"{path}.{group}", _l("không có đối tượng dự thi với mã này"))
            tables[str(group)] = self.tiers(tiers, f"{path}.{group}")
        return tables

    def tiers(self, value: object, path: str) -> tuple[PrizeTier, ...]:
        if not isinstance(value, list):
            self.fail(path, _l("phải là danh sách giải (label, count, amount)"))
            return ()
        tiers = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            item = self.mapping(item, where, {"label", "count", "amount"})
            tiers.append(PrizeTier(
                label=self.text(item.get("label"), f"{where}.label", max_length=100),
                count=self.integer(item.get("count"), f"{where}.count", None, 1, 10_000),
                value=self.number(item.get("amount"), f"{where}.amount", 0.0, 0, 1e12),
            ))
        amounts = [tier.value for tier in tiers]
        if amounts != sorted(amounts, reverse=True):
            self.fail(path, _l("các giải phải xếp từ giá trị cao xuống thấp"))
        return tuple(tiers)

    def collective(self, value: object) -> Collective:
        path = "collective"
        data = self.mapping(value, path, {"enabled", "min_rate", "split_by_block", "points", "prizes"})
        points: dict[str, float] = {}
        raw_points = data.get("points")
        if raw_points is not None:
            if not isinstance(raw_points, dict):
                self.fail(f"{path}.points", _l("phải là bảng: tên giải → điểm"))
            else:
                points = {str(label): self.number(score, f"{path}.points.{label}", 0.0, 0, 1000)
                          for label, score in raw_points.items()}
        return Collective(
            enabled=self.flag(data.get("enabled"), f"{path}.enabled", value is not None),
            min_rate=self.number(data.get("min_rate"), f"{path}.min_rate", 70.0, 0, 100),
            split_by_block=self.flag(data.get("split_by_block"), f"{path}.split_by_block", True),
            points=points,
            prizes=self.tiers(data["prizes"], f"{path}.prizes") if data.get("prizes") is not None else (),
        )

    def certificate(self, value: object) -> Certificate:
        path = "certificate"
        data = self.mapping(value, path, {"awarded_to", "min_score_percent", "signer"})
        return Certificate(
            awarded_to=self.choice(data.get("awarded_to"), f"{path}.awarded_to", CERTIFICATE_AWARDS, "winners"),
            min_score_percent=self.number(data.get("min_score_percent"), f"{path}.min_score_percent", 80.0, 0, 100),
            signer=self.text(data.get("signer"), f"{path}.signer", required=False, max_length=200)
            or "TRƯỞNG BAN TỔ CHỨC",
        )

    def rounds(self, value: object, groups: set[str]) -> tuple[RoundSpec, ...]:
        if not isinstance(value, list) or not value:
            self.fail("rounds", _l("cần ít nhất một vòng thi"))
            return ()
        if len(value) > MAX_ROUNDS:
            self.fail("rounds", _l("tối đa %(n)d vòng", n=MAX_ROUNDS))
        rounds = [self.round(item, index, groups) for index, item in enumerate(value)]
        return tuple(round_spec for round_spec in rounds if round_spec is not None)

    def round(self, value: object, index: int, groups: set[str]) -> RoundSpec | None:
        path = f"rounds[{index}]"
        if not isinstance(value, dict) or not value:
            self.fail(path, _l("mỗi vòng thi là một bảng khoá: giá trị (name, opens_at, closes_at, bank …)"))
            return None
        data = self.mapping(value, path, _ROUND_KEYS)
        opens_at = self.moment(data.get("opens_at"), f"{path}.opens_at")
        closes_at = self.moment(data.get("closes_at"), f"{path}.closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.fail(f"{path}.closes_at", _l("phải sau thời điểm mở (opens_at)"))
        count = self.integer(data.get("question_count"), f"{path}.question_count", None, 1, MAX_QUESTIONS)
        if data.get("time_limit_minutes") is not None and data.get("time_limit_seconds") is not None:
            self.fail(path, _l("chỉ ghi một trong hai: time_limit_minutes hoặc time_limit_seconds"))
        if data.get("time_limit_seconds") is not None:
            limit = self.integer(data["time_limit_seconds"], f"{path}.time_limit_seconds", None, 0, 86_400)
        else:
            limit = 60 * self.integer(data.get("time_limit_minutes"), f"{path}.time_limit_minutes", 15, 0, 1440)
        draw = self.draw(data.get("draw"), f"{path}.draw", count)
        audience = self.code_list(data.get("audience_groups"), f"{path}.audience_groups", groups)
        prediction = self.prediction(data.get("prediction"), f"{path}.prediction")
        prizes = None
        if data.get("prizes") is not None:
            prizes = self.prize_tables(data["prizes"], f"{path}.prizes", groups)
        attempts = self.integer(data.get("attempts_allowed"), f"{path}.attempts_allowed", 1, 0, 100)
        spec = dict(
            number=index + 1,
            name=self.text(data.get("name"), f"{path}.name", required=False, max_length=200) or f"Vòng {index + 1}",
            opens_at=opens_at or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
            closes_at=closes_at or dt.datetime(2000, 1, 2, tzinfo=dt.timezone.utc),
            bank=self.text(data.get("bank"), f"{path}.bank", max_length=64),
            question_count=count,
            draw=draw,
            time_limit_seconds=limit,
            attempts_allowed=attempts,
            counts=self.choice(data.get("counts"), f"{path}.counts", WHICH_COUNTS, "best"),
            shuffle_questions=self.flag(data.get("shuffle_questions"), f"{path}.shuffle_questions", True),
            shuffle_options=self.flag(data.get("shuffle_options"), f"{path}.shuffle_options", True),
            show_correct=self.choice(data.get("show_correct"), f"{path}.show_correct", SHOW_CORRECT,
                                     "after_round_close"),
            grace_seconds=self.integer(data.get("grace_seconds"), f"{path}.grace_seconds", 10, 0, 600),
            audience_groups=audience,
            prediction=prediction,
            prizes=prizes,
        )
        definition = {
            "name": spec["name"],
            "opens_at": local_text(spec["opens_at"], self.zone),
            "closes_at": local_text(spec["closes_at"], self.zone),
            "bank": spec["bank"],
            "question_count": count,
            "draw": _draw_definition(draw),
            "time_limit_seconds": limit,
            "attempts_allowed": attempts,
            "counts": spec["counts"],
            "shuffle_questions": spec["shuffle_questions"],
            "shuffle_options": spec["shuffle_options"],
            "show_correct": spec["show_correct"],
            "grace_seconds": spec["grace_seconds"],
            "audience_groups": list(audience) if audience else None,
            "prediction": vars(prediction).copy(),
            "prizes": _tables_definition(prizes) if prizes is not None else None,
        }
        return RoundSpec(**spec, definition=definition)

    def draw(self, value: object, path: str, count: int) -> DrawRule:
        data = self.mapping(value, path, {"mode", "topics", "difficulties", "blueprint"})
        mode = self.choice(data.get("mode"), f"{path}.mode", DRAW_MODES, "random")
        topics = self.code_list(data.get("topics"), f"{path}.topics", None)
        difficulties = None
        if data.get("difficulties") is not None:
            raw = data["difficulties"]
            if not isinstance(raw, list) or not raw or any(item not in (1, 2, 3) for item in raw):
                self.fail(f"{path}.difficulties", _l("phải là danh sách các mức độ 1, 2, 3"))
            else:
                difficulties = tuple(sorted(set(raw)))
        parts: list[BlueprintPart] = []
        blueprint = data.get("blueprint")
        if mode == "blueprint":
            if not isinstance(blueprint, list) or not blueprint:
                self.fail(f"{path}.blueprint", _l("chế độ blueprint cần danh sách phần (topic/difficulty, count)"))
            else:
                for index, item in enumerate(blueprint):
                    where = f"{path}.blueprint[{index}]"
                    item = self.mapping(item, where, {"topic", "difficulty", "count"})
                    difficulty = item.get("difficulty")
                    if difficulty is not None and difficulty not in (1, 2, 3):
                        self.fail(f"{where}.difficulty", _l("phải là 1, 2 hoặc 3"))
                    topic = item.get("topic")
                    if topic is None and difficulty is None:
                        self.fail(where, _l("cần topic hoặc difficulty"))
                    parts.append(BlueprintPart(self.integer(item.get("count"), f"{where}.count", None, 1,
                                                            MAX_QUESTIONS),
                                               None if topic is None else str(topic), difficulty))
                if sum(part.count for part in parts) > count:
                    self.fail(f"{path}.blueprint", _l("tổng số câu các phần vượt quá question_count (%(n)d)", n=count))
        elif blueprint is not None:
            self.fail(f"{path}.blueprint", _l("chỉ dùng khi mode: blueprint"))
        return DrawRule(mode, topics, difficulties, tuple(parts))

    def prediction(self, value: object, path: str) -> Prediction:
        data = self.mapping(value, path, {"enabled", "required", "target", "question", "max_value", "decimals"})
        target = self.choice(data.get("target"), f"{path}.target", PREDICTION_TARGETS, "persons_full_marks")
        percent = target.startswith("percent")
        enabled = self.flag(data.get("enabled"), f"{path}.enabled", True)
        required = self.flag(data.get("required"), f"{path}.required", False)
        if required and not enabled:
            self.fail(f"{path}.required", _l("câu dự đoán đang tắt (enabled: false)"))
        return Prediction(
            enabled=enabled,
            required=required,
            target=target,
            question=self.text(data.get("question"), f"{path}.question", required=False, max_length=500)
            or DEFAULT_PREDICTION_QUESTION[target],
            max_value=self.number(data.get("max_value"), f"{path}.max_value", 100.0 if percent else 10_000_000.0, 0,
                                  1e12),
            decimals=self.integer(data.get("decimals"), f"{path}.decimals", 5 if percent else 0, 0, 9),
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


def starter_definition(*, slug: str, title: str, unit: str, legal_basis: str, rules: str, groups_text: str,
                       bank: str, opens_at: str, closes_at: str, question_count: int, time_limit_minutes: int,
                       attempts_allowed: int) -> dict:
    """Return the definition of a new contest with one round from the organiser's short form (defaults elsewhere).

    ``groups_text`` has one audience group per line, "code: name".
    """
    groups = []
    for line in groups_text.splitlines():
        code, _, name = line.partition(":")
        if code.strip():
            groups.append({"code": code.strip(), "name": name.strip() or code.strip()})
    return {
        "slug": slug, "title": title, "unit": unit, "legal_basis": legal_basis, "rules": rules,
        "audience_groups": groups or None,
        "rounds": [{"name": "Vòng 1", "opens_at": opens_at, "closes_at": closes_at, "bank": bank,
                    "question_count": question_count, "time_limit_minutes": time_limit_minutes,
                    "attempts_allowed": attempts_allowed}],
    }
