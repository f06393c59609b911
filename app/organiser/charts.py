"""Server-rendered charts of a SipasReport (matplotlib, Agg, no pyplot state): SVG for pages, PNG for the PDF.

Pages show them as separate image responses (the content security policy forbids inline styles) next to a data
table that screen readers use; the charts carry the same numbers.
"""
from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from matplotlib.figure import Figure

from app.i18n import percent
from app.organiser.reports import Estimate, SipasReport

#: Children drawn at most; with more, the best and the worst half of this many are drawn.
MAX_CHILD_BARS = 30
BLUE, GREY, LIGHT = "#0b5394", "#666666", "#9fc5e8"
_STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "hailong", "axes.spines.top": False,
          "axes.spines.right": False}


def _figure(height: float) -> Figure:
    return Figure(figsize=(7.5, height), layout="constrained")


def _estimate_bars(labels: list[str], estimates: list[Estimate], title: str, colour: str = BLUE) -> Figure:
    """Horizontal bars 0–100 with 95% interval whiskers; suppressed figures are drawn as an empty row."""
    figure = _figure(0.9 + 0.32 * len(labels))
    axes = figure.add_subplot()
    rows = list(range(len(labels)))[::-1]
    values = [estimate.value if estimate.value is not None else 0 for estimate in estimates]
    low = [max(0.0, (e.value - e.ci_low)) if e.value is not None and e.ci_low is not None else 0 for e in estimates]
    high = [max(0.0, (e.ci_high - e.value)) if e.value is not None and e.ci_high is not None else 0 for e in estimates]
    axes.barh(rows, values, color=colour, height=0.6)
    axes.errorbar(values, rows, xerr=[low, high], fmt="none", ecolor="#222222", capsize=2, linewidth=0.8)
    for row, estimate in zip(rows, estimates):
        axes.text(101, row, f"{percent(estimate.value)} (n = {estimate.n})", va="center", fontsize=8)
    axes.set_yticks(rows, [textwrap.shorten(label, 48, placeholder="…") for label in labels])
    axes.set_xlim(0, 118)
    axes.set_xticks(range(0, 101, 20))
    axes.set_xlabel(str(_l("Chỉ số hài lòng (%) và khoảng tin cậy 95%")))
    axes.set_title(title, loc="left", fontsize=10)
    return figure


def elements_chart(report: SipasReport) -> Figure:
    """Overall and element indices."""
    labels = [str(_l("Chỉ số chung"))] + [element.title for element in report.elements]
    estimates = [report.overall] + [element.estimate for element in report.elements]
    return _estimate_bars(labels, estimates, str(_l("Chỉ số chung và theo yếu tố")))


def children_chart(report: SipasReport) -> Figure:
    """Child units ranked by overall index (the best and the worst when there are many)."""
    ranked = [child for child in report.children if child.rank is not None]
    title = str(_l("Đơn vị trực thuộc theo chỉ số chung"))
    if len(ranked) > MAX_CHILD_BARS:
        half = MAX_CHILD_BARS // 2
        ranked = ranked[:half] + ranked[-half:]
        title = str(_l("%(n)d đơn vị cao nhất và %(n)d đơn vị thấp nhất theo chỉ số chung", n=half))
    return _estimate_bars([f"{child.rank}. {child.name}" for child in ranked], [child.estimate for child in ranked],
                          title)


def fields_chart(report: SipasReport) -> Figure:
    """Overall index by service field."""
    return _estimate_bars([field.name for field in report.fields], [field.estimate for field in report.fields],
                          str(_l("Chỉ số chung theo lĩnh vực")), LIGHT)


def trend_chart(report: SipasReport) -> Figure:
    """Overall index by month or quarter with its 95% band."""
    points = [point for point in report.trend.points if point.estimate.value is not None]
    figure = _figure(2.8)
    axes = figure.add_subplot()
    positions = list(range(len(report.trend.points)))
    shown = [positions[report.trend.points.index(point)] for point in points]
    axes.fill_between(shown, [p.estimate.ci_low for p in points], [p.estimate.ci_high for p in points],
                      color=LIGHT, alpha=0.6, linewidth=0)
    axes.plot(shown, [p.estimate.value for p in points], color=BLUE, marker="o", markersize=3)
    axes.set_xticks(positions, [point.label for point in report.trend.points], rotation=45, ha="right")
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.set_title(str(_l("Xu hướng chỉ số chung")), loc="left", fontsize=10)
    return figure


def daily_chart(report: SipasReport) -> Figure:
    """Responses per day of the period."""
    figure = _figure(2.4)
    axes = figure.add_subplot()
    axes.bar([day.day for day in report.daily], [day.responses for day in report.daily], color=GREY, width=1.0)
    axes.set_ylabel(str(_l("Số phiếu")))
    axes.set_title(str(_l("Số phiếu theo ngày")), loc="left", fontsize=10)
    figure.autofmt_xdate()
    return figure


def dossier_chart(report: SipasReport) -> Figure:
    """Shares of the per-dossier rating levels."""
    levels = report.dossier.levels
    return _estimate_bars([level.label for level in levels], [level.estimate for level in levels],
                          str(_l("Đánh giá việc giải quyết hồ sơ (tỷ lệ theo mức)")), LIGHT)


@dataclass(frozen=True)
class Chart:
    """A chart: whether a report has anything to draw in it, and how to draw it."""

    available: Callable[[SipasReport], bool]
    draw: Callable[[SipasReport], Figure]


#: Chart name (as in URLs) → chart, in the order pages and the PDF show them.
CHARTS: dict[str, Chart] = {
    "yeu-to": Chart(lambda report: report.instrument is not None, elements_chart),
    "xu-huong": Chart(lambda report: any(p.estimate.value is not None for p in report.trend.points), trend_chart),
    "theo-ngay": Chart(lambda report: report.responses > 0, daily_chart),
    "don-vi": Chart(lambda report: any(child.rank is not None for child in report.children), children_chart),
    "linh-vuc": Chart(lambda report: bool(report.fields), fields_chart),
    "ho-so": Chart(lambda report: report.dossier is not None, dossier_chart),
}


def available_charts(report: SipasReport) -> list[str]:
    """Return the names of the charts the report has data for, in display order."""
    return [name for name, chart in CHARTS.items() if chart.available(report)]


def render_chart(report: SipasReport, name: str, fmt: str = "svg") -> bytes | None:
    """Return one chart as SVG or PNG bytes, or None when the report has nothing to draw for it."""
    import matplotlib

    chart = CHARTS[name]
    if not chart.available(report):
        return None
    with matplotlib.rc_context(_STYLE):
        figure = chart.draw(report)
        buffer = io.BytesIO()
        options = {"metadata": {"Date": None}} if fmt == "svg" else {"dpi": 150}
        figure.savefig(buffer, format=fmt, **options)
    return buffer.getvalue()
