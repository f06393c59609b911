"""The 1200×630 PNG share images (Open Graph, Zalo) of a contest and of a published result, drawn with Pillow in the
bundled DejaVu Sans (app/static/fonts, Bitstream Vera licence), which covers every Vietnamese letter with its tones.

Pure drawing: texts in, PNG bytes out. The views cache the bytes per version (``app.cache.portal_cards``).
"""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from app import cache

WIDTH, HEIGHT = 1200, 630
FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
BRAND = (11, 83, 148)
INK = (27, 31, 36)
MUTED = (74, 85, 96)
SOFT = (242, 245, 248)
WHITE = (255, 255, 255)
MARGIN = 64


@cache.constants.memoise
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """Break text into at most ``lines`` lines that fit ``width`` pixels, ending with an ellipsis when cut."""
    words, out, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=face) <= width:
            line = candidate
            continue
        if line:
            out.append(line)
        line = word
        if len(out) == lines:
            break
    if line and len(out) < lines:
        out.append(line)
    if len(out) == lines and " ".join(out) != " ".join(words):
        last = out[-1]
        while last and draw.textlength(last + "…", font=face) > width:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return out


def _frame(site: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 96), fill=BRAND)
    draw.text((MARGIN, 48), "HàiLòng", font=font(34, True), fill=WHITE, anchor="lm")
    name = _wrap(draw, site, font(26), WIDTH - 2 * MARGIN - 220, 1)
    draw.text((WIDTH - MARGIN, 48), name[0] if name else "", font=font(26), fill=WHITE, anchor="rm")
    draw.rectangle((0, HEIGHT - 12, WIDTH, HEIGHT), fill=BRAND)
    return image, draw


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def contest_card(site: str, kicker: str, title: str, lines: list[str], call: str) -> bytes:
    """A contest's image: what it is, its title, its dates, and what to do."""
    image, draw = _frame(site)
    y = 140
    draw.text((MARGIN, y), kicker, font=font(30, True), fill=BRAND)
    y += 56
    for line in _wrap(draw, title, font(50, True), WIDTH - 2 * MARGIN, 4):
        draw.text((MARGIN, y), line, font=font(50, True), fill=INK)
        y += 64
    y += 16
    for line in lines[:2]:
        draw.text((MARGIN, y), line, font=font(30), fill=MUTED)
        y += 42
    box = draw.textbbox((0, 0), call, font=font(32, True))
    width = box[2] - box[0] + 56
    draw.rounded_rectangle((MARGIN, HEIGHT - 130, MARGIN + width, HEIGHT - 56), radius=12, fill=BRAND)
    draw.text((MARGIN + 28, HEIGHT - 93), call, font=font(32, True), fill=WHITE, anchor="lm")
    return _png(image)


def result_card(site: str, unit: str, period: str, value: str, words: str, details: list[str]) -> bytes:
    """A published result's image: the unit and period, the index in big figures, its plain words and base."""
    image, draw = _frame(site)
    y = 130
    for line in _wrap(draw, unit, font(44, True), WIDTH - 2 * MARGIN, 2):
        draw.text((MARGIN, y), line, font=font(44, True), fill=INK)
        y += 56
    draw.text((MARGIN, y + 4), period, font=font(30), fill=MUTED)
    top = max(y + 70, 300)
    draw.rounded_rectangle((MARGIN, top, MARGIN + 330, top + 200), radius=18, fill=SOFT, outline=BRAND, width=4)
    draw.text((MARGIN + 165, top + 100), value, font=font(96, True), fill=BRAND, anchor="mm")
    x = MARGIN + 370
    text_y = top + 10
    for line in _wrap(draw, words, font(34, True), WIDTH - x - MARGIN, 3):
        draw.text((x, text_y), line, font=font(34, True), fill=INK)
        text_y += 46
    text_y += 10
    for detail in details[:3]:
        for line in _wrap(draw, detail, font(26), WIDTH - x - MARGIN, 2):
            draw.text((x, text_y), line, font=font(26), fill=MUTED)
            text_y += 34
    return _png(image)
