"""The periodic report's content: the period's CCHC work of a unit subtree in plain Vietnamese sentences and tables.

``periodic_document`` reads (the SIPAS report, the contests held, the feedback figures when that feature exists) and
returns a ``PeriodicDocument`` whose every figure is already written the one Vietnamese way (1.204; 84,2 %): the
DOCX, the PDF and the report page all print these strings, so they never disagree. Official documents are written in
Vietnamese whatever the reader's interface language.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.contests.models import Attempt, Contest, Participant, Round
from app.contests.reports import people
from app.contests.results import contest_results
from app.documents.models import DocumentSettings
from app.extensions import db
from app.feedback.figures import feedback_figures
from app.organiser.reports import ALPHA, Estimate, SipasReport, ranked_criteria, sipas_report, units_apart
from app.periods import Period, period_words
from app.units.models import Unit

#: Criteria named as the weakest and the strongest.
NAMED_CRITERIA = 3
#: Child units named in the sentence on units clearly above or below the rest (the others are counted).
UNITS_NAMED = 5
#: Units listed in a contest's participation table, highest rate first.
CONTEST_UNITS_LISTED = 10
#: Winners listed per contest.
WINNERS_LISTED = 20
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")


# --- numbers the one Vietnamese way -------------------------------------------------------------------------------

def number(value: int | float, decimals: int = 0) -> str:
    """Write a number the Vietnamese way: 1.204; 84,2 (dot between thousands, comma before decimals)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u0001").replace(".", ",").replace("\u0001", ".")


def pct(value: float | None, decimals: int = 1) -> str:
    """Write a percentage: "84,2 %" (a dash when there is none)."""
    return "–" if value is None else f"{number(value, decimals)} %"


def points(value: float, decimals: int = 1) -> str:
    """Write a difference in percentage points without its sign: "2,1 điểm"."""
    return f"{number(abs(value), decimals)} điểm"


def official_date(day: dt.date) -> str:
    """Write a date as the decree asks: days below 10 and months 1 and 2 with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


# --- the document -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """A table of the document, every cell already written as text; ``numeric`` columns are right-aligned."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    widths: tuple[float, ...]  # relative column widths


@dataclass(frozen=True)
class Section:
    """A numbered part of the body: its heading, its sentences (one paragraph each), then its tables."""

    heading: str
    paragraphs: tuple[str, ...]
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Letterhead:
    """The parts of Decree 30/2020's layout around the body, from the unit's settings (or their defaults)."""

    parent_agency: str
    agency: str
    number: str
    place_date: str
    signer_title: tuple[str, ...]
    signer_name: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Headline:
    """The figures the first sentence states, as printed (tests compare them with the JSON report)."""

    overall: str | None
    responses: str
    change: str | None
    significant: bool | None


@dataclass(frozen=True)
class PeriodicDocument:
    """One periodic report: letterhead, "BÁO CÁO" and its subject, the sections, and the headline figures."""

    unit_code: str
    unit_name: str
    period_label: str
    period_words: str
    letterhead: Letterhead
    subject: str
    opening: str
    sections: tuple[Section, ...]
    headline: Headline
    generated_at: dt.datetime = field(compare=False)

    def file_name(self, fmt: str) -> str:
        """Return a download name such as bao-cao-AK-2026-Q3.docx."""
        return f"bao-cao-{self.unit_code}-{self.period_label.replace('..', '_')}.{fmt}"


def settings_for(unit: Unit) -> DocumentSettings:
    """Return the unit's document settings, or unsaved defaults built from its name and its parent's."""
    stored = db.session.get(DocumentSettings, unit.id)
    if stored is not None:
        return stored
    return DocumentSettings(unit_id=unit.id, parent_agency=unit.parent.name.upper() if unit.parent else "",
                            agency=unit.name.upper(), symbol="", place="", signer_title="THỦ TRƯỞNG CƠ QUAN",
                            signer_name="", recipients="")


def letterhead(settings: DocumentSettings, unit: Unit, today: dt.date) -> Letterhead:
    """Return the letterhead of a document issued today with these settings."""
    symbol = (settings.symbol or "").strip() or "…"
    place = (settings.place or "").strip() or "…"
    recipients = [line.strip().strip(";.").strip() for line in (settings.recipients or "").splitlines()]
    recipients = [line.lstrip("-").strip() for line in recipients if line]
    if not any(line.casefold().startswith("lưu") for line in recipients):
        recipients.append("Lưu: VT")
    return Letterhead(
        parent_agency=(settings.parent_agency or "").strip().upper(),
        agency=((settings.agency or "").strip() or unit.name).upper(),
        number=f"Số: …/BC-{symbol}",
        place_date=f"{place}, {official_date(today)}",
        signer_title=tuple(line.strip().upper() for line in (settings.signer_title or "").splitlines()
                           if line.strip()) or ("THỦ TRƯỞNG CƠ QUAN",),
        signer_name=(settings.signer_name or "").strip(),
        recipients=tuple(f"- {line}{'.' if index == len(recipients) - 1 else ';'}"
                         for index, line in enumerate(recipients)),
    )


