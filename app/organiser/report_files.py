"""Render a SipasReport as JSON data, CSV rows, an XLSX workbook and a printable PDF (fpdf2, DejaVu, charts)."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import IO
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList

from app.periods import period_words
from app.exports import POINTS_FORMAT, Sheet, write_csv, write_xlsx
from app.i18n import local_time, percent, whole_number
from app.organiser.charts import available_charts, render_chart
from app.organiser.reports import Change, Estimate, SipasReport
from app.organiser.services import CommentFilter, list_comments
from app.pdf import add_dejavu
from app.periods import Period
from app.units.models import Unit

#: Columns of the CSV form of a report (one row per published figure).
CSV_HEADERS = ("section", "code", "name", "value", "n", "ci_low", "ci_high", "flags", "alpha", "rank",
               "not_different_from", "previous", "difference", "p_value")
#: How the report's aggregation rules read in words (the method's codes stay in the JSON).
RULE_LABELS = {
    "mean": _l("trung bình cộng"),
    "mean_of_elements": _l("trung bình cộng các yếu tố"),
    "mean_of_criteria": _l("trung bình cộng mọi tiêu chí"),
    "pooled": _l("gộp mọi câu trả lời"),
    "mean_of_children": _l("trung bình cộng các đơn vị trực thuộc"),
}
FLAG_LABELS = {
    "small_sample": _l("mẫu nhỏ (n < 30)"),
    "wide_interval": _l("khoảng tin cậy rộng (> ±10 điểm)"),
    "suppressed": _l("ẩn vì quá ít phiếu"),
}


# --- JSON -------------------------------------------------------------------------------------------------------


def report_data(report: SipasReport) -> dict:
    """Return the report as the JSON document described in README ("SIPAS report JSON")."""
    comparison = report.comparison
    return {
        "unit": {"code": report.unit_code, "name": report.unit_name},
        "period": _period(report.period),
        "generated_at": report.generated_at.isoformat(),
        "instrument": None if report.instrument is None else {
            "code": report.instrument.code, "version": report.instrument.version, "kind": report.instrument.kind,
            "title": report.instrument.title, "responses": report.instrument.responses},
        "other_versions": [{"code": info.code, "version": info.version, "responses": info.responses}
                           for info in report.other_versions],
        "responses": report.responses,
        "overall": _cell(report.overall),
        "elements": [{"code": e.code, "title": e.title, **_cell(e.estimate), "alpha": e.alpha, "alpha_n": e.alpha_n,
                      "criteria": list(e.criteria)} for e in report.elements],
        "criteria": [{"code": c.code, "element": c.element, "text": c.text, **_cell(c.estimate), "mean": c.mean}
                     for c in report.criteria],
        "children": [{"unit": c.unit, "name": c.name, "own": c.own, **_cell(c.estimate), "rank": c.rank,
                      "best_rank": c.best_rank, "worst_rank": c.worst_rank,
                      "not_different_from": list(c.not_different_from), "flagged": c.flagged}
                     for c in report.children],
        "children_test": None if report.children_test is None else vars(report.children_test).copy(),
        "comparison": None if comparison is None else {
            "period": _period(comparison.period), "responses": comparison.previous_responses,
            "overall": _change(comparison.overall),
            "elements": [_change(change) for change in comparison.elements],
            "criteria": [_change(change) for change in comparison.criteria],
        },
        "trend": {"granularity": report.trend.granularity,
                  "points": [{"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(),
                              **_cell(p.estimate)} for p in report.trend.points],
                  "slope": report.trend.slope, "slope_se": report.trend.slope_se, "p_value": report.trend.p_value},
        "weighted": None if report.weighted is None else {
            "label": report.weighted.label, "overall": _cell(report.weighted.overall),
            "elements": [{"code": code, **_cell(estimate)} for code, estimate in report.weighted.elements],
            "dossiers": report.weighted.dossiers, "effective_n": report.weighted.effective_n,
            "design_effect": report.weighted.design_effect,
            "uncovered_volume_share": report.weighted.uncovered_volume_share,
            "unweighted_responses": report.weighted.unweighted_responses},
        "service_fields": [{"code": f.code, "name": f.name, **_cell(f.estimate)} for f in report.fields],
        "daily": [{"date": day.day.isoformat(), "responses": day.responses} for day in report.daily],
        "review_flags": _abuse(report),
        "dossier": None if report.dossier is None else {
            "instrument": {"code": report.dossier.instrument.code, "version": report.dossier.instrument.version},
            "n": report.dossier.n, "satisfaction": _cell(report.dossier.satisfaction),
            "levels": [{"level": level.level, "label": level.label, "count": level.count, **_cell(level.estimate)}
                       for level in report.dossier.levels]},
        "method": None if report.method is None else {**vars(report.method), "satisfied": list(report.method.satisfied)},
    }


def _period(period) -> dict:
    return {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _cell(estimate: Estimate) -> dict:
    return {"value": estimate.value, "n": estimate.n, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
            "flags": list(estimate.flags)}


def _change(change: Change) -> dict:
    return vars(change).copy()


def _abuse(report: SipasReport) -> dict:
    abuse = report.abuse
    return {"responses": abuse.responses, "fast": abuse.fast, "burst": abuse.burst, "duplicate": abuse.duplicate,
            "untimed": abuse.untimed, "flagged": abuse.flagged,
            "thresholds": {"fast_seconds": abuse.fast_seconds, "burst_size": abuse.burst_size,
                           "burst_minutes": abuse.burst_minutes, "duplicate_minutes": abuse.duplicate_minutes},
            "counters": [vars(counter).copy() for counter in abuse.counters]}


# --- CSV --------------------------------------------------------------------------------------------------------


def report_rows(report: SipasReport) -> Iterator[list[object]]:
    """Yield one CSV row per published figure, in CSV_HEADERS order."""
    changes = {}
    if report.comparison is not None:
        comparison = report.comparison
        changes = {("overall", change.code): change for change in (comparison.overall,)}
        changes |= {("element", change.code): change for change in comparison.elements}
        changes |= {("criterion", change.code): change for change in comparison.criteria}

    def row(section: str, code: str, name: str, estimate: Estimate, *, alpha=None, rank=None, peers=()):
        change = changes.get((section, code))
        return [section, code, name, estimate.value, estimate.n, estimate.ci_low, estimate.ci_high,
                " ".join(estimate.flags), alpha, rank, " ".join(peers),
                change.previous if change else None, change.difference if change else None,
                change.p_value if change else None]

    yield row("overall", "overall", report.unit_name, report.overall)
    for element in report.elements:
        yield row("element", element.code, element.title, element.estimate, alpha=element.alpha)
    for criterion in report.criteria:
        yield row("criterion", criterion.code, criterion.text, criterion.estimate)
    for child in report.children:
        yield row("child", child.unit, child.name, child.estimate, rank=child.rank, peers=child.not_different_from)
    for point in report.trend.points:
        yield row("trend", point.label, point.label, point.estimate)
    for field in report.fields:
        yield row("service_field", field.code, field.name, field.estimate)
    if report.weighted is not None:
        yield row("weighted", "overall", report.weighted.label, report.weighted.overall)
        for code, estimate in report.weighted.elements:
            yield row("weighted", code, report.weighted.label, estimate)
    if report.dossier is not None:
        yield row("dossier", "satisfaction", report.dossier.instrument.title, report.dossier.satisfaction)
        for level in report.dossier.levels:
            yield row("dossier", str(level.level), level.label, level.estimate)


def write_report_csv(report: SipasReport, stream: IO[str]) -> None:
    """Write the report's figures as a formula-safe CSV."""
    write_csv(CSV_HEADERS, report_rows(report), stream)


