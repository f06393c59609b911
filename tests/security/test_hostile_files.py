"""The worst small files (issue 17): a sheet declaring the full grid, one cell at the far corner, a sheet of a
million empty cells, nested YAML aliases, 50.000-deep nesting. Each is read by the real readers in a fresh process,
which must refuse it (or read its few real rows) within 5 s and 256 MB above its baseline memory.

Before the bounded reader, the full-grid and far-cell sheets ran the units import out of memory (or past the worker
timeout) and the alias bomb grew into a 152 MB message; this test then fails on the time or the memory budget.
"""
from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _workbook(sheet_xml: bytes) -> bytes:
    """A minimal valid .xlsx whose first sheet is ``sheet_xml``."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["ma", "ten"])
    source = io.BytesIO()
    book.save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in original.infolist():
            data = original.read(item.filename)
            archive.writestr(item, sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


SHEET = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         b'<dimension ref="%s"/><sheetData>%s</sheetData></worksheet>')
HEADER_ROW = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is>'
              b'</c><c r="C1" t="inlineStr"><is><t>parent</t></is></c></row>')


def hostile_files() -> dict[str, tuple[str, bytes]]:
    cells = b"".join(b'<c r="A%d"/>' % n for n in range(2, 2000))
    wide = b'<row r="2">' + b"<c/>" * 200_000 + b"</row>"
    bomb = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                     + [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
                        for p, c in zip("abcdefghi", "bcdefghij")]
                     + ["slug: *f", "title: *f", "questions: *f", "registration: {cccd: *f}",
                        "leaderboard: {visibility: *f}"])
    return {
        "full grid": ("donvi.xlsx", _workbook(SHEET % (b"A1:XFD1048576", HEADER_ROW))),
        "far cell": ("donvi.xlsx", _workbook(SHEET % (b"A1:XFD1048576", HEADER_ROW
                                                       + b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'))),
        "many empty cells": ("donvi.xlsx", _workbook(SHEET % (b"A1:B2000", HEADER_ROW + cells))),
        "one row of 200.000 cells": ("donvi.xlsx", _workbook(SHEET % (b"A1:B2", HEADER_ROW + wide))),
        "5 MB of blank CSV rows": ("donvi.csv", b"code,name,parent\r\n" + b",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n"
                                   * (5 * 1024 * 1024 // 42)),
        "alias bomb": ("cauhoi.yaml", bomb.encode()),
        "50.000-deep nesting": ("cauhoi.yaml", b"a: " + b"[" * 50_000 + b"]" * 50_000),
        "50.000-deep block nesting": ("cauhoi.yaml", b"a:\n" + b"- " * 50_000 + b"x\n"),
    }


SCRIPT = r"""
import json, resource, sys, time
from app import create_app
from app.uploads import UploadLimits, read_columns
from app.units.imports import TABLES
from app.contests.imports import parse_questions
from app.contests.spec import load_contest_file
from app.validation import Rejected
from zoneinfo import ZoneInfo

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
kind, name, path = sys.argv[1:4]
data = open(path, "rb").read()
with app.test_request_context():
    limits = UploadLimits.from_config(app.config, "IMPORT")
    def attempt(reader):
        try:
            reader()
        except Rejected as error:
            return str(error) + " | " + " ".join(str(p) for p in error.problems)
        return "read"

    def read():
        if name.endswith((".xlsx", ".csv")):
            readers = [lambda: read_columns(name, data, TABLES["units"], limits),
                       lambda: parse_questions(name, data, UploadLimits.from_config(app.config, "CONTEST_IMPORT"))]
        else:
            readers = [lambda: parse_questions(name, data, UploadLimits.from_config(app.config, "CONTEST_IMPORT")),
                       lambda: load_contest_file(data, ZoneInfo("Asia/Ho_Chi_Minh"), name)]
        return " || ".join(attempt(reader) for reader in readers)
    read.__name__  # warm the imports before the baseline
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcome = read()
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "extra_mb": (peak - baseline) / 1024, "outcome": outcome[:2000],
                  "length": len(outcome)}))
"""


def _cap_memory() -> None:
    """Keep a failing reader from taking the shared machine down with it: 2 GB of address space at most."""
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))


@pytest.mark.parametrize("kind", list(hostile_files()))
def test_the_worst_files_are_refused_within_5_seconds_and_256_mb(kind, tmp_path):
    name, data = hostile_files()[kind]
    assert len(data) <= 5 * 1024 * 1024  # under the request cap (all but one are tiny)
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", SCRIPT, kind, name, str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, preexec_fn=_cap_memory)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seconds"] < 5, result
    assert result["extra_mb"] < 256, result
    assert result["length"] < 10_000, result  # the message never echoes the expanded value
