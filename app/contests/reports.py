"""Contest reports and exports: the `report contest` document, `export attempts` rows, organiser result tables.

The report is plain data (JSON-ready): rankings with competition ranks, the prediction value, item statistics in
percent as Moodle shows them (unrounded), round statistics, prizes and unit participation. Tables for CSV/XLSX are
built from the same document so every format says the same thing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.audit import Actor, record
from app.contests.lifecycle import get_round
from app.contests.models import Contest, Participant
from app.contests.imports import QUESTION_TYPE_NAMES
from app.contests.participants import mask_name, mask_phone
from app.contests.results import (
    AwardLine,
    ContestResults,
    Standing,
    UnitLine,
    contest_results,
    item_report,
    no_cycle_collection,
)
from app.contests.spec import contest_spec
from app.database import in_batches
from app.extensions import db
from app.units.models import Unit

#: What each item-analysis flag means, for people (the JSON and CSV keep the codes).
ITEM_FLAG_LABELS = {
    "n_too_small": _l("ít lượt (< 30)"),
    "facility_low": _l("quá khó"),
    "facility_high": _l("quá dễ"),
    "di_negative": _l("phân biệt âm: kiểm tra đáp án"),
    "di_weak": _l("phân biệt yếu"),
    "de_dubious": _l("hiệu quả phân biệt thấp"),
    "negative_covariance": _l("hiệp phương sai âm"),
}
RANKING_COLUMNS = ["participant_id", "rank", "tied", "group", "group_rank", "score", "prediction", "duration_ms",
                   "submitted_at"]
ITEM_COLUMNS = ["question_id", "code", "type", "n", "facility", "sd", "random_guess_score", "intended_weight",
                "effective_weight", "discrimination_index", "discriminative_efficiency", "alpha_if_deleted",
                "d27", "option_counts", "flags"]
TEST_COLUMNS = ["n", "items_per_attempt", "mean", "median", "sd", "skewness", "kurtosis", "alpha", "cic",
                "error_ratio", "standard_error"]
PRIZE_COLUMNS = ["participant_id", "round", "group", "position", "label", "amount", "tied"]
UNIT_COLUMNS = ["unit", "name", "block", "headcount", "completers", "rate", "mean_score", "winners_points",
                "eligible", "rank", "prize"]
ATTEMPT_COLUMNS = ["participant_id", "unit", "group", "score", "prediction", "started_at", "submitted_at",
                   "duration_ms", "rank"]


def iso_ms(milliseconds: int | float, zone: ZoneInfo | None = None) -> str:
    """Return epoch milliseconds as ISO 8601 text to the millisecond: UTC with "Z", or local time with its offset."""
    if zone is None:
        return iso_ms_column(np.array([milliseconds]))[0]
    moment = dt.datetime.fromtimestamp(int(milliseconds) / 1000, tz=dt.timezone.utc)
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def iso_ms_column(milliseconds: np.ndarray) -> list[str]:
    """Return many epoch milliseconds as ISO 8601 UTC text at once ("2026-03-02T02:00:00.000Z")."""
    moments = np.asarray(milliseconds, dtype=np.int64).astype("datetime64[ms]")
    return np.datetime_as_string(moments, unit="ms", timezone="UTC").tolist()


def _number(value: float) -> float | int | None:
    """Return a JSON-friendly number: None for nan, int for whole numbers."""
    if value is None or not np.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def number_column(values: np.ndarray) -> list[float | int | None]:
    """Return many numbers JSON-friendly at once: whole numbers as ints, nan as None (loops only over the gaps)."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        return [None] * array.shape[0]
    filled = np.where(finite, array, 0.0)
    if (filled == np.round(filled)).all():
        column: list = filled.astype(np.int64).tolist()
    else:
        column = [int(v) if v.is_integer() else v for v in filled.tolist()]
    if finite.all():
        return column
    return [value if present else None for value, present in zip(column, finite.tolist())]


