"""`flask api-tokens create|list|revoke`."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.api.models import ApiToken
from app.api.services import issue_token, revoke_token
from app.cli import fail_on_app_error
from app.database import utcnow
from app.extensions import db
from app.units.services import get_unit_by_code

tokens_group = AppGroup("api-tokens", help="Bearer tokens of the JSON API, each scoped to a unit subtree.")
COMMANDS = (tokens_group,)


@tokens_group.command("create")
@click.option("--unit", "unit_code", required=True, help="The token sees this unit and everything below it.")
@click.option("--name", required=True, help="Who uses the token, e.g. the one-stop system's name.")
@fail_on_app_error
def create_token_command(unit_code: str, name: str) -> None:
    """Create a token and print its secret once."""
    token, secret = issue_token(name, get_unit_by_code(unit_code), utcnow())
    db.session.commit()
    click.echo(secret)
    click.echo(f"Token #{token.id} cho {unit_code}: lưu chuỗi trên ngay, hệ thống không lưu lại.", err=True)


@tokens_group.command("list")
def list_tokens_command() -> None:
    """List tokens (never their secrets)."""
    for token in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        state = "revoked" if token.revoked_at else "active"
        click.echo(f"#{token.id:<5} {token.prefix}…  {token.unit.code:<16} {state:<8} {token.name}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@fail_on_app_error
def revoke_token_command(token_id: int) -> None:
    """Revoke a token by id."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"Không có token #{token_id}.")
    revoke_token(token, utcnow())
    db.session.commit()
    click.echo(f"Đã thu hồi token #{token_id}.")
