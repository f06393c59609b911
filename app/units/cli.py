"""`flask units list` and `flask counters list`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import echo_json, fail_on_app_error
from app.surveys.services import counter_url
from app.units.services import get_unit_by_code, list_counters, list_units

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
             "url": counter_url(config["BASE_URL"], c.token_nonce, config["SECRET_KEY"]),
             **({"active": c.is_active and c.unit.is_active} if everything else {})} for c in counters]
    if fmt == "json":
        echo_json(rows)
        return
    for row in rows:
        retired = "" if row.get("active", True) else "  (ngừng)"
        click.echo(f"{row['code']:<16} {row['unit']:<16} {row['url']}  {row['name']}{retired}")