def ranking_rows(standing: Standing, order: np.ndarray | None = None) -> list[dict]:
    """Return the entries of a standing from first to last place (the round's maximum is in the report's round);
    ``order`` chooses some of them (positions in the standing, e.g. a slice of ``ranking.order``)."""
    ranking = standing.ranking
    order = ranking.order if order is None else order
    columns = (
        standing.participant_id[order].tolist(),
        ranking.rank[order].tolist(),
        ranking.tied[order].tolist(),
        standing.group[order].tolist(),
        ranking.group_rank[order].tolist() if ranking.group_rank is not None else [None] * len(order),
        number_column(standing.score[order]),
        number_column(standing.prediction[order]),
        number_column(standing.duration_ms[order]),
        iso_ms_column(standing.submitted_ms[order]),
    )
    # A dict display per entry (keys in RANKING_COLUMNS order) builds 200,000 entries twice as fast as dict(zip()).
    return [
        {"participant_id": participant, "rank": rank, "tied": tied, "group": group, "group_rank": group_rank,
         "score": score, "prediction": prediction, "duration_ms": duration, "submitted_at": submitted}
        for participant, rank, tied, group, group_rank, score, prediction, duration, submitted in zip(*columns)
    ]


@no_cycle_collection()
def contest_report(contest: Contest, zone: ZoneInfo, round_number: int | None = None) -> dict:
    """Return the report of a round (or of the whole contest: overall ranking, items pooled over rounds)."""
    results = contest_results(contest, zone)
    if round_number is not None:
        round_ = get_round(contest, round_number)
        result = results.rounds[round_.number - 1]
        standing, actual = result.standing, result.actual
    else:
        standing, actual = results.overall, None
    items = item_report(results, round_number)
    report = {
        "contest": {"slug": contest.slug, "title": contest.title, "status": contest.status},
        "round": None if round_number is None else {
            "number": round_number, "name": results.rounds[round_number - 1].name,
            "max_score": get_round(contest, round_number).question_count,
        },
        "max_score": results.max_total if round_number is None else get_round(contest, round_number).question_count,
        "rounds": [{"number": r.number, "name": r.name, "attempts": int(r.rows.size),
                    "participants": int(r.counted_rows.size), "prediction_actual": r.actual}
                   for r in results.rounds],
        "ranking": ranking_rows(standing),
        "prediction_actual": actual,
        "items": [],
        "test": {"n": 0},
        "prizes": [_prize(award) for award in results.awards
                   if round_number is None or award.round_number == round_number],
        "units": [_unit(unit) for unit in results.units],
    }
    if items is not None:
        report["items"] = [
            {
                "question_id": int(qid), "code": code, "type": kind, "n": item.n, "facility": item.facility,
                "sd": item.sd, "random_guess_score": item.random_guess_score, "intended_weight": item.intended_weight,
                "effective_weight": item.effective_weight, "discrimination_index": item.discrimination_index,
                "discriminative_efficiency": item.discriminative_efficiency,
                "alpha_if_deleted": item.alpha_if_deleted, "d27": item.d27,
                "option_counts": list(item.option_counts) if item.option_counts and kind != "multiple" else None,
                "flags": list(item.flags),
            }
            for qid, code, kind, item in zip(items.question_ids, items.codes, items.types, items.analysis.items)
        ]
        overall = items.analysis.overall
        report["test"] = {
            "n": overall.n, "items_per_attempt": overall.items_per_attempt, "mean": overall.mean,
            "median": overall.median, "sd": overall.sd, "skewness": overall.skewness, "kurtosis": overall.kurtosis,
            "alpha": None if overall.cic is None else overall.cic / 100, "cic": overall.cic,
            "error_ratio": overall.error_ratio, "standard_error": overall.standard_error,
        }
    return report


def _prize(award) -> dict:
    return {"participant_id": award.participant_id, "round": award.round_number, "group": award.group,
            "position": award.position, "label": award.label, "amount": _number(award.amount), "tied": award.tied}


def _unit(unit) -> dict:
    return {"unit": unit.code, "name": unit.name, "block": unit.block, "headcount": unit.headcount,
            "completers": unit.completers, "rate": unit.rate, "mean_score": unit.mean_score,
            "winners_points": unit.winners_points, "eligible": unit.eligible, "rank": unit.rank, "prize": unit.prize}


def report_tables(report: dict) -> list[tuple[str, list[str], list[list[object]]]]:
    """Return the report as (sheet title, headers, rows) tables for CSV/XLSX."""
    def table(name: str, columns: list[str], rows: list[dict]) -> tuple[str, list[str], list[list[object]]]:
        return name, columns, [[_flat(row.get(column)) for column in columns] for row in rows]

    test = report["test"]
    return [
        table("ranking", RANKING_COLUMNS, report["ranking"]),
        ("prediction", ["prediction_actual"], [[report["prediction_actual"]]]),
        table("items", ITEM_COLUMNS, report["items"]),
        table("test", TEST_COLUMNS, [test] if test.get("n") else []),
        table("prizes", PRIZE_COLUMNS, report["prizes"]),
        table("units", UNIT_COLUMNS, report["units"]),
    ]