# --- XLSX -------------------------------------------------------------------------------------------------------

#: Most comments written into a workbook (newest first).
COMMENT_LIMIT = 5000


def comment_rows(root: Unit, report: SipasReport, zone: ZoneInfo, locale: str = "vi") -> list[list[object]]:
    """Return the free-text answers of the report's instrument, subtree and period as workbook rows."""
    codes = [info.code for info in (report.instrument, report.dossier and report.dossier.instrument) if info]
    period = Period(report.period.start, report.period.end, report.period.label)
    comments = [comment for code in codes
                for comment in list_comments(root, CommentFilter(period=period, instrument_code=code), 1,
                                             COMMENT_LIMIT, locale).items]
    comments.sort(key=lambda comment: comment.submitted_at, reverse=True)
    return [[comment.submitted_at.astimezone(zone).replace(tzinfo=None), comment.unit_name, comment.counter_name,
             comment.field_name, label, text]
            for comment in comments[:COMMENT_LIMIT] for label, text in comment.texts]



def write_report_xlsx(report: SipasReport, comments: Iterable[Sequence[object]], target: str | IO[bytes]) -> None:
    """Write the workbook: summary (with a native bar chart of the element indices), elements, criteria, children,
    trend, service fields, comments; indices as numbers shown "84,45 %", dates as dates."""
    comparison = report.comparison
    element_changes = {change.code: change for change in comparison.elements} if comparison else {}
    criterion_changes = {change.code: change for change in comparison.criteria} if comparison else {}
    estimate_headers = [str(_l("Chỉ số (%)")), str(_l("Số phiếu (n)")), str(_l("Cận dưới 95%")),
                        str(_l("Cận trên 95%")), str(_l("Lưu ý"))]
    change_headers = [str(_l("Kỳ trước (%)")), str(_l("Chênh lệch (điểm)")), str(_l("Giá trị p"))]

    def points(first: int, count: int = 3) -> dict[int, str]:
        return {first + offset: POINTS_FORMAT for offset in range(count) if offset != 1}

    elements_title = str(_l("Yếu tố"))
    charts = []
    if report.elements:
        chart = BarChart()
        chart.type = "bar"
        chart.title = str(_l("Chỉ số hài lòng theo yếu tố (%)"))
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.y_axis.numFmt = "0"
        chart.legend = None
        chart.height, chart.width = 9, 18
        last = len(report.elements) + 1
        sheet = "'" + elements_title.replace("'", "''") + "'"
        chart.add_data(Reference(range_string=f"{sheet}!$C$1:$C${last}"), titles_from_data=True)
        chart.set_categories(Reference(range_string=f"{sheet}!$B$2:$B${last}"))
        chart.dataLabels = DataLabelList()
        chart.dataLabels.showVal = True
        charts.append((chart, "D2"))
    sheets = [
        Sheet(str(_l("Tổng hợp")), [str(_l("Mục")), str(_l("Giá trị"))], summary_lines(report), charts=charts),
        Sheet(elements_title, [str(_l("Mã")), str(_l("Yếu tố")), *estimate_headers, "Cronbach alpha",
                               *change_headers],
              [[e.code, e.title, *_estimate_cells(e.estimate), e.alpha, *_change_cells(element_changes.get(e.code))]
               for e in report.elements],
              formats={**points(2, 4), 7: "0.000", 8: POINTS_FORMAT, 9: "0.00", 10: "0.0000"}),
        Sheet(str(_l("Tiêu chí")), [str(_l("Mã")), str(_l("Yếu tố")), str(_l("Tiêu chí")), *estimate_headers,
                                    str(_l("Điểm trung bình")), *change_headers],
              [[c.code, c.element, c.text, *_estimate_cells(c.estimate), c.mean,
                *_change_cells(criterion_changes.get(c.code))] for c in report.criteria],
              formats={**points(3, 4), 8: "0.00", 9: POINTS_FORMAT, 10: "0.00", 11: "0.0000"}),
        Sheet(str(_l("Đơn vị")), [str(_l("Hạng")), str(_l("Mã")), str(_l("Đơn vị")), *estimate_headers,
                                  str(_l("Không khác biệt có ý nghĩa với")), str(_l("Phiếu bị gắn cờ"))],
              [[c.rank, c.unit, c.name, *_estimate_cells(c.estimate), _names(report, c.not_different_from),
                c.flagged] for c in report.children],
              formats=points(3, 4)),
        Sheet(str(_l("Xu hướng")), [str(_l("Kỳ")), str(_l("Từ ngày")), str(_l("Đến ngày")), *estimate_headers],
              [[p.label, p.start, p.end, *_estimate_cells(p.estimate)] for p in report.trend.points],
              formats=points(3, 4)),
        Sheet(str(_l("Lĩnh vực")), [str(_l("Mã")), str(_l("Lĩnh vực")), *estimate_headers],
              [[f.code, f.name, *_estimate_cells(f.estimate)] for f in report.fields], formats=points(2, 4)),
        Sheet(str(_l("Ý kiến")), [str(_l("Thời điểm")), str(_l("Đơn vị")), str(_l("Quầy")), str(_l("Lĩnh vực")),
                                  str(_l("Câu hỏi")), str(_l("Ý kiến"))], comments),
    ]
    write_xlsx(sheets, target)


