"""What every `flask` command shares: the groups features add their commands to (export, report, qr), JSON output,
output files, clear refusals; and `flask init-db`.

Imports no feature: the features' cli modules (and app/commands.py, the commands that span features) import this
one, and create_app registers them all.
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


#: The commands of this module; create_app adds them with every feature's own (each feature's cli module).
COMMANDS = (init_db_command, export_group, report_group, qr_group)