def _flat(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool):
        return int(value)
    return value


def attempt_table(contest: Contest, zone: ZoneInfo, round_number: int | None = None
                  ) -> tuple[list[str], Iterator[list[object]]]:
    """Return the headers and rows of `export attempts`: one row per finished attempt, then 0/1 per question id.

    Columns: participant_id, unit (code), group, score, prediction, started_at, submitted_at (ISO 8601 in the
    display zone, milliseconds), duration_ms, rank (of the counted attempt in its round; empty otherwise), then
    one column per question id drawn in the selection (1 right, 0 wrong, empty when the attempt did not draw it).
    """
    results = contest_results(contest, zone)
    table = results.table
    rounds = results.rounds if round_number is None else [results.rounds[get_round(contest, round_number).number - 1]]
    rows = np.sort(np.concatenate([r.rows for r in rounds])) if rounds else np.zeros(0, np.intp)
    rank = np.zeros(len(table), dtype=np.int64)
    for result in rounds:
        rank[result.counted_rows] = result.standing.ranking.rank
    sub = table.take(rows)
    question_ids = np.unique(sub.question_id)
    headers = ATTEMPT_COLUMNS + [str(int(qid)) for qid in question_ids]
    units = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    column_of = {int(qid): index for index, qid in enumerate(question_ids)}

    def generate() -> Iterator[list[object]]:
        for position, row in enumerate(rows):
            start, end = sub.offsets[position], sub.offsets[position + 1]
            marks: list[object] = [None] * len(question_ids)
            for qid, mark in zip(sub.question_id[start:end], sub.mark[start:end]):
                marks[column_of[int(qid)]] = int(mark)
            yield [int(table.participant_id[row]), units.get(int(table.unit_id[row])), table.group[row],
                   _number(table.score[row]), _number(table.prediction[row]), iso_ms(table.started_ms[row], zone),
                   iso_ms(table.submitted_ms[row], zone), _number(table.duration_ms[row]),
                   int(rank[row]) or None, *marks]

    return headers, generate()


def people(ids: list[int]) -> dict[int, tuple[str | None, str | None, str, int]]:
    """Return (full name, phone, unit name, unit id) of participants by id (only the rows a page shows)."""
    found = {}
    for batch in in_batches(ids):  # an export names every ranked participant: 200,000 is 40 statements, not one
        for row in db.session.execute(
                sa.select(Participant.id, Participant.full_name, Participant.phone, Unit.name, Unit.id)
                .join(Unit, Unit.id == Participant.unit_id).where(Participant.id.in_(batch))):
            found[row[0]] = tuple(row[1:])
    return found


#: Ranked participants named per query and turned into rows at a time by an export (bounds its memory).
RESULT_BATCH = 5_000


def results_tables(contest: Contest, zone: ZoneInfo, round_number: int | None = None
                   ) -> list[tuple[str, list[str], Iterable[list[object]]]]:
    """Return the organiser's result tables with names (ranking, prizes, units) for CSV/XLSX exports.

    The ranking's rows are made as they are written, RESULT_BATCH places at a time with their names, so an
    export of 200,000 participants never holds them all as Python rows at once.
    """
    results: ContestResults = contest_results(contest, zone)
    standing = results.overall if round_number is None else results.rounds[
        get_round(contest, round_number).number - 1].standing
    awards = [award for award in results.awards if round_number is None or award.round_number == round_number]
    headers = ["rank", "tied", "participant_id", "full_name", "phone", "unit", "group", "group_rank", "score",
               "max_score", "prediction", "prediction_distance", "duration_s", "submitted_at"]
    who = people([award.participant_id for award in awards])
    prizes = []
    for award in awards:
        name, phone, unit, _ = who.get(award.participant_id, (None, None, None, None))
        prizes.append([award.round_number or str(_l("toàn cuộc thi")), award.group, award.position, award.label,
                       _number(award.amount), award.participant_id, name, phone, unit, int(award.tied)])
    units = [[_flat(_unit(unit)[column]) for column in UNIT_COLUMNS] for unit in results.units]
    return [
        ("xep_hang", headers, _named_ranking(standing, zone)),
        ("giai_thuong", ["round", "group", "position", "label", "amount", "participant_id", "full_name", "phone",
                         "unit", "tied"], prizes),
        ("don_vi", UNIT_COLUMNS, units),
    ]


