"""Write a PeriodicDocument as an editable Word file in the layout of Decree 30/2020/NĐ-CP, Appendix I.

A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman (the font name Word and LibreOffice
look for; LibreOffice prints it with the metric-compatible Liberation Serif where Times is not installed) at 14 pt
for the body; the parent agency (12–13 pt) and the issuing agency (bold) top left with a short rule below, the
national heading (bold 12–13 pt) and the motto (bold 13–14 pt, a rule below) top right; "Số: …/BC-…" under the
agency; place and date in italics under the motto; "BÁO CÁO" (bold) and its subject centred; paragraphs justified
with a 1.27 cm first-line indent and 6 pt between them; page numbers centred at the top from page 2 on; "Nơi nhận"
(bold italic 12 pt, recipients 11 pt) bottom left and the signer's title (upper case, bold) and name (bold) bottom
right.
"""
from __future__ import annotations

import copy
import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from app.documents.periodic import PeriodicDocument, Table

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
#: Text width of an A4 page with 30 mm and 15 mm side margins.
TEXT_WIDTH = Mm(165)
LEFT_COLUMN, RIGHT_COLUMN = Mm(65), Mm(100)


def build_docx(document: PeriodicDocument) -> bytes:
    """Return the periodic report as DOCX bytes."""
    word = Document()
    _page_setup(word)
    _styles(word)
    word.core_properties.title = f"Báo cáo {document.period_words}"
    word.core_properties.subject = document.subject
    word.core_properties.author = document.letterhead.agency
    word.core_properties.language = "vi-VN"
    _letterhead(word, document)
    _title(word, document)
    _paragraph(word, document.opening)
    for section in document.sections:
        heading = word.add_paragraph()
        heading.paragraph_format.keep_with_next = True
        heading.paragraph_format.space_before = Pt(6)
        heading.paragraph_format.first_line_indent = Cm(1.27)
        heading.add_run(section.heading).bold = True
        for text in section.paragraphs:
            _paragraph(word, text)
        for table in section.tables:
            _table(word, table)
    _paragraph(word, f"Trên đây là báo cáo kết quả cải cách hành chính {document.period_words} của "
               f"{document.unit_name}.").paragraph_format.keep_with_next = True
    _signature(word, document)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _page_setup(word) -> None:
    section = word.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    section.different_first_page_header_footer = True  # no number on the first page
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_field(header)


def _page_field(paragraph) -> None:
    """Append a PAGE field (the page number) to a paragraph."""
    run = paragraph.add_run()
    run.font.size = Pt(BODY_PT)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = "PAGE"
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


def _styles(word) -> None:
    normal = word.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "vi-VN")
    normal.element.get_or_add_rPr().append(language)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.0


