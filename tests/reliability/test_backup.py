"""`flask backup` / `flask restore`: a consistent snapshot of a database in use, restored row for row."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from tests.factories import count_responses, full_answers, new_visit_page


def table_rows(path: Path) -> dict[str, list[tuple]]:
    """Return every row of every table of a SQLite file, sorted, read with the plain sqlite3 module."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: sorted(connection.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)  # nosec B608
                for name in names}


def submit_surveys(app, counter, count: int) -> None:
    """Post `count` complete survey responses through HTTP."""
    client = app.test_client()
    for _ in range(count):
        data = full_answers(new_visit_page(client, counter.path))
        assert client.post(counter.path, data=data).status_code == 303


@pytest.fixture
def sqlite_file(app, database_url) -> Path:
    """Return the test database file (these tests are about the SQLite default)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("flask backup/restore handle the SQLite default; PostgreSQL uses pg_dump (tested below)")
    return Path(database_url.removeprefix("sqlite:///"))


def restore_into(path: Path, backup: Path) -> str:
    """Restore a backup into a new database file with the real command; return its output."""
    from app import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "restore-test"})
    result = other.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    return result.output


def test_backup_of_an_idle_database_restores_every_table_row_for_row(app, runner, make, sqlite_file, tmp_path):
    counter = make.counter()
    submit_surveys(app, counter, 5)
    backup = tmp_path / "hailong-backup.db"

    result = runner.invoke(args=["backup", "--out", str(backup)])
    assert result.exit_code == 0, result.output
    restored = tmp_path / "restored.db"
    assert "Đã khôi phục" in restore_into(restored, backup)

    source, copied = table_rows(sqlite_file), table_rows(restored)
    assert set(copied) == set(source) and "survey_responses" in copied
    for name in source:
        assert copied[name] == source[name], f"table {name} differs after backup and restore"
    assert len(copied["survey_responses"]) == 5


def test_backup_taken_while_responses_arrive_is_a_consistent_snapshot(app, runner, make, sqlite_file, tmp_path):
    counter = make.counter()
    submit_surveys(app, counter, 3)
    before = table_rows(sqlite_file)["survey_responses"]
    stop = threading.Event()
    written, failures = [], []

    def keep_writing() -> None:
        try:
            while not stop.is_set() and len(written) < 200:
                submit_surveys(app, counter, 1)
                written.append(1)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 3 and writer.is_alive():  # the database is demonstrably in use when backed up
            stop.wait(0.01)
        backup = tmp_path / "live-backup.db"
        result = runner.invoke(args=["backup", "--out", str(backup)])
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not failures, failures
    assert result.exit_code == 0, result.output
    restored = tmp_path / "restored.db"
    restore_into(restored, backup)

    snapshot, copied, after = table_rows(backup), table_rows(restored), table_rows(sqlite_file)
    assert copied == snapshot
    assert set(before) <= set(snapshot["survey_responses"]) <= set(after["survey_responses"])
    assert len(snapshot["survey_responses"]) >= len(before) + 3
    assert count_responses(app) == len(after["survey_responses"]) == 3 + len(written)
    with closing(sqlite3.connect(restored)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_never_overwrites_an_existing_file(runner, sqlite_file, tmp_path):
    existing = tmp_path / "old.db"
    existing.write_bytes(b"an older backup")
    result = runner.invoke(args=["backup", "--out", str(existing)])
    assert result.exit_code == 1
    assert "đã có" in result.output
    assert existing.read_bytes() == b"an older backup"


def test_restore_refuses_a_file_that_is_not_a_hailong_backup(sqlite_file, tmp_path):
    foreign = tmp_path / "foreign.db"
    with closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
    from app import create_app

    target = tmp_path / "target.db"
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}", "SECRET_KEY": "restore-test"})
    result = other.test_cli_runner().invoke(args=["restore", str(foreign), "--yes"])
    assert result.exit_code == 1
    assert "không phải bản sao lưu HàiLòng" in result.output


@pytest.mark.parametrize("command", [["backup", "--out", "x.db"], ["restore", "x.db", "--yes"]])
def test_backup_and_restore_refuse_postgresql_and_point_to_pg_dump(command, tmp_path):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                      "SECRET_KEY": "restore-test"})
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert "pg_dump" in result.output
    assert not (tmp_path / "x.db").exists()
