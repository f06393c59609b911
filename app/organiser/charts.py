"""Server-rendered charts of a SipasReport (matplotlib, Agg, no pyplot state): SVG for pages, PNG for the PDF.

Pages show them as separate image responses (the content security policy forbids inline styles) next to a data
table that screen readers use; the charts carry the same numbers.

Speed: a dashboard draws five charts per visit, so they are laid out by hand instead of by constrained layout
(margins from the widths of the DejaVu Sans labels; titles and axis labels placed as figure text), drawn with few
artists (bars as one collection, daily counts as one outline, row labels as text rather than ticks), and their SVG
text is written as text (``svg.fonttype: none``: selectable, a fraction of the size) in DejaVu Sans or sans-serif.
"""
from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.markers import TICKLEFT
from matplotlib.transforms import offset_copy

from app import cache
from app.i18n import percent
from app.organiser.reports import Estimate, SipasReport
from app.stats.satisfaction import SMALL_SAMPLE_N

#: Children drawn at most; with more, the best and the worst half of this many are drawn.
MAX_CHILD_BARS = 30
BLUE, GREY, LIGHT = "#0b5394", "#666666", "#9fc5e8"
FONT = "DejaVu Sans"
#: Point sizes of tick and axis labels, value labels and titles.
SIZE, SMALL, TITLE = 9, 8, 10
#: The charts' style; their text is never read as mathtext (names may hold dollar signs).
_STYLE = {"font.family": [FONT, "sans-serif"], "font.sans-serif": [FONT], "font.size": SIZE, "text.parse_math": False,
          "svg.fonttype": "none", "svg.hashsalt": "hailong", "axes.spines.top": False, "axes.spines.right": False}
#: Figure width, outer padding, tick length plus tick label pad (matplotlib's defaults), line height per point (in).
WIDTH, PAD, TICK_GAP, LINE = 7.5, 0.08, 7 / 72, 1.25 / 72
#: Where a bar's value label starts and where the value axis ends (data units: the bars run from 0 to 100).
VALUE_AT, VALUE_AXIS_END = 101, 118
#: Row labels longer than this many characters are wrapped on a second line.
WRAP_AT = 34
_font_lock = threading.Lock()


@cache.constants.memoise
def _font() -> FT2Font:
    """The font the charts are measured with (a private instance: matplotlib's own are shared and resized)."""
    font = FT2Font(findfont(FontProperties(family=FONT)))
    font.set_size(100, 72)
    return font


