"""`flask results publish|withdraw|list`: publish a unit's results for a period (a frozen snapshot), withdraw them."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.auth.audit import COMMAND_LINE
from app.cli import echo_json, fail_on_app_error
from app.database import utcnow
from app.extensions import db
from app.organiser.aggregates import refresh_packs
from app.portal import services
from app.units.services import get_unit_by_code

results_group = AppGroup("results", help="Công bố kết quả khảo sát hài lòng trên trang công khai.")
COMMANDS = (results_group,)


@results_group.command("publish")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị (như `flask units list`).")
@click.option("--period", required=True, help="Kỳ: 2026, 2026-Q3, 2026-H1 hoặc 2026-07.")
@fail_on_app_error
def publish_command(unit_code: str, period: str) -> None:
    """Freeze the unit's SIPAS report for the period and publish it (again: a new version)."""
    refresh_packs(utcnow())
    db.session.commit()  # fold what is waiting first, as `flask report sipas` does
    row = services.publish(COMMAND_LINE, get_unit_by_code(unit_code), period, now=utcnow())
    db.session.commit()
    click.echo(f"Đã công bố kết quả kỳ {row.period} của {unit_code} (phiên bản {row.version}).")


@results_group.command("withdraw")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị.")
@click.option("--period", required=True, help="Kỳ đã công bố.")
@fail_on_app_error
def withdraw_command(unit_code: str, period: str) -> None:
    """Take a published result off the public pages."""
    row = services.withdraw(COMMAND_LINE, get_unit_by_code(unit_code), period, now=utcnow())
    db.session.commit()
    click.echo(f"Đã rút kết quả kỳ {row.period} của {unit_code}.")


@results_group.command("list")
@click.option("--unit", "unit_code", help="Chỉ các đơn vị thuộc cây của đơn vị này (mặc định: tất cả).")
@fail_on_app_error
def list_command(unit_code: str | None) -> None:
    """Publications as JSON: unit, period, version, public, published_at, withdrawn_at, responses, overall."""
    import sqlalchemy as sa

    from app.units.models import Unit

    root = get_unit_by_code(unit_code) if unit_code else db.session.scalar(
        sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    rows = services.publications(root) if root is not None else []
    echo_json([{"unit": row.unit.code, "period": row.period, "version": row.version, "public": row.is_public,
                "published_at": row.published_at.isoformat(),
                "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
                "responses": row.snapshot["report"]["responses"],
                "overall": row.snapshot["report"]["overall"]["value"]} for row in rows])
