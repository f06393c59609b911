"""A participant's own result to share: a signed link (no session needed, so link previews work) to a page with
Open Graph tags and a 1200×630 PNG card (Pillow, DejaVu). Only what public lists show: the masked name, the unit,
the score, the time and, when the leaderboard is visible, the rank."""
from __future__ import annotations

import io
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from PIL import Image, ImageDraw, ImageFont

from app.pdf import font_dir

_SALT = "contest-share"
WIDTH, HEIGHT = 1200, 630
BRAND = (11, 83, 148)
INK = (27, 31, 36)
MUTED = (74, 85, 96)


@dataclass(frozen=True)
class ShareCard:
    """What the card says."""

    contest_title: str
    round_name: str
    name: str
    unit: str
    score: str
    duration: str
    rank: str


def share_token(contest_id: int, attempt_id: int, secret: str) -> str:
    """Return the signed token of an attempt's share link."""
    return URLSafeSerializer(secret, salt=_SALT).dumps([contest_id, attempt_id])


def read_share_token(token: str, secret: str) -> tuple[int, int] | None:
    """Return (contest id, attempt id) of a genuine share token, else None."""
    try:
        contest_id, attempt_id = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(contest_id, int) or not isinstance(attempt_id, int):
        return None
    return contest_id, attempt_id


def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _fit(draw: ImageDraw.ImageDraw, text: str, bold: bool, size: int, width: int, lines: int = 2) -> list[str]:
    """Wrap text into at most `lines` lines of `width` pixels, ending with "…" if it is cut."""
    font = _font(bold, size)
    words, out, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            current = trial
            continue
        out.append(current)
        current = word
        if len(out) == lines:
            break
    if len(out) < lines and current:
        out.append(current)
    if len(out) == lines and " ".join(out) != " ".join(words):
        while out[-1] and draw.textlength(out[-1] + "…", font=font) > width:
            out[-1] = out[-1][:-1]
        out[-1] += "…"
    return out


def share_png(card: ShareCard) -> bytes:
    """Return the 1200×630 PNG card."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 96), fill=BRAND)
    draw.text((60, 26), "HàiLòng · Thi tìm hiểu", font=_font(True, 38), fill=(255, 255, 255))
    y = 130
    for line in _fit(draw, card.contest_title, True, 40, WIDTH - 120):
        draw.text((60, y), line, font=_font(True, 40), fill=INK)
        y += 52
    draw.text((60, y + 4), card.round_name, font=_font(False, 30), fill=MUTED)
    y += 70
    draw.text((60, y), card.name, font=_font(True, 52), fill=BRAND)
    y += 70
    for line in _fit(draw, card.unit, False, 30, WIDTH - 120, lines=1):
        draw.text((60, y), line, font=_font(False, 30), fill=MUTED)
    y += 64
    boxes = [("Điểm", card.score), ("Thời gian", card.duration)] + ([("Thứ hạng", card.rank)] if card.rank else [])
    box_w = (WIDTH - 120 - 40 * (len(boxes) - 1)) // len(boxes)
    for index, (label, value) in enumerate(boxes):
        x = 60 + index * (box_w + 40)
        draw.rounded_rectangle((x, y, x + box_w, HEIGHT - 40), radius=16, fill=(242, 245, 248), outline=BRAND,
                               width=3)
        draw.text((x + 24, y + 18), label, font=_font(False, 28), fill=MUTED)
        size = 48
        while size > 24 and draw.textlength(value, font=_font(True, size)) > box_w - 48:
            size -= 2
        draw.text((x + 24, y + 62), value, font=_font(True, size), fill=INK)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