def _names(report: SipasReport, codes: Sequence[str]) -> str:
    names = {child.unit: child.name for child in report.children}
    return ", ".join(names.get(code, code) for code in codes)


def _estimate_cells(estimate: Estimate) -> list[object]:
    return [estimate.value, estimate.n, estimate.ci_low, estimate.ci_high, flag_text(estimate.flags)]


def _change_cells(change: Change | None) -> list[object]:
    return [None, None, None] if change is None else [change.previous, change.difference, change.p_value]


def flag_text(flags: Sequence[str]) -> str:
    """Return the flags of a figure in words."""
    return "; ".join(str(FLAG_LABELS.get(flag, flag)) for flag in flags)


def summary_lines(report: SipasReport) -> list[list[object]]:
    """Return the (label, value) lines of the report's summary (XLSX sheet and PDF first page)."""
    lines: list[list[object]] = [
        [str(_l("Đơn vị")), report.unit_name],
        [str(_l("Kỳ báo cáo")), report.period.label],
        [str(_l("Từ ngày")), report.period.start],
        [str(_l("Đến ngày")), report.period.end],
        [str(_l("Phiếu khảo sát")), "–" if report.instrument is None else
         f"{report.instrument.title} ({_l('phiên bản')} {report.instrument.version})"],
        [str(_l("Số phiếu hợp lệ")), report.responses],
        [str(_l("Chỉ số hài lòng chung (%)")), report.overall.value],
        [str(_l("Cận dưới khoảng tin cậy 95%")), report.overall.ci_low],
        [str(_l("Cận trên khoảng tin cậy 95%")), report.overall.ci_high],
    ]
    if report.overall.flags:
        lines.append([str(_l("Lưu ý")), flag_text(report.overall.flags)])
    if report.comparison is not None:
        change = report.comparison.overall
        lines += [
            [str(_l("Kỳ trước")), report.comparison.period.label],
            [str(_l("Số phiếu kỳ trước")), report.comparison.previous_responses],
            [str(_l("Chỉ số kỳ trước (%)")), change.previous],
            [str(_l("Chênh lệch (điểm)")), change.difference],
            [str(_l("Giá trị p (kiểm định z)")), change.p_value],
        ]
    if report.weighted is not None:
        lines += [[report.weighted.label, report.weighted.overall.value]]
    if report.dossier is not None:
        lines += [[str(_l("Tỷ lệ hài lòng với việc giải quyết hồ sơ (%)")), report.dossier.satisfaction.value],
                  [str(_l("Số lượt đánh giá hồ sơ")), report.dossier.n]]
    lines.append([str(_l("Phiếu bị gắn cờ cần xem xét")), report.abuse.flagged])
    if report.method is not None:
        method = report.method
        lines += [
            [str(_l("Cách tính")), method_text(method)],
            [str(_l("Ẩn số liệu khi n dưới")), method.min_n],
            [str(_l("Loại khảo sát")), method.survey],
        ]
    return lines