def periodic_document(unit: Unit, period: Period, *, now: dt.datetime, zone: ZoneInfo,
                      report: SipasReport | None = None) -> PeriodicDocument:
    """Gather the period's work of a unit subtree into the periodic report (reads only).

    :param report: the SIPAS report of the same unit and period when the caller has it already (a page's cache).
    """
    report = report or sipas_report(unit, period, now=now)
    words = period_words(period)
    headline = _headline(report)
    sections = [_satisfaction_section(report, words)]
    if report.dossier is not None:
        sections.append(_dossier_section(report))
    contests = _contests_section(unit, period, zone)
    if contests is not None:
        sections.append(contests)
    feedback = _feedback_section(unit, period, now, zone)
    if feedback is not None:
        sections.append(feedback)
    sections.append(_closing_section(report))
    numbered = tuple(Section(f"{ROMAN[index]}. {section.heading}", section.paragraphs, section.tables)
                     for index, section in enumerate(sections))
    opening = (f"Thực hiện nhiệm vụ cải cách hành chính {words}, {unit.name} báo cáo kết quả đo lường sự hài lòng "
               f"của người dân, tổ chức và các hoạt động cải cách hành chính trong kỳ (từ ngày "
               f"{period.start:%d/%m/%Y} đến ngày {period.end:%d/%m/%Y}) như sau:")
    today = now.astimezone(zone).date()
    return PeriodicDocument(
        unit_code=unit.code, unit_name=unit.name, period_label=period.label, period_words=words,
        letterhead=letterhead(settings_for(unit), unit, today),
        subject=f"Kết quả cải cách hành chính và mức độ hài lòng của người dân, tổ chức {words}",
        opening=opening, sections=numbered, headline=headline, generated_at=now,
    )


def _headline(report: SipasReport) -> Headline:
    overall = report.overall.value
    change = significant = None
    if report.comparison is not None and report.comparison.overall.difference is not None and overall is not None:
        change = points(report.comparison.overall.difference)
        p_value = report.comparison.overall.p_value
        significant = None if p_value is None else p_value < ALPHA
    return Headline(None if overall is None else pct(overall), number(report.responses), change, significant)


def _change_clause(report: SipasReport) -> str | None:
    """Say how the overall index moved against the previous period, and whether that is more than noise (None when
    there is nothing to compare with)."""
    comparison = report.comparison
    if comparison is None or comparison.overall.difference is None or comparison.overall.previous is None:
        return None
    previous_words = period_words(Period(comparison.period.start, comparison.period.end, comparison.period.label))
    difference = comparison.overall.difference
    if round(difference, 1) == 0:
        moved = f"không thay đổi so với {previous_words} ({pct(comparison.overall.previous)})"
    else:
        moved = (f"{'tăng' if difference > 0 else 'giảm'} {points(difference)} so với {previous_words} "
                 f"({pct(comparison.overall.previous)})")
    p_value = comparison.overall.p_value
    if p_value is None:
        verdict = "chưa đủ số liệu để kết luận mức thay đổi là thực chất"
    elif p_value < ALPHA:
        verdict = f"mức {'tăng' if difference > 0 else 'giảm'} có ý nghĩa thống kê"
    else:
        verdict = "mức chênh lệch nằm trong sai số ngẫu nhiên, không có ý nghĩa thống kê"
    return f"{moved}, {verdict}"


