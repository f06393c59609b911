"""A node that would serve wrongly refuses to start, with a clear message: no shared SECRET_KEY outside the embedded
default, no database, an old schema; and nodes booting together on an empty PostgreSQL database migrate it once."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL, unavailable

ROOT = Path(__file__).resolve().parent.parent


def _env(**values: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL") and not key.startswith("HAILONG_")}
    env.update(values)
    return env


def _run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_a_web_node_without_a_shared_key_does_not_start(tmp_path):
    result = _run([sys.executable, "-c", "import app.wsgi"],
                  _env(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres",
                       HAILONG_JOBS_DIR=str(tmp_path)))
    assert result.returncode == 1
    assert "HàiLòng không khởi động: SECRET_KEY chưa được đặt." in result.stderr


def test_a_web_node_or_worker_without_its_database_does_not_start(tmp_path):
    env = _env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", SECRET_KEY="shared-key",
               HAILONG_JOBS_DIR=str(tmp_path))
    web = _run([sys.executable, "-c", "import app.wsgi"], env)
    assert web.returncode == 1 and "không kết nối được cơ sở dữ liệu (DATABASE_URL)" in web.stderr
    worker = _run([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"], env)
    assert worker.returncode == 1
    assert "Tiến trình xử lý không khởi động: không kết nối được cơ sở dữ liệu" in worker.stderr


def test_a_web_node_on_a_database_without_the_schema_does_not_start(tmp_path):
    env = _env(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}", SECRET_KEY="shared-key",
               HAILONG_JOBS_DIR=str(tmp_path))
    web = _run([sys.executable, "-c", "import app.wsgi"], env)
    assert web.returncode == 1 and "chạy `flask --app app init-db` một lần" in web.stderr
    assert _run([sys.executable, "-m", "flask", "--app", "app", "init-db"], env).returncode == 0
    assert _run([sys.executable, "-c", "import app.wsgi"], env).returncode == 0


@pytest.fixture
def empty_postgresql():
    name = f"hailong_boot_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_three_nodes_booting_together_on_an_empty_postgresql_database_migrate_it_once(empty_postgresql, tmp_path):
    env = _env(DATABASE_URL=empty_postgresql, SECRET_KEY="shared-key", HAILONG_JOBS_DIR=str(tmp_path))
    boots = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(boot.wait(180), *boot.communicate()) for boot in boots]
    assert [code for code, _out, _err in outcomes] == [0, 0, 0], outcomes
    upgrades = sum(err.count("Running upgrade  -> ") for _code, _out, err in outcomes)
    assert upgrades == 1  # the first migrated; the others waited on the lock and found the schema at head
    engine = sa.create_engine(empty_postgresql)
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    from app.health import schema_head

    assert versions == [schema_head(str(ROOT / "migrations"))]
    assert _run([sys.executable, "-c", "import app.wsgi"], env).returncode == 0