def method_text(method) -> str:
    """Return how the indices are computed, in words (the rules' codes stay in the JSON)."""
    return str(_l("Chỉ số tiêu chí = tỷ lệ trả lời mức %(levels)s trên số trả lời hợp lệ; yếu tố: %(element)s; "
                  "chung: %(overall)s; đơn vị cha: %(units)s",
                  levels=", ".join(map(str, method.satisfied)), element=rule_text(method.element_rule),
                  overall=rule_text(method.overall_rule), units=rule_text(method.unit_rule)))


def rule_text(rule: str) -> str:
    """Return an aggregation rule in words."""
    return str(RULE_LABELS.get(rule, rule))


def _date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _interval(estimate: Estimate) -> str:
    if estimate.ci_low is None:
        return "–"
    return f"{percent(estimate.ci_low)} – {percent(estimate.ci_high)}"


# --- PDF: the statistical annex ----------------------------------------------------------------------------------

#: Usable width of an A4 page between the 15 mm margins fpdf2 leaves by default (mm).
_PAGE_WIDTH = 180


class _AnnexPDF(FPDF):
    """A4 pages with the DejaVu font (Vietnamese) and a footer naming the annex, its unit and period, and the page."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 6, str(_l("%(annex)s · Trang %(page)d/%(pages)s", annex=self.footer_text, page=self.page_no(),
                                pages="{nb}")), align="C")
        self.set_text_color(0, 0, 0)


def period_name(period) -> str:
    """Name a report's period for people: in words ("quý II năm 2026", "Q2 2026"), with its days."""
    days = f"{_date(period.start)} – {_date(period.end)}"
    words = period_words(period, str(get_locale()))
    return words if ".." in period.label else f"{words} ({days})"