def _satisfaction_section(report: SipasReport, words: str) -> Section:
    heading = "KẾT QUẢ ĐO LƯỜNG SỰ HÀI LÒNG TẠI BỘ PHẬN MỘT CỬA"
    if report.instrument is None or report.overall.value is None:
        return Section(heading, (f"Trong {words}, chưa có đủ phiếu khảo sát hợp lệ để tính chỉ số hài lòng "
                                 f"(số phiếu: {number(report.responses)}).",))
    change = _change_clause(report)
    first = (f"Trong {words}, đơn vị nhận được {number(report.responses)} phiếu khảo sát hợp lệ qua mã QR tại bộ "
             f"phận một cửa; chỉ số hài lòng chung đạt {pct(report.overall.value)} (n = {number(report.overall.n)})"
             + (f", {change}." if change else ". Không có số liệu kỳ trước để so sánh."))
    paragraphs = [first]
    elements = [e for e in report.elements if e.estimate.value is not None]
    if elements:
        best = max(elements, key=lambda e: e.estimate.value)
        worst = min(elements, key=lambda e: e.estimate.value)
        if pct(best.estimate.value) == pct(worst.estimate.value):
            paragraphs.append(f"Các yếu tố được đánh giá ngang nhau ({pct(best.estimate.value)}).")
        else:
            paragraphs.append(f"Theo yếu tố, “{best.title}” được đánh giá cao nhất ({pct(best.estimate.value)}); "
                              f"“{worst.title}” thấp nhất ({pct(worst.estimate.value)}).")
    weakest, strongest = ranked_criteria(report, NAMED_CRITERIA)
    if weakest:
        paragraphs.append("Ba tiêu chí có tỷ lệ hài lòng thấp nhất, cần ưu tiên cải thiện: " + "; ".join(
            f"{c.text} ({pct(c.estimate.value)})" for c in weakest) + ".")
        paragraphs.append("Ba tiêu chí được đánh giá cao nhất: " + "; ".join(
            f"{c.text} ({pct(c.estimate.value)})" for c in strongest) + ".")
    above, below = units_apart(report)
    if above or below:
        parts = []
        if above:
            parts.append("cao hơn rõ rệt so với mức chung: " + _some_units(above))
        if below:
            parts.append("thấp hơn rõ rệt: " + _some_units(below))
        paragraphs.append("Giữa các đơn vị trực thuộc, " + "; ".join(parts) + ".")
    elif len([c for c in report.children if c.estimate.value is not None]) > 1:
        paragraphs.append("Chưa có đơn vị trực thuộc nào cao hơn hoặc thấp hơn rõ rệt so với mức chung.")
    if report.abuse.flagged:
        paragraphs.append(f"Có {number(report.abuse.flagged)} phiếu có dấu hiệu bất thường (trả lời quá nhanh, "
                          f"gửi dồn dập hoặc trùng lặp) đã được đánh dấu để xem xét; các phiếu này vẫn được tính.")
    paragraphs.append("Ghi chú: người dân tự nguyện trả lời qua mã QR, không phải mẫu xác suất; “rõ rệt” và “có ý "
                      "nghĩa thống kê” là khác biệt vượt quá sai số ngẫu nhiên ở độ tin cậy 95 %.")
    tables = [Table("Bảng 1. Chỉ số hài lòng theo yếu tố", ("Yếu tố", "Chỉ số hài lòng", "Số phiếu"),
                    tuple((e.title, _value(e.estimate), number(e.estimate.n)) for e in report.elements)
                    + (("Chỉ số hài lòng chung", _value(report.overall), number(report.overall.n)),),
                    (False, True, True), (6, 2.2, 1.8))]
    children = [c for c in report.children if c.estimate.n]
    if children:
        tables.append(Table("Bảng 2. Chỉ số hài lòng theo đơn vị", ("Hạng", "Đơn vị", "Chỉ số hài lòng", "Số phiếu"),
                            tuple(("–" if c.rank is None else str(c.rank), c.name, _value(c.estimate),
                                   number(c.estimate.n)) for c in children),
                            (True, False, True, True), (1, 5.2, 2.2, 1.6)))
    return Section(heading, tuple(paragraphs), tuple(tables))


def _some_units(units: Sequence) -> str:
    """Name the first units of a list with their index, and count the rest (a province has hundreds of communes;
    every one is in Bảng 2)."""
    named = ", ".join(f"{c.name} ({pct(c.estimate.value)})" for c in units[:UNITS_NAMED])
    rest = len(units) - UNITS_NAMED
    return named + (f" và {number(rest)} đơn vị khác (Bảng 2)" if rest > 0 else "")


def _value(estimate: Estimate) -> str:
    return "ẩn (ít phiếu)" if estimate.value is None else pct(estimate.value)


def _dossier_section(report: SipasReport) -> Section:
    dossier = report.dossier
    paragraphs = (f"Người dân, tổ chức đánh giá {number(dossier.n)} lượt việc giải quyết hồ sơ bằng đường dẫn một "
                  f"lần gửi kèm kết quả; tỷ lệ hài lòng (Hài lòng và Rất hài lòng) đạt "
                  f"{_value(dossier.satisfaction)}.",)
    table = Table("Bảng 3. Đánh giá việc giải quyết hồ sơ", ("Mức đánh giá", "Số lượt", "Tỷ lệ"),
                  tuple((level.label, number(level.count), _value(level.estimate)) for level in dossier.levels),
                  (False, True, True), (5, 2, 2))
    return Section("ĐÁNH GIÁ VIỆC GIẢI QUYẾT HỒ SƠ", paragraphs, (table,))


