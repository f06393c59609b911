"""Printable QR posters for counters: A4 (one, two or four to a page), A5, and a table tent (an A4 sheet folded in
two, one face upside down so that both stand upright on the desk).

Each poster carries the agency header (the counter's unit and its parent), a title, the counter's name, three numbered
steps, a large QR code and the short address to type when the camera fails.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from fpdf import FPDF

from app.pdf import add_dejavu, font_dir
from app.units.models import Counter
from app.units.qr import make_qr_png
from app.units.tokens import counter_url, short_url

#: Paper formats: page size in mm (portrait) and whether each sheet is a folded table tent.
PAPERS = {"a4": (210.0, 297.0), "a5": (148.0, 210.0), "tent": (210.0, 297.0)}
#: A4 layouts: posters per page and the grid they sit in (columns, rows). A5 and the tent hold one poster a sheet.
LAYOUTS = {1: (1, 1), 2: (1, 2), 4: (2, 2)}
MARGIN = 8.0
#: The blue of the poster's frame and heading.
BLUE = (11, 83, 148)
INK = (27, 31, 36)
MUTED = (74, 85, 96)


@dataclass(frozen=True)
class Poster:
    """What one poster shows: where the counter is, the URL its QR code encodes and the short address to type."""

    parent_name: str | None
    unit_name: str
    counter_name: str
    url: str
    short_url: str
    #: The feedback form (phản ánh, kiến nghị) with the unit and counter pre-filled: a second, smaller QR code.
    feedback_url: str | None = None


@dataclass(frozen=True)
class PosterText:
    """The fixed wording of a poster, in the language it is printed in."""

    title: str
    steps: tuple[str, str, str]
    fallback: str
    safety: str
    fold: str
    feedback_title: str = ""
    feedback: str = ""


def poster_text() -> PosterText:
    """Return the poster wording in the current language."""
    return PosterText(
        title=str(_l("ĐÁNH GIÁ SỰ HÀI LÒNG")),
        steps=(str(_l("Mở camera điện thoại, quét mã QR.")),
               str(_l("Chọn mức hài lòng từ 1 đến 5 cho từng nội dung.")),
               str(_l("Bấm “Gửi đánh giá”. Phiếu ẩn danh, không hỏi tên.")),),
        fallback=str(_l("Không quét được mã? Gõ địa chỉ:")),
        safety=str(_l("Phiếu không bao giờ hỏi số CCCD, mã OTP hay đòi thanh toán. Nếu thấy điều đó, mã QR đã bị dán "
                      "đè: xin báo cán bộ tại quầy.")),
        fold=str(_l("Gấp theo đường này")),
        feedback_title=str(_l("PHẢN ÁNH, KIẾN NGHỊ")),
        feedback=str(_l("Về quy định, thủ tục hành chính: quét mã nhỏ này. Cần ghi họ tên, địa chỉ, số điện thoại; "
                        "cơ quan trả lời theo thời hạn.")),
    )


def counter_posters(counters: Sequence[Counter], base_url: str, secret: str) -> list[Poster]:
    """Return one poster per counter, pointing at its current token and short code."""
    return [Poster(counter.unit.parent.name if counter.unit.parent else None, counter.unit.name, counter.name,
                   counter_url(base_url, counter.token_nonce, secret), short_url(base_url, counter.short_code),
                   feedback_url(base_url, counter))
            for counter in counters]


#: The path of the PAKN form (feature feedback): units cannot import it, so the address is written here, once.
FEEDBACK_PATH = "/phan-anh/gui"


def feedback_url(base_url: str, counter: Counter) -> str:
    """The PAKN form's address with the counter's unit and the counter pre-filled."""
    return f"{base_url}{FEEDBACK_PATH}?{urlencode({'unit': counter.unit.code, 'counter': counter.code})}"


def render_posters(posters: Sequence[Poster], text: PosterText, per_page: int = 1, paper: str = "a4") -> bytes:
    """Return a PDF of the posters: on A4 `per_page` to a page (1, 2 or 4); on A5 or as table tents one a sheet."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}")
    if per_page not in LAYOUTS or (paper != "a4" and per_page != 1):
        raise ValueError("per_page must be 1, 2 or 4, and 1 except on A4")
    if not posters:
        raise ValueError("no posters to render")
    width, height = PAPERS[paper]
    pdf = FPDF(format=(width, height), unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title(str(_l("Áp phích mã QR đánh giá sự hài lòng")))
    add_dejavu(pdf)
    pdf.add_font("DejaVuMono", "B", str(font_dir() / "DejaVuSansMono-Bold.ttf"))
    if paper == "tent":
        for poster in posters:
            pdf.add_page()
            _draw_tent(pdf, poster, text, width, height)
        return bytes(pdf.output())
    columns, rows = LAYOUTS[per_page]
    cell_w = (width - 2 * MARGIN) / columns
    cell_h = (height - 2 * MARGIN) / rows
    for index, poster in enumerate(posters):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
        x = MARGIN + (slot % columns) * cell_w
        y = MARGIN + (slot // columns) * cell_h
        _draw_portrait(pdf, poster, text, x, y, cell_w, cell_h)
    return bytes(pdf.output())


class _Writer:
    """Centred text across a box, its sizes scaled with the box (never below a readable size)."""

    def __init__(self, pdf: FPDF, x: float, width: float, scale: float) -> None:
        self.pdf, self.x, self.width, self.scale = pdf, x, width, scale

    def line(self, content: str, size: float, *, style: str = "", family: str = "DejaVu", smallest: float = 7,
             colour: tuple[int, int, int] = INK, align: str = "C", gap: float = 0.0) -> None:
        points = max(smallest, size * self.scale)
        self.pdf.set_font(family, style, points)
        self.pdf.set_text_color(*colour)
        self.pdf.set_x(self.x)
        self.pdf.multi_cell(self.width, points * 0.47, content, align=align)
        self.pdf.set_y(self.pdf.get_y() + gap * self.scale)


def _header(write: _Writer, poster: Poster) -> None:
    """The agency header: the parent unit above, the unit itself in bold capitals, a short rule below."""
    if poster.parent_name:
        write.line(poster.parent_name.upper(), 12, smallest=6.5)
    write.line(poster.unit_name.upper(), 14, style="B", smallest=7)
    pdf = write.pdf
    middle = write.x + write.width / 2
    y = pdf.get_y() + 1.5 * write.scale
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(middle - 18 * write.scale, y, middle + 18 * write.scale, y)
    pdf.set_y(y + 4 * write.scale)


def _steps(write: _Writer, text: PosterText, size: float) -> None:
    """The three numbered steps, left-aligned in a centred column."""
    pdf = write.pdf
    points = max(7.0, size * write.scale)
    badge = points * 0.62
    column = min(write.width, 150 * write.scale)
    left = write.x + (write.width - column) / 2
    for number, step in enumerate(text.steps, start=1):
        y = pdf.get_y()
        pdf.set_fill_color(*BLUE)
        pdf.ellipse(left, y, badge, badge, style="F")
        pdf.set_font("DejaVu", "B", points * 0.8)
        pdf.set_text_color(255, 255, 255)
        pdf.set_xy(left, y + badge * 0.12)
        pdf.cell(badge, badge * 0.76, str(number), align="C")
        pdf.set_font("DejaVu", "", points)
        pdf.set_text_color(*INK)
        pdf.set_xy(left + badge + 2 * write.scale, y + badge * 0.08)
        pdf.multi_cell(column - badge - 2 * write.scale, points * 0.45, step, align="L")
        pdf.set_y(max(pdf.get_y(), y + badge) + 2 * write.scale)


def _fallback(write: _Writer, poster: Poster, text: PosterText) -> None:
    write.line(text.fallback, 12, colour=MUTED, gap=1)
    write.line(poster.short_url.split("://", 1)[-1], 19, style="B", family="DejaVuMono", smallest=8.5, gap=2.5)
    write.line(text.safety, 9, smallest=5.5, colour=MUTED)


def _draw_portrait(pdf: FPDF, poster: Poster, text: PosterText, x: float, y: float, w: float, h: float) -> None:
    """One upright poster filling the box: header, title, counter, steps, the QR code as large as fits, the address."""
    scale = min(w / 194.0, h / 281.0)
    pad = 7 * scale
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(max(0.4, 1.2 * scale))
    pdf.rect(x + 1, y + 1, w - 2, h - 2)
    write = _Writer(pdf, x + pad, w - 2 * pad, scale)
    pdf.set_y(y + pad)
    _header(write, poster)
    write.line(text.title, 30, style="B", smallest=11, colour=BLUE, gap=1)
    write.line(poster.counter_name, 17, smallest=8, gap=4)
    _steps(write, text, 15)
    # Measure the footer by drawing it on a scratch copy of the state: the QR code gets everything in between.
    strip = 34 * scale if poster.feedback_url else 0.0
    footer = _footer_height(pdf, write, poster, text) + strip
    top = pdf.get_y() + 1 * scale
    size = min(w - 2 * pad, y + h - pad - footer - top - 2 * scale)
    pdf.image(io.BytesIO(make_qr_png(poster.url, box_size=10)), x=x + (w - size) / 2, y=top, w=size, h=size)
    pdf.set_y(y + h - pad - footer)
    _fallback(write, poster, text)
    if poster.feedback_url:
        _feedback_strip(pdf, poster, text, x + pad, y + h - pad - strip, w - 2 * pad, strip, scale)


def _feedback_strip(pdf: FPDF, poster: Poster, text: PosterText, x: float, y: float, w: float, h: float,
                    scale: float) -> None:
    """The second, smaller QR code (the PAKN form) with what it is for, under a thin rule."""
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.2)
    pdf.line(x, y + 1 * scale, x + w, y + 1 * scale)
    size = h - 4 * scale
    pdf.image(io.BytesIO(make_qr_png(poster.feedback_url, box_size=8)), x=x, y=y + 3 * scale, w=size, h=size)
    left = x + size + 4 * scale
    pdf.set_y(y + 5 * scale)
    pdf.set_font("DejaVu", "B", max(7.0, 14 * scale))
    pdf.set_text_color(*BLUE)
    pdf.set_x(left)
    pdf.multi_cell(x + w - left, max(7.0, 14 * scale) * 0.45, text.feedback_title, align="L")
    pdf.set_font("DejaVu", "", max(6.0, 10 * scale))
    pdf.set_text_color(*INK)
    pdf.set_x(left)
    pdf.multi_cell(x + w - left, max(6.0, 10 * scale) * 0.45, text.feedback, align="L")


def _footer_height(pdf: FPDF, write: _Writer, poster: Poster, text: PosterText) -> float:
    with pdf.offset_rendering() as scratch:
        scratch.set_y(0)
        _fallback(_Writer(scratch, write.x, write.width, write.scale), poster, text)
        return scratch.get_y()


def _draw_tent(pdf: FPDF, poster: Poster, text: PosterText, width: float, height: float) -> None:
    """Two landscape faces of a folded A4 sheet: the lower one upright, the upper one turned half a circle."""
    half = height / 2
    _draw_face(pdf, poster, text, 0, half, width, half)
    with pdf.rotation(180, x=width / 2, y=half / 2):
        _draw_face(pdf, poster, text, 0, 0, width, half)
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=2, gap=2)
    pdf.line(4, half, width - 4, half)
    pdf.set_dash_pattern()
    pdf.set_font("DejaVu", "", 6.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(4, half + 0.5)
    pdf.cell(60, 3, text.fold)


def _draw_face(pdf: FPDF, poster: Poster, text: PosterText, x: float, y: float, w: float, h: float) -> None:
    """One face of the tent: the QR code on the left, header, title, steps and address on the right."""
    pad = 8.0
    qr = h - 2 * pad - 6
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.8)
    pdf.rect(x + pad / 2, y + pad / 2, w - pad, h - pad)
    pdf.image(io.BytesIO(make_qr_png(poster.url, box_size=10)), x=x + pad, y=y + pad + 3, w=qr, h=qr)
    left = x + pad + qr + 4
    write = _Writer(pdf, left, x + w - pad - left, 0.62)
    pdf.set_y(y + pad + 1)
    _header(write, poster)
    write.line(text.title, 30, style="B", colour=BLUE, gap=0.5)
    write.line(poster.counter_name, 17, gap=2.5)
    _steps(write, text, 16)
    pdf.set_y(pdf.get_y() + 1)
    _fallback(write, poster, text)
