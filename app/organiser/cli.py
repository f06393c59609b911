"""`flask report sipas|refresh|volumes`: the SIPAS report, folding new responses, dossier volumes for weighting.

The commands join the shared ``report`` group of app/cli.py when this module is imported.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app

from app.cache import sipas_reports
from app.cli import fail_on_app_error, open_output, report_group
from app.database import utcnow
from app.extensions import db
from app.i18n import local_zone
from app.organiser.aggregates import VOLUME_COLUMNS, import_dossier_volumes, refresh_packs
from app.organiser.report_files import comment_rows, report_data, write_report_csv, write_report_xlsx
from app.organiser.reports import TREND_GRANULARITIES, report_for_code
from app.units.services import get_unit_by_code
from app.uploads import UploadLimits, not_imported, read_columns
from app.validation import Rejected

#: Nothing beyond the shared ``report`` group, which create_app adds from app/cli.py.
COMMANDS = ()


@report_group.command("sipas")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị: báo cáo cả cây đơn vị bên dưới.")
@click.option("--period", required=True, help="Kỳ: 2026-Q3, 2026-H1, 2026-07, 2026 hoặc 2026-01-01..2026-03-31.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@click.option("--instrument", "instrument_code", help="Mã phiếu SIPAS (mặc định: phiếu có nhiều phiếu trả lời nhất).")
@click.option("--version", type=int, help="Phiên bản phiếu (mặc định: phiên bản mới nhất có phiếu trong kỳ).")
@click.option("--trend", type=click.Choice(TREND_GRANULARITIES), help="Xu hướng theo tháng hay quý.")
@fail_on_app_error
def report_sipas_command(unit_code: str, period: str, fmt: str, out: str | None, instrument_code: str | None,
                         version: int | None, trend: str | None) -> None:
    """Report SIPAS indices with intervals, alpha, child-unit ranking, comparison and trend (JSON, CSV or XLSX)."""
    refresh_packs(utcnow())
    db.session.commit()  # a command may write: it folds what is waiting first, as `report refresh` does
    report = report_for_code(unit_code, period, now=utcnow(), instrument_code=instrument_code, version=version,
                             trend=trend)
    if fmt == "xlsx":
        stream = open_output(out, binary=True)
        write_report_xlsx(report, comment_rows(get_unit_by_code(unit_code), report, local_zone()), stream)
    else:
        stream = open_output(out, binary=False)
        if fmt == "json":
            json.dump(report_data(report), stream, ensure_ascii=False, indent=2)
            stream.write("\n")
        else:
            write_report_csv(report, stream)
    stream.flush()


@report_group.command("refresh")
@fail_on_app_error
def report_refresh_command() -> None:
    """Fold the responses stored since the last fold into the report aggregates (after bulk loads, and periodically)."""
    result = refresh_packs(utcnow())
    db.session.commit()
    click.echo(f"Đã cập nhật {result.folded} phiếu vào dữ liệu tổng hợp"
               + (" (dựng lại toàn bộ)." if result.rebuilt else "."))


@report_group.command("volumes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", required=True, help="Chỉ nhận các đơn vị thuộc cây của đơn vị này.")
@fail_on_app_error
def report_volumes_command(path: str, unit_code: str) -> None:
    """Import dossier counts per unit, service field and month (CSV/XLSX: unit, field, month, dossiers)."""
    limits = UploadLimits.from_config(current_app.config, "VOLUMES_IMPORT")
    data = Path(path).read_bytes()
    try:
        try:
            rows = read_columns(path, data, VOLUME_COLUMNS, limits)
        except Rejected as refused:
            raise not_imported(list(refused.problems)) from None
        stored = import_dossier_volumes(get_unit_by_code(unit_code), rows)
    except Rejected as rejected:
        db.session.rollback()
        for problem in rejected.problems:
            click.echo(f"dòng {problem.row}: {problem.message}" if problem.row else str(problem.message), err=True)
        raise click.ClickException(str(rejected.message)) from None
    db.session.commit()
    # The weighted variant of every cached report depends on the volumes: every node recomputes (shared via Redis).
    sipas_reports.invalidate()
    click.echo(f"Đã lưu số hồ sơ của {stored} ô đơn vị × lĩnh vực × tháng.")