@cache.constants.memoise
def _advance(char: str) -> float:
    """Advance width of a character in ems (a missing character counts as wide as "n")."""
    with _font_lock:
        font = _font()
        glyph = font.load_glyph(font.get_char_index(ord(char)) or font.get_char_index(ord("n")),
                                flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / 100


def _text_width(text: str, size: float) -> float:
    """Width in inches of one line of text at `size` points (without kerning: close enough for margins)."""
    return sum(_advance(char) for char in text) * size / 72


def _figure(height: float, title: str, *, left: float, bottom: float, right: float = PAD) -> tuple[Figure, Axes]:
    """Return a figure with one axes placed by margins in inches and the title at its top left corner."""
    top = PAD + TITLE * LINE + PAD
    figure = Figure(figsize=(WIDTH, height))
    axes = figure.add_axes((left / WIDTH, bottom / height, 1 - (left + right) / WIDTH, 1 - (bottom + top) / height))
    figure.text(PAD / WIDTH, 1 - PAD / height, title, va="top", fontsize=TITLE)
    return figure, axes


def _axis_label(figure: Figure, axes: Axes, text: str, *, x: bool) -> None:
    """Label an axis at the figure's edge, centred on the axes (no layout pass needed to place it)."""
    box = axes.get_position()
    if x:
        figure.text((box.x0 + box.x1) / 2, PAD / figure.get_figheight(), text, ha="center", va="bottom")
    else:
        figure.text(PAD / WIDTH, (box.y0 + box.y1) / 2, text, rotation=90, ha="left", va="center")


def _estimate_bars(labels: list[str], estimates: list[Estimate], title: str, colour: str = BLUE) -> Figure:
    """Horizontal bars 0–100 with 95% interval whiskers; suppressed figures are drawn as an empty row."""
    # Long names are wrapped on two lines (shortened only beyond that), never cut at the figure's edge.
    labels = ["\n".join(textwrap.wrap(label, WRAP_AT, max_lines=2, placeholder="…")) or label for label in labels]
    values = [f"{percent(estimate.value)} (n = {format_number(estimate.n)})" for estimate in estimates]
    left = PAD + max((_text_width(line, SIZE) for label in labels for line in label.splitlines()),
                     default=0) + TICK_GAP
    # The axes ends where the value axis does, or earlier when the longest value label needs the room.
    room = WIDTH - PAD - left
    value_width = max((_text_width(value, SMALL) for value in values), default=0)
    span = min(room, (room - value_width) * VALUE_AXIS_END / VALUE_AT)
    height = 0.9 + sum(0.32 if "\n" not in label else 0.42 for label in labels)
    figure, axes = _figure(height, title, left=left, bottom=PAD + 2 * SIZE * LINE + TICK_GAP,
                           right=WIDTH - left - span)
    rows = list(range(len(labels)))[::-1]
    points = [estimate.value if estimate.value is not None else 0 for estimate in estimates]
    low = [max(0.0, (e.value - e.ci_low)) if e.value is not None and e.ci_low is not None else 0 for e in estimates]
    high = [max(0.0, (e.ci_high - e.value)) if e.value is not None and e.ci_high is not None else 0 for e in estimates]
    # One collection of 0.6-high rectangles: a patch per bar would cost more than the rest of the bars.
    axes.add_collection(PolyCollection([((0, row - 0.3), (point, row - 0.3), (point, row + 0.3), (0, row + 0.3))
                                        for row, point in zip(rows, points)], facecolors=colour, linewidths=0))
    axes.errorbar(points, rows, xerr=[low, high], fmt="none", ecolor="#222222", capsize=2, linewidth=0.8)
    # Row labels as plain text and their tick marks as one line of markers: a tick each would cost five artists.
    axes.set_yticks([])
    axes.plot([0] * len(rows), rows, linestyle="", marker=TICKLEFT, markersize=3.5, markeredgewidth=0.8,
              color="black", clip_on=False)
    labels_at = offset_copy(axes.get_yaxis_transform(), figure, x=-TICK_GAP, units="inches")
    for row, label, value, point, up in zip(rows, labels, values, points, high):
        axes.text(0, row, label, va="center", ha="right", transform=labels_at)
        # The value sits just past the end of its bar (and of its whisker), not in a column far away.
        axes.text(point + up + 1.5, row, value, va="center", fontsize=SMALL)
    axes.set_xlim(0, VALUE_AXIS_END)
    axes.set_xticks(range(0, 101, 20))
    _axis_label(figure, axes, str(_l("Chỉ số hài lòng (%) và khoảng tin cậy 95%")), x=True)
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


def tick_label(label: str) -> str:
    """Name a month or quarter of a trend as people write it: "07/2026", "Quý 3/2026" (not "2026-07", "2026-Q3")."""
    year, _, part = label.partition("-")
    if part.startswith("Q") and part[1:].isdigit():
        return str(_l("Quý %(quarter)d/%(year)s", quarter=int(part[1:]), year=year))
    return f"{part}/{year}" if part.isdigit() else label


def trend_chart(report: SipasReport) -> Figure:
    """Overall index by month or quarter with its 95% band."""
    points = [point for point in report.trend.points if point.estimate.value is not None]
    labels = [tick_label(point.label) for point in report.trend.points]
    # Tick labels are turned by 45°: their height is their width and their line height times √½.
    bottom = PAD + (max(_text_width(label, SIZE) for label in labels) + SIZE * LINE) * 0.71 + TICK_GAP
    figure, axes = _figure(2.8, str(_l("Xu hướng chỉ số chung")), left=PAD + SIZE * LINE + _text_width("100", SIZE)
                           + 2 * TICK_GAP, bottom=bottom)
    positions = list(range(len(report.trend.points)))
    shown = [positions[report.trend.points.index(point)] for point in points]
    axes.fill_between(shown, [p.estimate.ci_low for p in points], [p.estimate.ci_high for p in points],
                      color=LIGHT, alpha=0.6, linewidth=0)
    axes.plot(shown, [p.estimate.value for p in points], color=BLUE, marker="o", markersize=3)
    axes.set_xticks(positions, labels, rotation=45, ha="right")
    axes.set_ylim(0, 100)
    _axis_label(figure, axes, "%", x=False)
    return figure


def daily_chart(report: SipasReport) -> Figure:
    """Responses per day of the period (one filled outline of day-wide bars: a single path however many days)."""
    counts = [day.responses for day in report.daily]
    date_width = _text_width("2026-00-00", SIZE) * 0.5 + SIZE * LINE * 0.87  # turned by 30°
    figure, axes = _figure(2.4, str(_l("Số phiếu theo ngày")), left=PAD + SIZE * LINE + _text_width(
        f"{max(counts) * 1.05:.0f}", SIZE) + 2 * TICK_GAP, bottom=PAD + date_width + TICK_GAP)
    start = mdates.date2num(report.daily[0].day) - 0.5
    axes.stairs(counts, [start + offset for offset in range(len(counts) + 1)], fill=True, color=GREY)
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m/%Y"))  # days as people write them, not ISO
    axes.set_ylim(0, None)
    for label in axes.get_xticklabels():
        label.set(rotation=30, ha="right")
    _axis_label(figure, axes, str(_l("Số phiếu")), x=False)
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
    "yeu-to": Chart(lambda report: report.instrument is not None and report.overall.value is not None,
                    elements_chart),
    "xu-huong": Chart(lambda report: any(p.estimate.value is not None for p in report.trend.points), trend_chart),
    "theo-ngay": Chart(lambda report: report.responses > 0, daily_chart),
    "don-vi": Chart(lambda report: sum(child.rank is not None for child in report.children) > 1, children_chart),
    "linh-vuc": Chart(lambda report: any(field.estimate.value is not None for field in report.fields), fields_chart),
    # A chart of a handful of ratings would look like a finding: below a small sample the page says so instead.
    "ho-so": Chart(lambda report: report.dossier is not None and report.dossier.n >= SMALL_SAMPLE_N, dossier_chart),
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