def render_report_pdf(report: SipasReport) -> bytes:
    """Return the statistical annex of the periodic report as a PDF: a title block (unit, period, instrument), the
    summary, the charts, and the tables of elements, criteria (grouped by element) and child units; every number
    written one way (indices "84,45 %", counts "1.204", reliability "0,807")."""
    pdf = _AnnexPDF(format="A4", unit="mm")
    title = str(_l("Phụ lục số liệu thống kê"))
    period = period_name(report.period)
    pdf.footer_text = f"{title} · {report.unit_name}"
    pdf.set_title(f"{title}: {report.unit_name}, {period}")
    add_dejavu(pdf)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    _title_block(pdf, title, report, period)
    _pdf_heading(pdf, str(_l("1. Tổng hợp")))
    _pdf_table(pdf, [str(_l("Nội dung")), str(_l("Số liệu"))], _annex_summary(report), (75, 105))
    charts = available_charts(report)
    if charts:
        _pdf_heading(pdf, str(_l("2. Biểu đồ")))
        for name in charts:
            _pdf_chart(pdf, render_chart(report, name, "png"))
    _pdf_heading(pdf, str(_l("3. Chỉ số theo yếu tố")))
    _pdf_table(pdf, [str(_l("Yếu tố")), str(_l("Chỉ số")), str(_l("Số phiếu")), str(_l("Khoảng tin cậy 95 %")),
                     str(_l("Độ nhất quán (Cronbach α)"))],
               [[e.title, _points(e.estimate.value), whole_number(e.estimate.n), _interval(e.estimate),
                 _decimal(e.alpha, 3)] for e in report.elements], (68, 22, 20, 40, 30), numeric_from=1)
    _pdf_heading(pdf, str(_l("4. Chỉ số theo tiêu chí")))
    for element in report.elements:
        rows = [[c.text, _points(c.estimate.value), whole_number(c.estimate.n), _interval(c.estimate)]
                for c in report.criteria if c.element == element.code]
        if rows:
            _pdf_subheading(pdf, element.title)
            _pdf_table(pdf, [str(_l("Tiêu chí")), str(_l("Chỉ số")), str(_l("Số trả lời")),
                             str(_l("Khoảng tin cậy 95 %"))], rows, (98, 22, 20, 40), numeric_from=1)
    if report.children:
        _pdf_heading(pdf, str(_l("5. Đơn vị trực thuộc")))
        _pdf_table(pdf, [str(_l("Hạng")), str(_l("Đơn vị")), str(_l("Chỉ số")), str(_l("Số phiếu")),
                         str(_l("Khoảng tin cậy 95 %"))],
                   [[whole_number(c.rank) if c.rank else "–", c.name,
                     _points(c.estimate.value) if c.estimate.value is not None else str(_l("chưa đủ phiếu")),
                     whole_number(c.estimate.n), _interval(c.estimate)] for c in report.children],
                   (15, 79, 26, 20, 40), numeric_from=2)
    _pdf_glossary(pdf)
    return bytes(pdf.output())


