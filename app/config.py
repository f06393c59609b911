"""Configuration defaults; the environment and instance/config.py override them (see create_app)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class Config:
    """Defaults for every setting, safe for a development machine."""

    # Database: SQLite in instance/ unless DATABASE_URL says otherwise (filled in by load_environment).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    # Public address that QR codes and links point to.
    BASE_URL = "http://127.0.0.1:5000"
    TIMEZONE = "Asia/Ho_Chi_Minh"
    TRUSTED_PROXIES = 0
    REDIS_URL: str | None = None
    #: Signs counter tokens (QR posters) and dossier links; default: SECRET_KEY. Keep it when SECRET_KEY rotates,
    #: and printed posters stay valid. Older keys listed in TOKEN_SECRET_KEY_FALLBACKS are still accepted (as
    #: SECRET_KEY_FALLBACKS are for sessions, CSRF tokens and download links).
    TOKEN_SECRET_KEY: str | None = None
    TOKEN_SECRET_KEY_FALLBACKS: list = []
    SECRET_KEY_FALLBACKS: list = []

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    # Uploads (imports) are capped here; the survey form caps its own body far lower.
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    SURVEY_MAX_BODY = 64 * 1024
    SURVEY_RATE_LIMIT = "30 per minute;300 per day"
    #: PostgreSQL: whether storing a citizen's response waits for its WAL record to reach the disk. False gives
    #: responses the guarantee of the SQLite default (WAL, synchronous=NORMAL): never half written, but a response
    #: acknowledged in the last fraction of a second before a crash or power loss may be lost. Every other write
    #: (organiser changes, contest answers) always waits.
    SURVEY_WAIT_FOR_FLUSH = False
    DOSSIER_LINK_DAYS = 30
    #: After a counter's QR code is rotated, a form fetched before the rotation is still accepted this long.
    SURVEY_ROTATION_GRACE_MINUTES = 30
    #: LibreOffice program that turns the periodic report's DOCX into its PDF: "auto" (soffice on PATH), a path, or
    #: "" to always use the built-in fpdf2 rendering.
    DOCUMENT_SOFFICE = "auto"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure when BASE_URL is https
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    # "Remember me" is never offered; should a remember cookie ever be set, it is as strict as the session's.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE: bool | None = None  # None: same as SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = 4 * 3600

    # Organiser sign-in: attempts per address and per email, then a lockout after repeated failures.
    AUTH_LOGIN_RATE_LIMIT = "10 per minute"
    AUTH_MAX_FAILED_LOGINS = 5
    AUTH_LOCKOUT_MINUTES = 15
    #: Werkzeug method string for organiser password hashes: "scrypt" (N=2**15, r=8, p=1) or "scrypt:N:r:p".
    AUTH_PASSWORD_METHOD = "scrypt"  # nosec B105
    #: A signed-in session ends after this much inactivity, and in any case this long after login.
    AUTH_SESSION_IDLE_SECONDS = 2 * 3600
    AUTH_SESSION_MAX_SECONDS = 12 * 3600

    # Uploaded tables (CSV/XLSX): file size and row caps per kind of import, and what an XLSX may unpack to (a few
    # thousand rows need far less, a zip bomb far more). Units and counters:
    IMPORT_MAX_BYTES = 2 * 1024 * 1024
    IMPORT_MAX_ROWS = 5000
    # Question banks and participant lists of contests:
    CONTEST_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    CONTEST_IMPORT_MAX_ROWS = 5000
    # Dossier volumes (`flask report volumes`):
    VOLUMES_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    VOLUMES_IMPORT_MAX_ROWS = 100_000
    UPLOAD_MAX_INFLATED = 50 * 1024 * 1024

    # Task queue (app/jobs.py): Huey on SQLite in instance/jobs/ by default, on Redis when REDIS_URL is set.
    #: Run each job in the process that queued it, when its transaction commits (tests; never in production).
    JOBS_IMMEDIATE = False
    #: Where result files (and the SQLite queue) are written: storage every web server and worker shares.
    #: Default: instance/jobs/.
    JOBS_DIR: str | None = None
    #: The queue's name (its Redis keys start with "huey.redis.<name>"): one per deployment sharing a Redis.
    JOBS_QUEUE_NAME = "hailong"
    #: A running job's claim lasts this long without a heartbeat; then another worker runs it again.
    JOBS_LEASE_SECONDS = 60
    #: A download link of a job's file is valid this long.
    JOBS_LINK_SECONDS = 3600
    #: Finished jobs and their files are deleted after this many days.
    JOBS_KEEP_DAYS = 7
    #: Workers run at this CPU niceness (0–19; their I/O priority follows), so that on shared cores citizens' pages
    #: come first while exports run. 0 leaves the priority as started.
    JOB_NICENESS = 10
    #: Raw survey responses older than this many whole months are archived to a compressed CSV in the job storage
    #: (``archive/``) and deleted by a daily job; reports keep their figures (aggregates stay). 0 keeps them forever.
    RESPONSE_RETENTION_MONTHS = 0

    # Feedback and recommendations (PAKN): each attachment's cap, how many files, submissions per client, lookups
    # per client (code + last phone digits), the role that approves answers, where files are kept (None:
    # instance/feedback). Mail to senders goes through MAIL_URL (smtp://host:port), drained by
    # `flask feedback send-mail`; without MAIL_URL messages wait in the outbox.
    #: (the whole request stays under MAX_CONTENT_LENGTH, which the CSRF check enforces first)
    FEEDBACK_ATTACHMENT_MAX_BYTES = 4 * 1024 * 1024
    FEEDBACK_MAX_ATTACHMENTS = 3
    FEEDBACK_RATE_LIMIT = "5 per minute;30 per day"
    FEEDBACK_LOOKUP_RATE_LIMIT = "10 per minute;50 per day"
    FEEDBACK_APPROVER_ROLE = "administrator"
    FEEDBACK_STORAGE: str | None = None
    MAIL_URL: str | None = None
    MAIL_FROM = "HàiLòng <no-reply@hailong.invalid>"

    # The public portal: origins allowed to frame the embeddable result card (/nhung/ket-qua/<unit>), e.g.
    # ["https://ankhang.gov.vn"] (HAILONG_PORTAL_EMBED_ORIGINS, JSON or comma-separated); every other page is never
    # framed. The province's Zalo Official Account id turns on the Zalo share button.
    PORTAL_EMBED_ORIGINS: tuple[str, ...] = ()
    PORTAL_ZALO_OA_ID: str | None = None

    #: Where rate-limit counters live. Unset: Redis when REDIS_URL is set (shared across servers), otherwise a small
    #: SQLite file every worker of this server shares (``sqlite:///…``, beside a SQLite database or in instance/).
    #: ``memory://`` counts per worker process: with N workers every limit is N times what it says (warned at start).
    RATELIMIT_STORAGE_URI = None
    RATELIMIT_HEADERS_ENABLED = False
    # Should Redis go away, count in memory meanwhile instead of failing every survey submission.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True


#: Environment variables of the DESIGN contract, read without a prefix.
ENVIRONMENT_KEYS = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "BASE_URL", "TIMEZONE", "TRUSTED_PROXIES",
                    "TOKEN_SECRET_KEY", "SECRET_KEY_FALLBACKS", "TOKEN_SECRET_KEY_FALLBACKS", "MAIL_URL")


def load_environment(config: dict, instance_path: str) -> None:
    """Apply the contract's environment variables and derive what depends on them."""
    env = {key: os.environ[key] for key in ENVIRONMENT_KEYS if os.environ.get(key)}
    if "DATABASE_URL" in env:
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    for key in ("SECRET_KEY", "REDIS_URL", "BASE_URL", "TIMEZONE", "TOKEN_SECRET_KEY", "MAIL_URL"):
        if key in env:
            config[key] = env[key]
    for key in ("SECRET_KEY_FALLBACKS", "TOKEN_SECRET_KEY_FALLBACKS"):  # comma-separated, oldest last
        if key in env:
            config[key] = [part.strip() for part in env[key].split(",") if part.strip()]
    if "TRUSTED_PROXIES" in env:
        try:
            config["TRUSTED_PROXIES"] = int(env["TRUSTED_PROXIES"])
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES must be a whole number of proxy hops, not {env['TRUSTED_PROXIES']!r}"
                             ) from None


