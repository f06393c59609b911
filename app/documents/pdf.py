"""The periodic report as a PDF with the same content as its DOCX.

Where LibreOffice is installed (Debian's libreoffice-writer-nogui; `.ci/run` installs it) the PDF *is* the DOCX
converted by ``soffice --headless --convert-to pdf``: one layout, page for page what the organiser would print from
Word, with Times New Roman replaced by its metric-compatible twin Liberation Serif when Times is absent. Without
LibreOffice (or when it fails) the same PeriodicDocument is set with fpdf2 in DejaVu Serif (shipped inside matplotlib, so always there)
on the same A4 page and margins: same text and tables, a simpler letterhead.

A job worker converts on its resident LibreOffice (``app.documents.listener``); while that starts, or when it fails,
the conversion starts LibreOffice cold; when that fails too, fpdf2 sets the document. A log line says which.
"""
from __future__ import annotations

import logging
import os
import shutil
# LibreOffice runs with a fixed argument list, never through a shell.
import subprocess  # nosec B404
import tempfile
import threading
from pathlib import Path

from fpdf import FPDF

from app.documents.listener import Listener, ListenerUnavailable
from app.documents.periodic import PeriodicDocument, Table
from app.errors import AppError
from app.pdf import font_dir

log = logging.getLogger(__name__)

#: Longest a conversion may take before it is given up (a cold LibreOffice start takes 2–4 s here).
CONVERT_TIMEOUT = 90


def find_soffice(setting: str | None = "auto") -> str | None:
    """Return the LibreOffice program to convert with: the setting's path, or ``soffice`` on PATH for "auto";
    None when the setting is empty or nothing is found (the fpdf2 fallback is used)."""
    if not setting:
        return None
    if setting == "auto":
        return shutil.which("soffice") or shutil.which("libreoffice")
    return setting


def build_pdf(document: PeriodicDocument, docx: bytes, soffice: str | None, listener: Listener | None = None
              ) -> bytes:
    """Return the PDF of the document: LibreOffice's conversion of ``docx`` when ``soffice`` is given (on the
    ``listener`` when it is given and answers, else by a cold start), fpdf2 without LibreOffice or when it fails."""
    if soffice:
        if listener is not None:
            try:
                data = listener.convert(docx)
            except ListenerUnavailable as error:
                log.info("Periodic report PDF: cold LibreOffice conversion (%s)", error)
            else:
                log.info("Periodic report PDF: converted on the resident LibreOffice listener")
                return data
        try:
            data = convert_docx(docx, soffice)
        except AppError as error:
            log.warning("Periodic report PDF: set with fpdf2, LibreOffice failed (%s)", error)
        else:
            if listener is None:
                log.info("Periodic report PDF: cold LibreOffice conversion")
            return data
    else:
        log.info("Periodic report PDF: set with fpdf2 (no LibreOffice)")
    return _fpdf(document)


#: One LibreOffice profile per process, made by its first conversion and reused (making one costs about as much as
#: a conversion); a lock keeps two threads of the process from sharing it at once. Processes never share one.
_profile_lock = threading.Lock()
_profiles: dict[int, Path] = {}


def _profile() -> Path:
    pid = os.getpid()
    if pid not in _profiles:
        _profiles[pid] = Path(tempfile.mkdtemp(prefix=f"hailong-soffice-{pid}-"))
    return _profiles[pid]