def _title_block(pdf: FPDF, title: str, report: SipasReport, period: str) -> None:
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10.5)
    pdf.multi_cell(0, 5.5, str(_l("Kèm theo báo cáo kết quả khảo sát sự hài lòng về sự phục vụ hành chính")),
                   align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6.5, report.unit_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, str(_l("Kỳ báo cáo: %(period)s", period=period)), align="C", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(0, 5, str(_l("Số liệu lập lúc %(time)s", time=local_time(report.generated_at))), align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(pdf.l_margin + 55, pdf.get_y() + 2, pdf.w - pdf.r_margin - 55, pdf.get_y() + 2)
    pdf.ln(4)


def _annex_summary(report: SipasReport) -> list[list[str]]:
    """Return the summary lines of the annex, each value written as people read it."""
    instrument = report.instrument
    lines = [
        [str(_l("Phiếu khảo sát")), "–" if instrument is None else
         str(_l("%(title)s (phiên bản %(version)d)", title=instrument.title, version=instrument.version))],
        [str(_l("Số phiếu hợp lệ")), whole_number(report.responses)],
        [str(_l("Chỉ số hài lòng chung")), _points(report.overall.value)],
        [str(_l("Khoảng tin cậy 95 %")), _interval(report.overall)],
    ]
    if report.overall.flags:
        lines.append([str(_l("Lưu ý")), flag_text(report.overall.flags)])
    comparison = report.comparison
    if comparison is not None and comparison.previous_responses and comparison.overall.previous is not None:
        change = comparison.overall
        previous = _l("%(period)s: %(value)s (%(n)s phiếu)", period=period_name(comparison.period),
                      value=_points(change.previous), n=whole_number(comparison.previous_responses))
        lines.append([str(_l("Kỳ trước")), str(previous)])
        if change.difference is not None:
            verdict = _l("có ý nghĩa thống kê") if change.p_value is not None and change.p_value < 0.05 \
                else _l("trong phạm vi sai số ngẫu nhiên")
            lines.append([str(_l("Thay đổi so với kỳ trước")),
                          str(_l("%(difference)s điểm (p = %(p)s): %(verdict)s", p=_decimal(change.p_value, 3),
                                 difference=_signed(change.difference), verdict=verdict))])
    if report.weighted is not None:
        lines.append([report.weighted.label, _points(report.weighted.overall.value)])
    if report.dossier is not None:
        lines.append([str(_l("Tỷ lệ hài lòng với việc giải quyết hồ sơ")),
                      str(_l("%(value)s (%(n)s lượt đánh giá)", value=_points(report.dossier.satisfaction.value),
                             n=whole_number(report.dossier.n)))])
    lines.append([str(_l("Phiếu bị gắn cờ cần xem xét")), whole_number(report.abuse.flagged)])
    if report.method is not None:
        method = report.method
        lines += [
            [str(_l("Cách tính")), method_text(method)],
            [str(_l("Ẩn số liệu khi số phiếu dưới")), whole_number(method.min_n)],
            [str(_l("Loại khảo sát")), method.survey],
        ]
    return lines


def _points(value: float | None) -> str:
    """An index the one way of the annex: two decimals and the percent sign ("84,45 %"); a dash for none."""
    return "–" if value is None else f"{percent(value)} %"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + percent(abs(value))


def _decimal(value: float | None, decimals: int) -> str:
    return percent(value, decimals)  # the same local decimal writing, without a percent sign


def _pdf_chart(pdf: FPDF, image: bytes) -> None:
    """Place a chart at the page's width, on a new page only when it does not fit on this one."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as picture:
        height = _PAGE_WIDTH * picture.height / picture.width
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    pdf.image(io.BytesIO(image), w=_PAGE_WIDTH)
    pdf.ln(2)


def _pdf_glossary(pdf: FPDF) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(0, 4.5, str(_l(
        "Chỉ số: tỷ lệ (%) người trả lời hài lòng hoặc rất hài lòng. Khoảng tin cậy 95 %: khoảng chứa chỉ số thật "
        "với độ tin cậy 95 %; khoảng càng hẹp, số liệu càng chắc. Độ nhất quán (Cronbach α): các tiêu chí của một "
        "yếu tố có đo cùng một điều không (từ 0,7 trở lên là tốt).")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _pdf_heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 30:  # a heading never ends a page alone
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _pdf_subheading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 25:
        pdf.add_page()
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def _pdf_table(pdf: FPDF, headers: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[float], *,
               numeric_from: int | None = None) -> None:
    """Set a table of text cells; columns from ``numeric_from`` on hold figures and are aligned right."""
    pdf.set_font("DejaVu", "", 9)
    align = ["LEFT" if numeric_from is None or index < numeric_from else "RIGHT" for index in range(len(widths))]
    with pdf.table(col_widths=widths, text_align=align, line_height=5.5, first_row_as_headings=True,
                   repeat_headings=1) as table:
        heading = table.row()
        for header in headers:
            heading.cell(str(header))
        for values in rows:
            line = table.row()
            for value in values:
                line.cell(str(value))