def finish_config(config: dict, instance_path: str) -> None:
    """Fill the settings derived from others once every layer has been applied."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = embedded_database_url(instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    if not config.get("SECRET_KEY"):
        if config["SQLALCHEMY_DATABASE_URI"] != embedded_database_url(instance_path):
            raise ConfigurationError(MISSING_KEY)
        config["SECRET_KEY"] = instance_secret_key(instance_path)
    if not config.get("TOKEN_SECRET_KEY"):
        config["TOKEN_SECRET_KEY"] = config["SECRET_KEY"]
    if not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or shared_limits_uri(
            config["SQLALCHEMY_DATABASE_URI"], instance_path)
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = str(config.get("BASE_URL", "")).startswith("https://")
    if config.get("REMEMBER_COOKIE_SECURE") is None:
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["BASE_URL"] = str(config["BASE_URL"]).rstrip("/")
    if not config.get("FEEDBACK_STORAGE"):
        config["FEEDBACK_STORAGE"] = str(Path(instance_path) / "feedback")
    origins = config.get("PORTAL_EMBED_ORIGINS") or ()
    if isinstance(origins, str):
        origins = origins.replace(",", " ").split()
    config["PORTAL_EMBED_ORIGINS"] = tuple(str(origin).rstrip("/") for origin in origins)


def shared_limits_uri(database_url: str, instance_path: str) -> str:
    """Return the SQLite rate-limit store of this server: beside its SQLite database file (each database, each
    server: tests and benchmarks running side by side never share counts), else ``instance/ratelimit.sqlite``."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return database_url + ".ratelimit"
    return "sqlite:///" + str(Path(instance_path) / "ratelimit.sqlite")


def token_keys(config) -> tuple[str, ...]:
    """The keys of counter tokens and dossier links: the current one (it signs), then the older ones accepted."""
    return (config["TOKEN_SECRET_KEY"], *(config.get("TOKEN_SECRET_KEY_FALLBACKS") or ()))


class ConfigurationError(ValueError):
    """A setting that would make the process serve wrongly: it does not start (the message says what to set)."""


MISSING_KEY = (
    "SECRET_KEY chưa được đặt. Ngoài cơ sở dữ liệu SQLite mặc định trong instance/, mọi máy chủ ứng dụng và "
    "tiến trình xử lý phải dùng cùng một khóa: đặt biến môi trường SECRET_KEY (hoặc SECRET_KEY trong "
    "instance/config.py) rồi khởi động lại. Khóa tự sinh trong instance/secret_key chỉ dùng cho bản chạy một máy. "
    "(SECRET_KEY is not set: outside the embedded SQLite default every node needs the same key.)")


def embedded_database_url(instance_path: str) -> str:
    """The embedded default: the SQLite file in instance/."""
    return "sqlite:///" + str(Path(instance_path) / "hailong.db")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Return the key kept in instance/secret_key, generating it on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place, so concurrent workers never read a half-written key.
        # Created owner-only from the start: a chmod after writing would leave the key readable for a moment.
        draft = path.with_name(f"secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
