"""`flask units list`, `flask counters list`, and `flask qr counter|sheet` (a counter's QR code, posters to print)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import echo_json, fail_on_app_error, open_output, qr_group
from app.auth.audit import COMMAND_LINE
from app.config import token_keys
from app.database import utcnow
from app.extensions import db
from app.units.posters import LAYOUTS, PAPERS, counter_posters, poster_text, render_posters
from app.units.services import (counter_qr, counter_short_url, get_counter_by_code, get_unit_by_code, list_counters,
                                list_units, rotate_counter_token, set_counter_instrument)
from app.units.tokens import counter_url

units_group = AppGroup("units", help="Đơn vị hành chính.")
counters_group = AppGroup("counters", help="Quầy một cửa.")
COMMANDS = (units_group, counters_group)


@units_group.command("list")
@click.option("--unit", "unit_code", help="Chỉ cây con của đơn vị này.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Bảng để đọc hay JSON cho máy.")
@fail_on_app_error
def list_units_command(unit_code: str | None, fmt: str) -> None:
    """List units with their parent's code."""
    units = list_units(get_unit_by_code(unit_code) if unit_code else None)
    rows = [{"code": u.code, "name": u.name, "parent": u.parent.code if u.parent else None, "kind": u.kind,
             "active": u.is_active} for u in units]
    if fmt == "json":
        echo_json([{key: row[key] for key in ("code", "name", "parent")} for row in rows])
        return
    for row in rows:
        click.echo(f"{row['code']:<16} {row['parent'] or '-':<16} {row['name']}")


@counters_group.command("list")
@click.option("--unit", "unit_code", help="Chỉ các quầy trong cây con của đơn vị này.")
@click.option("--all", "everything", is_flag=True,
              help="Cả các quầy đã ngừng nhận đánh giá (JSON thêm trường active).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Bảng để đọc hay JSON cho máy.")
@fail_on_app_error
def list_counters_command(unit_code: str | None, everything: bool, fmt: str) -> None:
    """List the counters that take responses, with their unit and survey URL (--all: retired ones too)."""
    config = current_app.config
    counters = list_counters(get_unit_by_code(unit_code) if unit_code else None, include_inactive=everything)
    rows = [{"code": c.code, "name": c.name, "unit": c.unit.code,
             "url": counter_url(config["BASE_URL"], c.token_nonce, token_keys(config)),
             "short_url": counter_short_url(c, config["BASE_URL"]), "instrument": c.instrument_code,
             **({"active": c.is_active and c.unit.is_active} if everything else {})} for c in counters]
    if fmt == "json":
        echo_json(rows)
        return
    for row in rows:
        retired = "" if row.get("active", True) else "  (ngừng)"
        click.echo(f"{row['code']:<16} {row['unit']:<16} {row['short_url']}  {row['url']}  {row['name']}{retired}")


@counters_group.command("set")
@click.argument("code")
@click.option("--instrument", "instrument_code", required=True,
              help="Mã phiếu SIPAS đã công bố, ví dụ sipas-counter (đầy đủ) hoặc sipas-quick (nhanh).")
@fail_on_app_error
def set_counter_command(code: str, instrument_code: str) -> None:
    """Choose the survey instrument a counter serves (its reports follow it; instruments are never mixed)."""
    counter = get_counter_by_code(code)
    set_counter_instrument(COMMAND_LINE, counter, instrument_code, current_app.extensions["units.instruments"](),
                           utcnow())
    db.session.commit()
    click.echo(f"Quầy {counter.code} dùng phiếu {counter.instrument_code}.")


@counters_group.command("rotate")
@click.argument("code")
@fail_on_app_error
def rotate_counter_command(code: str) -> None:
    """Give a counter a new QR code and short address (printed posters stop working; see the grace period)."""
    config = current_app.config
    counter = get_counter_by_code(code)
    rotate_counter_token(COMMAND_LINE, counter, utcnow())
    db.session.commit()
    url = counter_url(config["BASE_URL"], counter.token_nonce, token_keys(config))
    click.echo(f"Đã đổi mã QR của quầy {counter.code}: {url}  {counter_short_url(counter, config['BASE_URL'])}")


@qr_group.command("counter")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True,
              help="Ảnh PNG hay SVG (vector, in sắc nét).")
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: in ra stdout).")
@fail_on_app_error
def qr_counter_command(code: str, fmt: str, out: str | None) -> None:
    """Write the QR code of a counter's survey URL."""
    config = current_app.config
    counter = get_counter_by_code(code)
    url = counter_url(config["BASE_URL"], counter.token_nonce, token_keys(config))
    stream = open_output(out, binary=True)
    stream.write(counter_qr(counter, fmt, config["BASE_URL"], token_keys(config)))
    stream.flush()
    if out:
        click.echo(f"{out}: {url}", err=True)


@qr_group.command("sheet")
@click.option("--unit", "unit_code", required=True, help="In áp phích cho mọi quầy trong cây con của đơn vị này.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Tệp PDF đích.")
@click.option("--format", "paper", type=click.Choice(list(PAPERS)), default="a4", show_default=True,
              help="Khổ in: a4, a5, hoặc tent (bảng để bàn: tờ A4 gấp đôi).")
@click.option("--per-page", type=click.Choice([str(n) for n in LAYOUTS]), default="1", show_default=True,
              help="Số áp phích trên một trang A4 (khổ a5 và tent: 1).")
@fail_on_app_error
def qr_sheet_command(unit_code: str, out: str, paper: str, per_page: str) -> None:
    """Write a printable PDF of QR posters (A4, A5 or table tents) for a unit's active counters."""
    config = current_app.config
    counters = list_counters(get_unit_by_code(unit_code), include_inactive=False)
    if not counters:
        raise click.ClickException("Đơn vị này không có quầy nào đang hoạt động.")
    if paper != "a4" and per_page != "1":
        raise click.BadParameter("chỉ khổ a4 in được nhiều áp phích trên một trang.", param_hint="--per-page")
    posters = counter_posters(counters, config["BASE_URL"], token_keys(config))
    pdf = render_posters(posters, poster_text(), int(per_page), paper)
    with open_output(out, binary=True) as stream:
        stream.write(pdf)
    click.echo(f"Đã ghi {len(posters)} áp phích vào {out}.")
