"""`flask report periodic`: the periodic report as an official DOCX or PDF document.

The command joins the shared ``report`` group of app/cli.py when this module is imported.
"""
from __future__ import annotations

import click
from flask import current_app

from app.cli import fail_on_app_error, open_output, report_group
from app.database import utcnow
from app.documents.pdf import find_soffice
from app.documents.services import FORMATS, periodic_report_file
from app.errors import AppError
from app.extensions import db
from app.i18n import local_zone
from app.organiser.aggregates import refresh_packs
from app.periods import parse_period
from app.units.services import get_unit_by_code

#: Nothing beyond the shared ``report`` group, which create_app adds from app/cli.py.
COMMANDS = ()


@report_group.command("periodic")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị: báo cáo cả cây đơn vị bên dưới.")
@click.option("--period", required=True, help="Kỳ: 2026-Q3, 2026-H1, 2026-07, 2026 hoặc 2026-01-01..2026-03-31.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="docx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@fail_on_app_error
def report_periodic_command(unit_code: str, period: str, fmt: str, out: str | None) -> None:
    """Write the periodic report (Decree 30/2020 layout) of a unit for a period as DOCX or PDF."""
    try:
        chosen = parse_period(period)
    except ValueError as error:
        raise AppError(str(error)) from None
    unit = get_unit_by_code(unit_code)
    refresh_packs(utcnow())
    db.session.commit()  # like `report sipas`: fold what is waiting first
    _, data = periodic_report_file(unit, chosen, fmt, now=utcnow(), zone=local_zone(),
                                   soffice=find_soffice(current_app.config["DOCUMENT_SOFFICE"]))
    stream = open_output(out, binary=True)
    stream.write(data)
    stream.flush()
