"""Printable A4 QR posters for counters: one per page, or two or four per page for a whole unit."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from fpdf import FPDF

from app.pdf import add_dejavu
from app.units.models import Counter
from app.units.qr import make_qr_png
from app.units.tokens import counter_url

#: Allowed layouts: posters per A4 page and the grid they sit in (columns, rows).
LAYOUTS = {1: (1, 1), 2: (1, 2), 4: (2, 2)}
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
#: The blue of the poster's frame and heading.
BLUE = (11, 83, 148)


@dataclass(frozen=True)
class Poster:
    """What one poster shows: where the counter is and the URL its QR code encodes."""

    unit_name: str
    counter_name: str
    url: str


@dataclass(frozen=True)
class PosterText:
    """The fixed wording of a poster, in the language it is printed in."""

    heading: str
    instruction: str
    fallback: str
    safety: str


def poster_text() -> PosterText:
    """Return the poster wording in the current language."""
    return PosterText(
        heading=str(_l("ĐÁNH GIÁ SỰ HÀI LÒNG VỀ PHỤC VỤ HÀNH CHÍNH CÔNG")),
        instruction=str(_l("Quét mã QR bằng camera điện thoại để đánh giá. Phiếu ẩn danh, chưa đến một phút.")),
        fallback=str(_l("Không quét được mã? Gõ địa chỉ:")),
        safety=str(_l("Phiếu không hỏi họ tên, số CCCD, mã OTP hay yêu cầu thanh toán. "
                      "Nếu thấy điều đó, mã QR đã bị dán đè: vui lòng báo cán bộ tại quầy.")),
    )


def counter_posters(counters: Sequence[Counter], base_url: str, secret: str) -> list[Poster]:
    """Return one poster per counter, pointing at its current token."""
    return [Poster(counter.unit.name, counter.name, counter_url(base_url, counter.token_nonce, secret))
            for counter in counters]


def render_posters(posters: Sequence[Poster], text: PosterText, per_page: int = 1) -> bytes:
    """Return a PDF with the posters laid out `per_page` to an A4 page (1, 2 or 4)."""
    if per_page not in LAYOUTS:
        raise ValueError(f"per_page must be one of {sorted(LAYOUTS)}")
    if not posters:
        raise ValueError("no posters to render")
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title("HàiLòng: mã QR đánh giá")
    add_dejavu(pdf)
    columns, rows = LAYOUTS[per_page]
    cell_w = (PAGE_W - 2 * MARGIN) / columns
    cell_h = (PAGE_H - 2 * MARGIN) / rows
    for index, poster in enumerate(posters):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
        x = MARGIN + (slot % columns) * cell_w
        y = MARGIN + (slot // columns) * cell_h
        _draw_poster(pdf, poster, text, x, y, cell_w, cell_h)
    return bytes(pdf.output())


def _draw_poster(pdf: FPDF, poster: Poster, text: PosterText, x: float, y: float, w: float, h: float) -> None:
    scale = min(w / (PAGE_W - 2 * MARGIN), h / (PAGE_H - 2 * MARGIN))
    pad = 6 * scale
    inner_w = w - 2 * pad

    def write(content: str, style: str, size: float, smallest: float, height: float,
              colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        """Write centred lines across the poster from the current height (the size scaled, at least ``smallest``)."""
        pdf.set_x(x + pad)
        pdf.set_font("DejaVu", style, max(smallest, size * scale))
        pdf.set_text_color(*colour)
        pdf.multi_cell(inner_w, height * scale, content, align="C")

    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.6)
    pdf.rect(x + 1, y + 1, w - 2, h - 2)
    pdf.set_y(y + pad)
    write(text.heading, "B", 13, 9, 7, colour=BLUE)
    write(poster.unit_name, "B", 22, 11, 10)
    write(poster.counter_name, "", 17, 10, 8)
    write(text.instruction, "", 13, 8, 6.5)
    footer_h = 34 * scale
    qr_size = min(inner_w, (y + h - pad - footer_h) - (pdf.get_y() + 2))
    qr_x = x + (w - qr_size) / 2
    pdf.image(io.BytesIO(make_qr_png(poster.url, box_size=8)), x=qr_x, y=pdf.get_y() + 1, w=qr_size, h=qr_size)
    pdf.set_y(y + h - pad - footer_h + 2)
    write(text.fallback, "", 11, 7, 5.5)
    write(poster.url, "B", 11, 7, 5.5)
    write(text.safety, "", 9, 6, 4.5, colour=(60, 60, 60))
