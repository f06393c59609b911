"""QR codes for counter and dossier URLs, as PNG or SVG (qrcode library only, no Flask)."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(url: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def make_qr_png(url: str, box_size: int = 10) -> bytes:
    """Return a PNG of the QR code for `url` (error correction M: survives a scuffed sticker)."""
    buffer = io.BytesIO()
    _qr(url, box_size).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def make_qr_svg(url: str, box_size: int = 10) -> str:
    """Return an SVG document of the QR code for `url`, as a single path (small and crisp in print)."""
    image = _qr(url, box_size).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