def convert_docx(docx: bytes, soffice: str) -> bytes:
    """Convert DOCX bytes to PDF bytes with LibreOffice headless, in this process's own profile.

    :raise AppError: when LibreOffice fails or produces nothing.
    """
    with _profile_lock, tempfile.TemporaryDirectory(prefix="hailong-docx-") as folder:
        work = Path(folder)
        source = work / "bao-cao.docx"
        source.write_bytes(docx)
        command = [soffice, f"-env:UserInstallation={_profile().as_uri()}", "--headless", "--norestore",
                   "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export",
                   "--outdir", str(work), str(source)]
        try:
            completed = subprocess.run(command, capture_output=True, timeout=CONVERT_TIMEOUT, check=False,  # nosec B603
                                       env={"HOME": str(_profile()), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AppError(f"Không chuyển được báo cáo sang PDF: {error}") from None
        target = work / "bao-cao.pdf"
        if completed.returncode != 0 or not target.exists():
            detail = (completed.stderr or completed.stdout or b"").decode("utf-8", "replace").strip()[:300]
            raise AppError(f"Không chuyển được báo cáo sang PDF (LibreOffice: {detail or completed.returncode}).")
        return target.read_bytes()


class _DocumentPDF(FPDF):
    """A4 with the decree's margins; page numbers centred at the top from page 2 on."""

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_y(10)
            self.set_font("Serif", "", 13)
            self.cell(0, 6, str(self.page_no()), align="C")
            self.set_y(20)


def _fpdf(document: PeriodicDocument) -> bytes:
    pdf = _DocumentPDF(format="A4", unit="mm")
    folder = font_dir()
    for style, name in (("", "DejaVuSerif.ttf"), ("B", "DejaVuSerif-Bold.ttf"), ("I", "DejaVuSerif-Italic.ttf"),
                        ("BI", "DejaVuSerif-BoldItalic.ttf")):
        pdf.add_font("Serif", style, str(folder / name))
    pdf.set_margins(30, 20, 15)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(f"Báo cáo {document.period_words}")
    pdf.add_page()
    head = document.letterhead
    top = pdf.get_y()
    pdf.set_font("Serif", "", 11)
    if head.parent_agency:
        pdf.multi_cell(65, 5.5, head.parent_agency, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "B", 11)
    pdf.multi_cell(65, 5.5, head.agency, align="C", new_x="LEFT", new_y="NEXT")
    pdf.line(pdf.l_margin + 20, pdf.get_y() + 1, pdf.l_margin + 45, pdf.get_y() + 1)
    pdf.ln(3)
    pdf.set_font("Serif", "", 11)
    pdf.multi_cell(65, 5.5, head.number, align="C", new_x="LEFT", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 65, top)
    pdf.set_font("Serif", "B", 11)
    pdf.multi_cell(100, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "B", 12)
    pdf.multi_cell(100, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LEFT", new_y="NEXT")
    pdf.line(pdf.l_margin + 65 + 25, pdf.get_y() + 1, pdf.l_margin + 65 + 75, pdf.get_y() + 1)
    pdf.ln(3)
    pdf.set_font("Serif", "I", 12)
    pdf.multi_cell(100, 6, head.place_date, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, max(left_bottom, pdf.get_y()) + 8)
    pdf.set_font("Serif", "B", 13)
    pdf.multi_cell(0, 7, "BÁO CÁO", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 7, document.subject, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _body(pdf, document.opening)
    for section in document.sections:
        pdf.set_font("Serif", "B", 13)
        pdf.ln(1)
        pdf.multi_cell(0, 7, section.heading, new_x="LMARGIN", new_y="NEXT")
        for text in section.paragraphs:
            _body(pdf, text)
        for table in section.tables:
            _table(pdf, table)
    _body(pdf, f"Trên đây là báo cáo kết quả cải cách hành chính {document.period_words} của {document.unit_name}.")
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_font("Serif", "BI", 11)
    pdf.cell(85, 6, "Nơi nhận:", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "", 10)
    for line in head.recipients:
        pdf.multi_cell(85, 5, line, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin + 85, top)
    pdf.set_font("Serif", "B", 12)
    for line in head.signer_title:
        pdf.multi_cell(80, 6, line, align="C", new_x="LEFT", new_y="NEXT")
    pdf.ln(22)
    pdf.multi_cell(80, 6, head.signer_name or "…", align="C", new_x="LEFT", new_y="NEXT")
    return bytes(pdf.output())


def _body(pdf: FPDF, text: str) -> None:
    pdf.set_font("Serif", "", 12)
    pdf.multi_cell(0, 6.5, "\u2003\u2003" + text, align="J", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _table(pdf: FPDF, data: Table) -> None:
    pdf.set_font("Serif", "B", 11)
    pdf.multi_cell(0, 6, data.caption, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Serif", "", 10)
    total = sum(data.widths)
    aligns = tuple("RIGHT" if numeric else "LEFT" for numeric in data.numeric)
    with pdf.table(col_widths=tuple(165 * width / total for width in data.widths), line_height=5.5,
                   text_align=aligns, first_row_as_headings=True) as table:
        heading = table.row()
        for header in data.headers:
            heading.cell(header)
        for values in data.rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(3)
