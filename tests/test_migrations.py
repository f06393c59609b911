"""Alembic migrations match the models exactly, on the run's backend (SQLite, or PostgreSQL with --db postgresql)."""
from __future__ import annotations

import importlib
import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.factories import ROOT, separate_app

VERSIONS = ROOT / "migrations" / "versions"


def model_differences(app) -> list:
    """Return what autogenerate would put in a new migration for the app's database (empty when in sync)."""
    from app.extensions import db

    importlib.import_module("app.models")  # every feature's tables in the metadata

    from app.database import unmodelled

    def include_object(obj, name, type_, reflected, compare_to):
        # The comment search's FTS5 tables and expression index are made by a migration (no model form).
        return not (reflected and unmodelled(name))

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        return compare_metadata(context, db.metadata)


def test_upgraded_database_matches_the_models_exactly(app):
    assert model_differences(app) == []


def test_the_database_is_at_the_single_head_revision(app):
    from alembic.config import Config

    from app.extensions import db

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    with app.app_context(), db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == tuple(heads)


def test_migrations_never_import_application_code():
    for path in sorted(VERSIONS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+app\b", source, re.M), f"{path.name} imports app code"


def test_every_migration_downgrades_to_an_empty_database_and_upgrades_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from app.extensions import db

    with separate_app(f"sqlite:///{tmp_path / 'roundtrip.db'}") as app, app.app_context():
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert model_differences(app) == []
