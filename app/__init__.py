"""HàiLòng: citizen satisfaction at one-stop counters, CCHC knowledge contests, and their statistics."""
from __future__ import annotations

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, errors, commands. No database work."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errors_and_commands(app)
    return app


def configure(app: Flask, overrides: dict | None) -> None:
    """Layer the settings: defaults, instance/config.py, environment, then the caller's mapping."""
    from app.config import Config, finish_config, load_environment

    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    load_environment(app.config, app.instance_path)
    app.config.from_prefixed_env("HAILONG")
    if overrides:
        app.config.update(overrides)
    finish_config(app.config, app.instance_path)


def register_extensions(app: Flask) -> None:
    """Bind the shared extensions to this application."""
    from app.auth.access import load_organiser
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate
    from app.i18n import init_i18n, select_locale
    from app.security import init_security
    from app import engine, models  # noqa: F401  (models: complete metadata before anything queries)

    db.init_app(app)
    engine.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_organiser)
    init_i18n(app)
    init_security(app)


def register_blueprints(app: Flask) -> None:
    """Mount every feature at its URL prefix (the prefixes are all visible here)."""
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.contests.manage import bp as contest_admin_bp
    from app.contests.views import bp as contests_bp
    from app.health import bp as health_bp
    from app.organiser import bp as organiser_bp
    from app.surveys.views import bp as surveys_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(auth_bp, url_prefix="/quan-tri")
    app.register_blueprint(organiser_bp, url_prefix="/quan-tri")
    app.register_blueprint(contests_bp, url_prefix="/thi")
    app.register_blueprint(contest_admin_bp, url_prefix="/quan-tri/cuoc-thi")


def register_errors_and_commands(app: Flask) -> None:
    """Error pages and the `flask` command groups."""
    from app.cli import register_commands
    from app.errors import register_error_handlers

    register_error_handlers(app)
    register_commands(app)