def contests_held(unit: Unit, period: Period, zone: ZoneInfo) -> list[Contest]:
    """Return the contests organised in the subtree with a round open during the period (drafts left out)."""
    start = dt.datetime.combine(period.start, dt.time(), zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), zone)
    held = (sa.select(Round.contest_id).where(Round.opens_at < end, Round.closes_at > start))
    return list(db.session.scalars(
        sa.select(Contest).join(Unit, Unit.id == Contest.unit_id)
        .where(Unit.is_within(unit), Contest.status != "draft", Contest.id.in_(held)).order_by(Contest.id)))


#: Attempt states whose answers are marked: the ones the results count.
FINISHED = ("submitted", "expired")


@dataclass(frozen=True)
class UnitParticipation:
    """A unit with a headcount in a contest's subtree: how many of its people finished (contest.md §5.6)."""

    name: str
    headcount: int
    completers: int
    #: 100 · completers / headcount, rounded half up to 2 decimals and capped at 100 (as the unit ranking).
    rate: float


@dataclass(frozen=True)
class ContestLine:
    """A contest held in the period: who registered, who finished, and each unit's participation."""

    contest: Contest
    registered: int
    completers: int
    #: Completers per 100 registered (None without registrations).
    completion: float | None
    units: tuple[UnitParticipation, ...]


def contest_participation(unit: Unit, period: Period, zone: ZoneInfo) -> list[ContestLine]:
    """Return the contests held in the subtree during the period with their participation (reads only).

    Counted in SQL, one grouped row per unit: a contest of 200,000 attempts never comes into Python row by row (its
    full results, rankings and prizes, are computed only for the winners of a published contest).
    """
    contests = contests_held(unit, period, zone)
    if not contests:
        return []
    ids = [c.id for c in contests]
    registered = dict(db.session.execute(
        sa.select(Participant.contest_id, sa.func.count()).where(Participant.contest_id.in_(ids))
        .group_by(Participant.contest_id)).all())
    # A completer is a participant, not excluded, with a finished attempt (a semi-join: each counted once however
    # many rounds they finished, without sorting 200,000 ids); they count for their own unit.
    finished_by = sa.select(Attempt.participant_id).where(Attempt.contest_id.in_(ids), Attempt.state.in_(FINISHED))
    finished: dict[int, dict[int, int]] = {contest_id: {} for contest_id in ids}
    for contest_id, unit_id, count in db.session.execute(
            sa.select(Participant.contest_id, Participant.unit_id, sa.func.count())
            .where(Participant.contest_id.in_(ids), sa.not_(Participant.excluded), Participant.id.in_(finished_by))
            .group_by(Participant.contest_id, Participant.unit_id)):
        finished[contest_id][unit_id] = count
    lines = []
    for contest in contests:
        total, by_unit = registered.get(contest.id, 0), finished[contest.id]
        completers = sum(by_unit.values())
        lines.append(ContestLine(contest, total, completers, 100 * completers / total if total else None,
                                 _unit_participation(contest, by_unit)))
    return lines


def _unit_participation(contest: Contest, completers: dict[int, int]) -> tuple[UnitParticipation, ...]:
    """Give each unit with a headcount its completers: a person counts for the nearest unit at or above their own
    that has a headcount; once results are published, the headcounts frozen then (as the contest's results)."""
    rows = db.session.execute(sa.select(Unit.id, Unit.name, Unit.headcount, Unit.path)
                              .where(Unit.is_within(contest.unit)).order_by(Unit.path)).all()
    frozen = contest.unit_headcounts
    headcount = {row.id: (frozen.get(str(row.id), 0) if frozen is not None else row.headcount or 0) for row in rows}
    counted = {row.path: row for row in rows if headcount[row.id] > 0}
    path_of = {row.id: row.path for row in rows}
    done = dict.fromkeys(counted, 0)
    for unit_id, count in completers.items():
        parts = path_of.get(unit_id, "").strip("/").split("/")
        owner = next((f"/{'/'.join(parts[:i])}/" for i in range(len(parts), 0, -1)
                      if f"/{'/'.join(parts[:i])}/" in counted), None)
        if owner is not None:
            done[owner] += count
    # Rounded half up in whole numbers (no float rounding on the way), capped: more is full participation.
    return tuple(UnitParticipation(row.name, headcount[row.id], done[path],
                                   min(100.0, (20_000 * done[path] + headcount[row.id]) // (2 * headcount[row.id])
                                       / 100))
                 for path, row in counted.items())