def _named_ranking(standing: Standing, zone: ZoneInfo) -> Iterator[list[object]]:
    """Yield the ranking's rows with names, from first to last place, a batch of places at a time."""
    everyone = standing.ranking.order
    distance = standing.ranking.prediction_distance
    for start in range(0, len(everyone), RESULT_BATCH):
        order = everyone[start:start + RESULT_BATCH]
        entries = ranking_rows(standing, order)
        who = people([entry["participant_id"] for entry in entries])
        extras = zip(number_column(standing.max_score[order]),
                     number_column(distance[order]) if distance is not None else [None] * len(order),
                     [iso_ms(moment, zone) for moment in standing.submitted_ms[order].tolist()])
        for entry, (maximum, gap, moment) in zip(entries, extras):
            name, phone, unit, _ = who.get(entry["participant_id"], (None, None, None, None))
            yield [entry["rank"], int(entry["tied"]), entry["participant_id"], name, phone, unit, entry["group"],
                   entry["group_rank"], entry["score"], maximum, entry["prediction"], gap,
                   None if entry["duration_ms"] is None else round(entry["duration_ms"] / 1000, 3), moment]


@dataclass(frozen=True)
class BoardLine:
    """A row of a public list: masked identity, unit, group, and (when shown) score and time."""

    rank: int
    tied: bool
    name: str
    phone: str
    unit: str
    group: str
    score: float
    seconds: float
    #: True on the signed-in participant's own row.
    me: bool = False


@dataclass(frozen=True)
class OwnRank:
    """The signed-in participant's place on the list shown (within the chosen group, if any)."""

    rank: int
    total: int
    score: float
    seconds: float
    #: Whether their row is among the lines shown.
    listed: bool


@dataclass(frozen=True)
class BoardAward:
    """A prize on the public list of winners."""

    award: AwardLine
    name: str
    unit: str
    group: str


@dataclass(frozen=True)
class Board:
    """What the public ranking page shows (contest.md §5.5 visibility, §5.8 masking)."""

    #: hidden | top_n | public ("public" once results are published).
    visibility: str
    final: bool
    #: The round's prediction value, only once results are published.
    actual: float | None
    lines: tuple[BoardLine, ...]
    awards: tuple[BoardAward, ...]
    units: tuple[UnitLine, ...]
    page: int
    more: bool
    #: The signed-in participant's own place; None when signed out, not ranked, or the list is hidden.
    mine: OwnRank | None = None
    #: The audience group the list is restricted to (its code), or None for everyone.
    group: str | None = None


def public_board(contest: Contest, zone: ZoneInfo, round_number: int | None, page: int,
                 page_size: int = 100, *, group: str | None = None, me: int | None = None) -> Board:
    """Return the public ranking of a round (or overall): masked names, frozen before close, final once published.

    Before publication the leaderboard setting decides: nothing (hidden), the first N names (top_n), or the whole
    ranking (public), each with scores and times and computed without attempts submitted during the freeze.
    With ``group`` the list holds that audience group only, ranked within it; ``me`` (a participant id) adds their
    own place and marks their row.
    """
    spec = contest_spec(contest, zone)
    final = contest.results_public
    visibility = "public" if final else spec.leaderboard.visibility
    if visibility == "hidden":
        return Board(visibility, final, None, (), (), (), page, False)
    results = contest_results(contest, zone, frozen=True)
    actual = None
    if round_number is not None:
        result = results.rounds[get_round(contest, round_number).number - 1]
        standing = result.standing
        actual = result.actual if final else None
    else:
        standing = results.overall
    order = standing.ranking.order
    ranks = standing.ranking.rank
    if group is not None and spec.group(group) is not None and standing.ranking.group_rank is not None:
        order = order[standing.group[order] == group]
        ranks = standing.ranking.group_rank
    else:
        group = None
    mine = None
    if me is not None:
        found = np.flatnonzero(standing.participant_id[order] == me)
        if found.size:
            place = int(found[0])
            index = int(order[place])
            listed = place < spec.leaderboard.top_n if visibility == "top_n" else \
                (page - 1) * page_size <= place < page * page_size
            mine = OwnRank(int(ranks[index]), int(order.shape[0]), float(standing.score[index]),
                           float(standing.duration_ms[index]) / 1000, listed)
    if visibility == "top_n":
        shown, more = order[:spec.leaderboard.top_n], False
    else:
        shown, more = order[(page - 1) * page_size:page * page_size], order.shape[0] > page * page_size
    awards = [a for a in results.awards if round_number is None or a.round_number == round_number] if final else []
    who = people([int(standing.participant_id[i]) for i in shown] + [a.participant_id for a in awards])

    def group_name(code: str) -> str:
        group = spec.group(code)
        return group.name if group else code

    missing = (None, None, "—", None)
    lines = tuple(BoardLine(
        rank=int(ranks[i]), tied=bool(standing.ranking.tied[i]),
        name=mask_name(who.get(int(standing.participant_id[i]), missing)[0]),
        phone=mask_phone(who.get(int(standing.participant_id[i]), missing)[1]),
        unit=who.get(int(standing.participant_id[i]), missing)[2], group=group_name(str(standing.group[i])),
        score=float(standing.score[i]), seconds=float(standing.duration_ms[i]) / 1000,
        me=me is not None and int(standing.participant_id[i]) == me,
    ) for i in shown)
    board_awards = tuple(BoardAward(a, mask_name(who.get(a.participant_id, missing)[0]),
                                    who.get(a.participant_id, missing)[2], group_name(a.group)) for a in awards)
    units = tuple(unit for unit in results.units if unit.eligible) if final else ()
    return Board(visibility, final, actual, lines, board_awards, units, page, more, mine, group)


