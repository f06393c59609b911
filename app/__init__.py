"""HàiLòng: citizen satisfaction at one-stop counters, CCHC knowledge contests, and their statistics.

The map (each package's docstring says what lives there and what it may import):

- shared plumbing: config, extensions, database (base, types, per-backend SQL), engine, errors (domain errors),
  jobs (the task queue), web (view helpers, error pages, the request's commit), forms, cache, uploads, validation,
  periods, i18n, security, ratelimit, exports, mail, pdf, health, wsgi, cli (what every command shares);
- features: units (units, service fields, counters with their tokens, QR codes and posters), surveys
  (instruments, the citizen's form, responses), contests, feedback (PAKN: phản ánh, kiến nghị, their workflow,
  calendar and figures), organiser (dashboards, reports, comments, exports), documents (the periodic report as an
  official document), auth (organisers, roles, scoping, audit log), api (JSON API v1), portal (the public pages,
  published results);
- stats: pure statistics on numpy arrays;
- above the features: models (every model, for the metadata), demo and synth (sample data), commands (the
  commands that span features), backup, next_steps (where a citizen goes after the survey).
"""
from __future__ import annotations

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, errors, commands. No database work."""
    from app.web import commit_each_request, guard_inputs, register_error_handlers

    app = Flask(__name__, instance_relative_config=True)
    configure(app, config)
    guard_inputs(app)
    register_extensions(app)
    register_jobs(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    commit_each_request(app)
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
    """Bind the shared extensions to this application, and share cache invalidations through Redis if configured."""
    from app import engine, models  # noqa: F401  (models: complete metadata before anything queries)
    from app.auth.access import load_organiser
    from app.cache import caches
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate
    from app.i18n import init_i18n, select_locale
    from app.ratelimit import warn_if_unshared
    from app.security import init_security

    db.init_app(app)
    engine.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    warn_if_unshared(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_organiser)
    caches.connect(app.config.get("REDIS_URL"))
    init_i18n(app)
    init_security(app)


def register_jobs(app: Flask) -> None:
    """Attach the task queue with every feature's kinds of job and periodic tasks (declared in their jobs modules)."""
    from app import jobs
    from app.contests import jobs as contest_jobs  # noqa: F401  (declares its kinds and periodic tasks)
    from app.documents import jobs as document_jobs  # noqa: F401
    from app.feedback import jobs as feedback_jobs  # noqa: F401
    from app.organiser import jobs as organiser_jobs  # noqa: F401

    jobs.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount every feature at its URL prefix (the prefixes are all visible here)."""
    from app import health, next_steps
    from app.api import views as api
    from app.auth import views as auth
    from app.contests import manage as contest_admin
    from app.contests import support as contest_support
    from app.contests import views as contests
    from app.documents import views as documents
    from app.feedback import manage as feedback_admin
    from app.feedback import views as feedback
    from app.organiser import views as organiser
    from app.portal import views as portal
    from app.surveys import views as surveys
    from app.surveys.services import instrument_names, sipas_instrument_codes
    from app.units import views as units

    app.register_blueprint(health.bp)
    # /s/<token>, /q/<code>, /d/<token>: the citizen's pages; the thanks page leads to other features' pages.
    app.register_blueprint(surveys.bp, next_steps=next_steps.after_survey)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(auth.bp, url_prefix="/quan-tri")
    # Counters serve the instruments the surveys feature publishes; units cannot import it, so it is told here.
    app.register_blueprint(units.bp, url_prefix="/quan-tri", instruments=sipas_instrument_codes,
                           instrument_names=instrument_names)
    app.register_blueprint(organiser.bp, url_prefix="/quan-tri")
    app.register_blueprint(documents.bp, url_prefix="/quan-tri/van-ban")
    app.register_blueprint(contests.bp, url_prefix="/thi")
    app.register_blueprint(contest_admin.bp, url_prefix="/quan-tri/cuoc-thi")
    # /phan-anh…: the citizen's PAKN pages (form, tracking, published list); the agency inbox under /quan-tri.
    app.register_blueprint(feedback.bp)
    app.register_blueprint(feedback_admin.bp, url_prefix="/quan-tri/phan-anh")
    app.register_blueprint(contest_support.bp, url_prefix="/quan-tri/cuoc-thi")
    # /, /thi (the list; /thi/<slug> is the contest's), /ket-qua…, /nhung/…, /anh/…, robots.txt, sitemap.xml.
    app.register_blueprint(portal.bp)
    app.register_blueprint(portal.admin, url_prefix="/quan-tri/ket-qua")
    # Cached public pages are replayed in front of Flask (app/portal/fastpath.py).
    portal.fastpath.install(app)


def register_commands(app: Flask) -> None:
    """Attach the `flask` commands: the shared ones and every feature's."""
    from app import backup, cli, commands, jobs
    from app.api import cli as api_cli
    from app.auth import cli as auth_cli
    from app.contests import cli as contests_cli
    from app.documents import cli as documents_cli
    from app.feedback import cli as feedback_cli
    from app.organiser import cli as organiser_cli
    from app.portal import cli as portal_cli
    from app.surveys import cli as surveys_cli
    from app.units import cli as units_cli

    for module in (cli, commands, jobs, auth_cli, units_cli, surveys_cli, api_cli, backup, contests_cli, organiser_cli,
                   feedback_cli, documents_cli, portal_cli):
        for command in module.COMMANDS:
            app.cli.add_command(command)