def _contests_section(unit: Unit, period: Period, zone: ZoneInfo) -> Section | None:
    lines = contest_participation(unit, period, zone)
    if not lines:
        return None
    paragraphs: list[str] = []
    tables: list[Table] = []
    for line in lines:
        contest, total, completers, rate = line.contest, line.registered, line.completers, line.completion
        sentence = (f"Cuộc thi “{contest.title}” ({len(contest.rounds)} đợt): {number(total)} người đăng ký dự thi, "
                    f"{number(completers)} người hoàn thành bài thi"
                    + (f" (đạt {pct(rate)})" if rate is not None else "") + ".")
        # Prizes are the committee's once results are published; before that they move with every attempt.
        awards = contest_results(contest, zone).awards if contest.results_published_at is not None else ()
        if awards:
            sentence += f" Đã xác định {number(len(awards))} giải cá nhân."
        if contest.results_published_at is None:
            sentence += " Kết quả chưa được công bố."
        paragraphs.append(sentence)
        units = sorted(line.units, key=lambda u: (-u.rate, u.name))[:CONTEST_UNITS_LISTED]
        if units:
            tables.append(Table(f"Tỷ lệ tham gia theo đơn vị – {contest.title}",
                                ("Đơn vị", "Biên chế", "Hoàn thành", "Tỷ lệ tham gia"),
                                tuple((u.name, number(u.headcount), number(u.completers), pct(u.rate))
                                      for u in units), (False, True, True, True), (5, 1.6, 1.8, 2)))
        if awards:
            listed = awards[:WINNERS_LISTED]
            names = people([a.participant_id for a in listed])
            tables.append(Table(f"Người đoạt giải – {contest.title}", ("Giải", "Họ và tên", "Đơn vị"),
                                tuple((a.label, names.get(a.participant_id, (None,))[0] or "(đã xoá dữ liệu cá nhân)",
                                       (names.get(a.participant_id) or (None, None, ""))[2]) for a in listed),
                                (False, False, False), (2.5, 4, 4)))
    return Section("CUỘC THI TÌM HIỂU VỀ CẢI CÁCH HÀNH CHÍNH", tuple(paragraphs), tuple(tables))


def _feedback_section(unit: Unit, period: Period, now: dt.datetime, zone: ZoneInfo) -> Section | None:
    """The feedback received and answered in the period, and the share answered on time (indicator 8)."""
    figures = feedback_figures(unit, period, now, zone)
    if not figures["received"] and not figures["due"] and not figures["overdue_now"]:
        return None
    paragraphs = [f"Trong kỳ, đơn vị tiếp nhận {number(figures['received'])} phản ánh, kiến nghị của người dân, "
                  f"tổ chức; đã trả lời {number(figures['answered'])} phản ánh, kiến nghị."]
    if figures["decided"]:
        paragraphs.append(
            f"Trong {number(figures['decided'])} phản ánh, kiến nghị đến hạn trả lời, {number(figures['on_time'])} "
            f"được trả lời đúng hạn (tỷ lệ {pct(100 * figures['on_time_share'])}), tương ứng "
            f"{number(figures['indicator_8_points'])} điểm theo tiêu chí đánh giá về tiếp nhận, xử lý phản ánh, "
            f"kiến nghị.")
    if figures["overdue_now"]:
        paragraphs.append(f"Hiện còn {number(figures['overdue_now'])} phản ánh, kiến nghị quá hạn chưa trả lời.")
    return Section("TIẾP NHẬN VÀ TRẢ LỜI PHẢN ÁNH, KIẾN NGHỊ", tuple(paragraphs))


def _closing_section(report: SipasReport) -> Section:
    paragraphs = []
    weakest, _ = ranked_criteria(report, 1)
    if weakest:
        paragraphs.append(f"Trong kỳ tới, đơn vị tập trung cải thiện tiêu chí “{weakest[0].text}”, tiếp tục "
                          f"mời người dân đánh giá sau mỗi lần giải quyết thủ tục hành chính.")
    paragraphs.append("Đề xuất, kiến nghị: …")
    return Section("PHƯƠNG HƯỚNG, KIẾN NGHỊ", tuple(paragraphs))


def flatten_text(document: PeriodicDocument) -> Sequence[str]:
    """Return every line of text of the document in reading order (for tests and the PDF fallback)."""
    lines = [document.letterhead.parent_agency, document.letterhead.agency, document.letterhead.number,
             document.letterhead.place_date, "BÁO CÁO", document.subject, document.opening]
    for section in document.sections:
        lines += [section.heading, *section.paragraphs]
    return lines
