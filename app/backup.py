"""`flask backup` and `flask restore` for the embedded SQLite database, through SQLite's online backup API.

The online backup copies a consistent snapshot while the application keeps serving (WAL readers never block
writers). PostgreSQL has its own tools; these commands refuse it and point to pg_dump / pg_restore.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli import fail_on_app_error
from app.errors import AppError

POSTGRES_HINT = ("Cơ sở dữ liệu là PostgreSQL: hãy dùng pg_dump / pg_restore (ví dụ `pg_dump -Fc -f hailong.dump "
                 "\"$DATABASE_URL\"`). Lệnh này chỉ dành cho SQLite mặc định.")


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore copied: the file written, its size and the schema revision it carries."""

    path: Path
    size: int
    revision: str | None
    tables: int


def sqlite_path(database_uri: str) -> Path:
    """Return the file of a SQLite URI; raise AppError for any other database."""
    if database_uri.startswith("postgresql"):
        raise AppError(POSTGRES_HINT)
    if not database_uri.startswith("sqlite:///") or database_uri.endswith(":memory:"):
        raise AppError(f"Chỉ sao lưu được tệp SQLite; địa chỉ cơ sở dữ liệu không được hỗ trợ: {database_uri}")
    return Path(database_uri.removeprefix("sqlite:///"))


def _describe(connection: sqlite3.Connection, path: Path) -> BackupResult:
    """Check a copied database and report its revision and table count."""
    problem = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if problem != "ok":
        raise AppError(f"Bản sao {path} bị lỗi: {problem}")
    tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    try:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        revision = None
    return BackupResult(path, path.stat().st_size, revision[0] if revision else None, tables)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy a live SQLite database into a new file as one consistent snapshot; refuse to overwrite."""
    if not source.exists():
        raise AppError(f"Không tìm thấy cơ sở dữ liệu {source}.")
    if target.exists():
        raise AppError(f"Tệp {target} đã có; hãy chọn tên khác (bản sao lưu không ghi đè).")
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(target.name + ".partial")
    draft.unlink(missing_ok=True)
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(draft)) as dst:
        # pages=-1 copies everything in one step, so concurrent writers cannot make the snapshot restart.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file, no -wal beside it
    draft.replace(target)
    with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as check:
        return _describe(check, target)


def restore_sqlite(backup: Path, target: Path) -> BackupResult:
    """Replace the content of the target database with a backup, through the same online API."""
    if not backup.exists():
        raise AppError(f"Không tìm thấy bản sao lưu {backup}.")
    with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src:
        described = _describe(src, backup)
        if described.revision is None:
            raise AppError(f"{backup} không phải bản sao lưu HàiLòng (thiếu bảng alembic_version).")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst, pages=-1)
    with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as check:
        return _describe(check, target)


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Tệp sao lưu mới (không ghi đè tệp đã có).")
@with_appcontext
@fail_on_app_error
def backup_command(out: Path) -> None:
    """Back up the SQLite database while the application runs (PostgreSQL: use pg_dump)."""
    result = backup_sqlite(sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"]), out)
    click.echo(f"Đã sao lưu {result.tables} bảng ({result.size} byte, phiên bản lược đồ {result.revision}) "
               f"vào {result.path}.")


@click.command("restore")
@click.argument("backup", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Không hỏi lại (dữ liệu hiện có sẽ bị thay thế).")
@with_appcontext
@fail_on_app_error
def restore_command(backup: Path, yes: bool) -> None:
    """Replace the SQLite database with a backup (stop the server first; PostgreSQL: use pg_restore)."""
    target = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if not yes:
        click.confirm(f"Thay toàn bộ dữ liệu trong {target} bằng {backup}?", abort=True)
    result = restore_sqlite(backup, target)
    click.echo(f"Đã khôi phục {result.tables} bảng (phiên bản lược đồ {result.revision}) vào {result.path}. "
               "Chạy `flask init-db` nếu mã nguồn mới hơn bản sao lưu.")


COMMANDS = (backup_command, restore_command)