def _borderless(table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _widths(table, widths) -> None:
    """Give a table's columns and every cell their widths (Word reads the cells, LibreOffice the grid)."""
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _line(cell_or_doc, text: str, *, size: int = 13, bold: bool = False, italic: bool = False,
          align=WD_ALIGN_PARAGRAPH.CENTER, first: bool = False):
    paragraph = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
    paragraph.alignment = align
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    run.italic = italic
    return paragraph


def _rule(cell, indent_mm: float) -> None:
    """A short centred horizontal rule: an empty paragraph with a bottom border, narrowed by its indents."""
    paragraph = cell.add_paragraph()
    paragraph.paragraph_format.left_indent = Mm(indent_mm)
    paragraph.paragraph_format.right_indent = Mm(indent_mm)
    paragraph.paragraph_format.line_spacing = Pt(4)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _letterhead(word, document: PeriodicDocument) -> None:
    head = document.letterhead
    table = word.add_table(rows=2, cols=2)
    _borderless(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    left, right = table.rows[0].cells
    _widths(table, (LEFT_COLUMN, RIGHT_COLUMN))
    first = True
    if head.parent_agency:
        _line(left, head.parent_agency, size=12, first=True)
        first = False
    _line(left, head.agency, size=12, bold=True, first=first)
    _rule(left, 20)
    _line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True, first=True)
    _line(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True)
    _rule(right, 25)
    number_cell, date_cell = table.rows[1].cells
    _line(number_cell, head.number, size=13, first=True).paragraph_format.space_before = Pt(6)
    _line(date_cell, head.place_date, size=14, italic=True, first=True).paragraph_format.space_before = Pt(6)


def _title(word, document: PeriodicDocument) -> None:
    title = _line(word, "BÁO CÁO", size=14, bold=True)
    title.paragraph_format.space_before = Pt(18)
    _line(word, document.subject, size=14, bold=True)
    rule_holder = word.add_paragraph()
    rule_holder.paragraph_format.left_indent = Mm(60)
    rule_holder.paragraph_format.right_indent = Mm(60)
    rule_holder.paragraph_format.line_spacing = Pt(4)
    rule_holder.paragraph_format.space_after = Pt(12)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    rule_holder._p.get_or_add_pPr().append(borders)


def _paragraph(word, text: str):
    paragraph = word.add_paragraph(text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Cm(1.27)
    paragraph.paragraph_format.space_after = Pt(6)
    paragraph.paragraph_format.line_spacing = 1.15
    return paragraph


def _table(word, data: Table) -> None:
    caption = _line(word, data.caption, size=13, bold=True)
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.space_after = Pt(3)
    caption.paragraph_format.keep_with_next = True
    # The heading and the first body row are formatted through python-docx; every further row is a copy of the
    # first with its texts replaced (cell by cell, 500 communes' rows cost python-docx a second).
    first_rows = (data.headers, *data.rows[:1])
    table = word.add_table(rows=len(first_rows), cols=len(data.headers))
    table.style = word.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    total = sum(data.widths)
    widths = [int(TEXT_WIDTH * share / total) for share in data.widths]
    _widths(table, widths)
    for row_index, (row, values) in enumerate(zip(table.rows, first_rows)):
        if row_index == 0:
            header = OxmlElement("w:tblHeader")  # repeated at the top of each page
            row._tr.get_or_add_trPr().append(header)
        for column, (cell, value) in enumerate(zip(row.cells, values)):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = (WD_ALIGN_PARAGRAPH.CENTER if row_index == 0 else
                                   WD_ALIGN_PARAGRAPH.RIGHT if data.numeric[column] else WD_ALIGN_PARAGRAPH.LEFT)
            run = paragraph.add_run(value)
            run.font.size = Pt(TABLE_PT)
            run.bold = row_index == 0
    if len(data.rows) > 1:
        model = table.rows[1]._tr
        for values in data.rows[1:]:
            row = copy.deepcopy(model)
            for run, value in zip(row.iter(qn("w:r")), values):
                run.text = value  # keeps the run's properties (size), replaces its text
            table._tbl.append(row)
    word.add_paragraph().paragraph_format.space_after = Pt(3)


def _signature(word, document: PeriodicDocument) -> None:
    head = document.letterhead
    table = word.add_table(rows=1, cols=2)
    _borderless(table)
    table.autofit = False
    left, right = table.rows[0].cells
    _widths(table, (Mm(85), Mm(80)))
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # the block stays on one page
    heading = left.paragraphs[0]
    run = heading.add_run("Nơi nhận:")
    run.bold = run.italic = True
    run.font.size = Pt(12)
    heading.paragraph_format.space_before = Pt(12)
    for recipient in head.recipients:
        _line(left, recipient, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    first = True
    for line in head.signer_title:
        paragraph = _line(right, line, size=14, bold=True, first=first)
        if first:
            paragraph.paragraph_format.space_before = Pt(12)
        first = False
    for _ in range(4):
        right.add_paragraph()
    _line(right, head.signer_name or "…", size=14, bold=True)
