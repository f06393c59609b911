"""The `flask` command line: the commands that span features, the groups features add their commands to (export,
report, qr), and what every command shares (JSON output, output files, clear refusals).

Imports no feature at module level: the features' cli modules import this one, and create_app registers them all.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click
from flask.cli import AppGroup, with_appcontext

from app.errors import AppError
from app.extensions import db

#: Groups shared by several features (each feature's cli module adds commands to them).
export_group = AppGroup("export", help="Xuất dữ liệu thô (CSV/XLSX).")
report_group = AppGroup("report", help="Báo cáo thống kê (JSON/CSV/XLSX).")
qr_group = AppGroup("qr", help="Mã QR và áp phích in cho quầy.")


def fail_on_app_error(command: Callable) -> Callable:
    """Turn an AppError into a clear message and exit status 1 (no traceback), rolling back."""
    import functools

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AppError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None

    return wrapper


def echo_json(data: object) -> None:
    """Print JSON with Vietnamese kept readable."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def open_output(path: str | None, binary: bool):
    """Return a writable stream: the file at `path`, or stdout; a path that cannot be written is a clear error."""
    if path:
        try:
            return open(path, "wb" if binary else "w", encoding=None if binary else "utf-8",
                        newline=None if binary else "")
        except OSError as error:
            raise click.ClickException(f"Không ghi được tệp {path}: {error.strerror}.") from None
    return sys.stdout.buffer if binary else sys.stdout


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất.")


@click.command("seed-demo")
@click.option("--responses", default=3000, show_default=True, help="Số phiếu khảo sát mẫu.")
@click.option("--seed", default=2026, show_default=True, help="Hạt giống ngẫu nhiên.")
@with_appcontext
@fail_on_app_error
def seed_demo_command(responses: int, seed: int) -> None:
    """Load the demo province once (units, counters, instruments, contest, synthetic responses)."""
    from app.demo import seed_demo

    created = seed_demo(responses=responses, seed=seed)
    db.session.commit()
    click.echo("Đã tạo dữ liệu mẫu." if created else "Dữ liệu mẫu đã có sẵn, không tạo lại.")


@click.command("synth")
@click.option("--responses", default=0, show_default=True, help="Số phiếu khảo sát tổng hợp.")
@click.option("--attempts", default=0, show_default=True, help="Số lượt thi tổng hợp.")
@click.option("--seed", default=1, show_default=True, help="Hạt giống ngẫu nhiên.")
@click.option("--days", default=365, show_default=True, help="Rải đều trong bao nhiêu ngày gần nhất.")
@with_appcontext
@fail_on_app_error
def synth_command(responses: int, attempts: int, seed: int, days: int) -> None:
    """Add synthetic survey responses and contest attempts (for benchmarks and demos)."""
    from app.synth import synthesise

    counts = synthesise(responses=responses, attempts=attempts, seed=seed, days=days)
    db.session.commit()
    click.echo(", ".join(f"{name}: {value}" for name, value in counts.items()))


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
    from app.auth.services import create_organiser
    from app.database import utcnow
    from app.units.services import get_unit_by_code

    organiser = create_organiser(email, name, get_unit_by_code(unit_code), role, password, utcnow())
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {organiser.email} ({organiser.role}) cho đơn vị {unit_code}.")


#: The commands of this module; create_app adds them with every feature's own (each feature's cli module).
COMMANDS = (init_db_command, seed_demo_command, synth_command, create_organiser_command, export_group, report_group,
            qr_group)