def export_contest(actor: Actor, contest: Contest, kind: str, fmt: str, *, zone: ZoneInfo, round_number: int | None,
                   now: dt.datetime) -> dict | list[tuple[str, list[str], Iterable[list[object]]]]:
    """Log an organiser's download, then return it: the report document (JSON), or tables (CSV/XLSX).

    :param kind: "bao-cao" (the statistical report), "bai-thi" (raw attempts) or "ket-qua" (results with names).
    """
    record(actor, contest.unit_id, f"contest.export.{kind}", "contest", contest.id, {"format": fmt}, now)
    if kind == "bao-cao":
        report = contest_report(contest, zone, round_number)
        return report if fmt == "json" else report_tables(report)
    if kind == "bai-thi":
        headers, rows = attempt_table(contest, zone, round_number)
        return [("attempts", headers, rows)]
    return results_tables(contest, zone, round_number)


#: Sheet and column names of the people's workbooks (the CSV and JSON keep the documented machine keys).
XLSX_NAMES = {
    "ranking": _l("Xếp hạng"), "xep_hang": _l("Xếp hạng"), "prediction": _l("Câu dự đoán"), "items": _l("Câu hỏi"),
    "test": _l("Thống kê bài thi"), "prizes": _l("Giải thưởng"), "giai_thuong": _l("Giải thưởng"),
    "units": _l("Đơn vị"), "don_vi": _l("Đơn vị"), "attempts": _l("Bài thi"),
    "rank": _l("Hạng"), "tied": _l("Đồng hạng"), "participant_id": _l("Số thứ tự thí sinh"),
    "full_name": _l("Họ và tên"), "phone": _l("Số điện thoại"), "unit": _l("Đơn vị"), "group": _l("Đối tượng"),
    "group_rank": _l("Hạng trong đối tượng"), "score": _l("Điểm"), "max_score": _l("Điểm tối đa"),
    "prediction_distance": _l("Chênh lệch dự đoán"), "duration_s": _l("Thời gian làm bài (giây)"),
    "duration_ms": _l("Thời gian làm bài (mili giây)"), "submitted_at": _l("Thời điểm nộp"),
    "started_at": _l("Thời điểm bắt đầu"), "round": _l("Vòng"), "position": _l("Thứ tự giải"), "label": _l("Giải"),
    "amount": _l("Giá trị giải"), "name": _l("Tên đơn vị"), "block": _l("Khối"), "headcount": _l("Biên chế"),
    "completers": _l("Số người hoàn thành"), "rate": _l("Tỷ lệ tham gia (%)"), "mean_score": _l("Điểm trung bình"),
    "winners_points": _l("Điểm giải thưởng"), "eligible": _l("Đủ điều kiện xét giải"), "prize": _l("Giải tập thể"),
    "prediction_actual": _l("Giá trị thực của câu dự đoán"), "question_id": _l("Số thứ tự câu hỏi"),
    "code": _l("Mã câu hỏi"), "type": _l("Loại câu hỏi"), "n": _l("Số lượt"), "facility": _l("Độ dễ (%)"),
    "sd": _l("Độ lệch chuẩn"), "random_guess_score": _l("Điểm đoán ngẫu nhiên (%)"),
    "intended_weight": _l("Trọng số dự kiến (%)"), "effective_weight": _l("Trọng số hiệu dụng (%)"),
    "discrimination_index": _l("Chỉ số phân biệt (%)"), "discriminative_efficiency": _l("Hiệu quả phân biệt (%)"),
    "alpha_if_deleted": _l("Alpha nếu bỏ câu"), "d27": _l("Chỉ số D (27 %)"), "option_counts": _l("Số lượt chọn"),
    "flags": _l("Cờ"), "items_per_attempt": _l("Số câu mỗi bài"), "mean": _l("Trung bình"), "median": _l("Trung vị"),
    "skewness": _l("Độ lệch"), "kurtosis": _l("Độ nhọn"), "alpha": _l("Hệ số alpha"), "cic": _l("Hệ số nhất quán"),
    "error_ratio": _l("Tỷ số sai số"), "standard_error": _l("Sai số chuẩn"),
    "thi_sinh": _l("Thí sinh"), "birth_date": _l("Ngày sinh"), "cccd_last4": _l("4 số cuối CCCD"),
    "consent_at": _l("Thời điểm đồng ý xử lý dữ liệu"), "consent_version": _l("Phiên bản nội dung đồng ý"),
    "preissued": _l("Cấp trước tài khoản"), "excluded": _l("Loại khỏi xếp hạng"), "excluded_reason": _l("Lý do loại"),
    "created_at": _l("Thời điểm đăng ký"),
}


