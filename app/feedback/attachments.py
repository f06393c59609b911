"""Attachments of a PAKN: the type is read from the content (never from the name), images are re-encoded so that
their metadata (EXIF: place, device, time) is dropped, PDFs must look like PDFs, every file is size-capped; files
are kept on disk under the instance folder, named at random."""
from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import AppError

#: Images larger than this (in pixels) are refused before they are decoded (decompression bombs).
MAX_PIXELS = 40_000_000
IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: what it is and the bytes to store (re-encoded for images)."""

    filename: str
    mime: str
    extension: str
    data: bytes


def _safe_name(filename: str, extension: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(filename or "tep").stem, flags=re.UNICODE).strip("._")[:80] or "tep"
    return f"{stem}.{extension}"


def check_file(filename: str, data: bytes, max_bytes: int, *, pdf_only: bool = False) -> CheckedFile:
    """Return the checked file, or refuse it with the reason (413 too large, 415 not an image or PDF)."""
    shown = (filename or "")[:80]
    if len(data) > max_bytes:
        raise AppError(_l("Tệp “%(name)s” quá lớn: tối đa %(mb)s MB mỗi tệp.", name=shown,
                          mb=f"{max_bytes / 1_048_576:.0f}"), status=413)
    if not data:
        raise AppError(_l("Tệp “%(name)s” rỗng.", name=shown), status=400)
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise AppError(_l("Tệp “%(name)s” không phải tệp PDF hoàn chỉnh.", name=shown), status=415)
        return CheckedFile(_safe_name(filename, "pdf"), "application/pdf", "pdf", data)
    if pdf_only:
        raise AppError(_l("Tệp “%(name)s” không phải tệp PDF.", name=shown), status=415)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in IMAGE_FORMATS or image.width * image.height > MAX_PIXELS:
                raise UnidentifiedImageError
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise AppError(_l("Tệp “%(name)s” không phải ảnh (JPEG, PNG, WebP) hay PDF; chỉ nhận ảnh và PDF.",
                          name=shown), status=415) from None
    extension, mime = IMAGE_FORMATS[image.format]
    image = ImageOps.exif_transpose(image)  # keep the picture upright once its orientation tag is gone
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    if extension == "jpg":
        image = image.convert("RGB")
    clean = Image.new(image.mode, image.size)
    clean.paste(image)  # pixels only: no EXIF, XMP, ICC text or comments
    out = io.BytesIO()
    clean.save(out, format={"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[extension], **(
        {"quality": 88} if extension in ("jpg", "webp") else {}))
    return CheckedFile(_safe_name(filename, extension), mime, extension, out.getvalue())


def store(directory: str, checked: CheckedFile) -> str:
    """Write the file under `directory` with a random name; return that name."""
    os.makedirs(directory, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{checked.extension}"
    path = os.path.join(directory, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640), "wb") as handle:
        handle.write(checked.data)
    return name


def read(directory: str, stored_name: str) -> bytes:
    """Return a stored file's bytes."""
    if not re.fullmatch(r"[0-9a-f]{32}\.(jpg|png|webp|pdf)", stored_name):
        raise AppError(_l("Không tìm thấy tệp."), status=404)
    return Path(directory, stored_name).read_bytes()
