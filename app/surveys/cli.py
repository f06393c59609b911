"""`flask instruments …`, `flask dossier-link`, `flask export responses`."""
from __future__ import annotations

import click
from flask import current_app
from flask_babel import gettext as _
from flask.cli import AppGroup, with_appcontext

from app.cli import export_group, fail_on_app_error, open_output
from app.config import token_keys
from app.database import utcnow
from app.exports import write_csv, write_xlsx
from app.extensions import db
from app.i18n import local_zone
from app.periods import parse_period
from app.surveys import services
from app.surveys.exports import response_table
from app.surveys.instruments import load_instrument
from app.units.qr import make_qr_png
from app.units.services import get_counter_by_code, get_unit_by_code, mint_dossier_link
from app.validation import Rejected

instruments_group = AppGroup("instruments", help="Phiếu khảo sát (định nghĩa trong thư mục surveys/).")


@instruments_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@fail_on_app_error
def load_instruments_command(paths: tuple[str, ...]) -> None:
    """Validate instrument files and publish them (a version with responses is never changed)."""
    problems = []
    parsed = []
    for path in paths:
        try:
            parsed.append(load_instrument(path))
        except Rejected as error:
            problems.extend(error.problems)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(problems)} lỗi; không phiếu nào được nạp.")
    for instrument in parsed:
        version = services.publish_instrument(instrument)
        click.echo(f"Đã nạp {version.code} v{version.version} ({len(instrument.items)} câu hỏi).")
    db.session.commit()


@instruments_group.command("list")
def list_instruments_command() -> None:
    """List published instrument versions."""
    import sqlalchemy as sa

    from app.surveys.models import InstrumentVersion

    for version in db.session.scalars(sa.select(InstrumentVersion).order_by(InstrumentVersion.code,
                                                                             InstrumentVersion.version)):
        click.echo(f"{version.code:<20} v{version.version:<4} {version.kind:<8} {version.title}")


@click.command("dossier-link")
@with_appcontext
@click.option("--counter", "counter_code", required=True, help="Mã quầy đã trả kết quả hồ sơ.")
@click.option("--dossier", "dossier_code", required=True, help="Mã hồ sơ đã trả kết quả.")
@click.option("--days", type=click.IntRange(1, 365), help="Hiệu lực (ngày); mặc định DOSSIER_LINK_DAYS.")
@click.option("--field", "field_code", help="Mã lĩnh vực của hồ sơ (một lĩnh vực của quầy): người dân không phải "
                                         "chọn lại.")
@click.option("--qr", "qr_path", type=click.Path(dir_okay=False), help="Ghi thêm mã QR (PNG) của liên kết.")
@fail_on_app_error
def dossier_link_command(counter_code: str, dossier_code: str, days: int | None, field_code: str | None,
                         qr_path: str | None) -> None:
    """Print a one-time rating link for a returned dossier (and optionally its QR code)."""
    config = current_app.config
    link = mint_dossier_link(get_counter_by_code(counter_code), dossier_code, days or config["DOSSIER_LINK_DAYS"],
                             service_field_code=field_code, now=utcnow(), base_url=config["BASE_URL"],
                             secret=token_keys(config))
    url = link.url
    if qr_path:
        with open_output(qr_path, binary=True) as stream:
            stream.write(make_qr_png(url))
    click.echo(url)


@export_group.command("responses")
@click.option("--instrument", "code", required=True, help="Mã phiếu, ví dụ sipas-counter.")
@click.option("--unit", "unit_code", help="Chỉ cây con của đơn vị này.")
@click.option("--period", help="2026-Q3, 2026-H1, 2026-07, 2026 hoặc 2026-01-01..2026-03-31.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True,
              help="Định dạng tệp xuất.")
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@fail_on_app_error
def export_responses_command(code: str, unit_code: str | None, period: str | None, fmt: str, out: str | None) -> None:
    """Export raw responses: one row per response, one column per item code (formula-safe)."""
    try:
        chosen = parse_period(period) if period is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    root = get_unit_by_code(unit_code) if unit_code else None
    headers, rows = response_table(code, root, chosen, local_zone())
    if fmt == "csv":
        stream = open_output(out, binary=False)
        write_csv(headers, rows, stream)
        stream.flush()
    else:
        stream = open_output(out, binary=True)
        write_xlsx([(_("Phiếu trả lời"), headers, rows)], stream)  # the sheet the organiser's download names
        stream.flush()


COMMANDS = (instruments_group, dossier_link_command)