#: Columns that the machine formats write as ISO 8601 text (a moment, or a day) and people's workbooks as real ones.
MOMENT_COLUMNS = frozenset({"started_at", "submitted_at", "consent_at", "created_at"})
DAY_COLUMNS = frozenset({"birth_date"})
#: Yes/no columns, 0/1 in the machine formats, "Có"/"Không" in people's workbooks.
YES_NO_COLUMNS = frozenset({"tied", "eligible", "preissued", "excluded"})


def _in_words(name: str) -> str:
    return str(XLSX_NAMES[name]) if name in XLSX_NAMES else name


def group_names(contest: Contest, zone: ZoneInfo) -> dict[str, str]:
    """Return the names of a contest's audience groups by their codes ("cbccvc" → "Cán bộ, công chức, viên chức")."""
    return {group.code: group.name for group in contest_spec(contest, zone).groups}


def tables_in_words(tables: list, zone: ZoneInfo | None = None, groups: dict[str, str] | None = None) -> list:
    """Make exported tables a people's workbook, in the current language: sheets and columns named in words,
    question types, yes/no and (given ``groups``, see group_names) audience groups in words, and times and days as
    real dates (local wall-clock time in ``zone``; without it, in the offset the text carries). The CSV and JSON
    keep the machine keys, codes and ISO text these are made from."""
    people_tables = []
    for title, headers, rows in tables:
        converters = {index: converter for index, header in enumerate(headers)
                      if (converter := _people_value(header, zone, groups)) is not None}
        if converters:
            rows = _converted(rows, converters)
        people_tables.append((_in_words(title), [_in_words(header) for header in headers], rows))
    return people_tables


def _people_value(header: str, zone: ZoneInfo | None, groups: dict[str, str] | None):
    """Return how a column's machine value reads in a people's workbook, or None when it stays as it is."""
    if header in MOMENT_COLUMNS:
        def moment(value: object) -> object:
            if not isinstance(value, str) or not value:
                return value
            parsed = dt.datetime.fromisoformat(value)
            return parsed.astimezone(zone) if zone is not None and parsed.tzinfo is not None else parsed
        return moment
    if header in DAY_COLUMNS:
        return lambda value: dt.date.fromisoformat(value) if isinstance(value, str) and value else value
    if header == "type":
        return lambda value: str(QUESTION_TYPE_NAMES.get(value, value)) if isinstance(value, str) else value
    if header in YES_NO_COLUMNS:
        return lambda value: value if value is None else str(_l("Có") if value else _l("Không"))
    if header == "flags":
        return lambda value: "; ".join(str(ITEM_FLAG_LABELS.get(flag, flag)) for flag in value.split(";") if flag) \
            if isinstance(value, str) else value
    if header == "group" and groups:
        return lambda value: groups.get(value, value)
    return None


def _converted(rows: Iterable[list[object]], converters: dict) -> Iterator[list[object]]:
    """Yield rows with some columns converted, lazily (an attempt export streams 200,000 rows)."""
    for row in rows:
        row = list(row)
        for index, convert in converters.items():
            if index < len(row):
                row[index] = convert(row[index])
        yield row
