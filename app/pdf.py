"""PDF documents with a Vietnamese-capable font, shared by posters, certificates and periodic reports."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from fpdf import FPDF

from app import cache


@cache.constants.memoise
def font_dir() -> Path:
    """Return the folder of the DejaVu fonts that ship inside matplotlib (no system font is assumed)."""
    spec = importlib.util.find_spec("matplotlib")
    return Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"


def add_dejavu(pdf: FPDF) -> FPDF:
    """Register DejaVu (regular and bold, covering Vietnamese) on a document as the family "DejaVu"."""
    pdf.add_font("DejaVu", "", str(font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(font_dir() / "DejaVuSans-Bold.ttf"))
    return pdf
