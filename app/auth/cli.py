"""`flask create-organiser`: an organiser account from the command line (the first administrator of a site)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.auth.services import create_organiser
from app.cli import fail_on_app_error
from app.database import utcnow
from app.extensions import db
from app.units.services import get_unit_by_code


@click.command("create-organiser")
@click.option("--email", required=True, help="Email đăng nhập của tài khoản.")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị gốc của tài khoản.")
@click.option("--role", type=click.Choice(["administrator", "organiser", "viewer"]), default="organiser",
              show_default=True, help="Vai trò: quản trị, tổ chức hay chỉ xem báo cáo.")
@click.option("--name", default="", help="Họ tên hiển thị.")
@click.password_option(help="Mật khẩu (ít nhất 12 ký tự); hỏi khi không truyền vào.")
@with_appcontext
@fail_on_app_error
def create_organiser_command(email: str, unit_code: str, role: str, name: str, password: str) -> None:
    """Create an organiser account scoped to a unit's subtree."""
    organiser = create_organiser(email, name, get_unit_by_code(unit_code), role, password, utcnow())
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {organiser.email} ({organiser.role}) cho đơn vị {unit_code}.")


COMMANDS = (create_organiser_command,)
