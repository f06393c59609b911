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

    # The public portal: origins allowed to frame the embeddable result card (/nhung/ket-qua/<unit>), e.g.
    # ["https://ankhang.gov.vn"] (HAILONG_PORTAL_EMBED_ORIGINS, JSON or comma-separated); every other page is never
    # framed. The province's Zalo Official Account id turns on the Zalo share button.
    PORTAL_EMBED_ORIGINS: tuple[str, ...] = ()
    PORTAL_ZALO_OA_ID: str | None = None

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Should Redis go away, count in memory meanwhile instead of failing every survey submission.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True


#: Environment variables of the DESIGN contract, read without a prefix.
ENVIRONMENT_KEYS = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "BASE_URL", "TIMEZONE", "TRUSTED_PROXIES")


def load_environment(config: dict, instance_path: str) -> None:
    """Apply the contract's environment variables and derive what depends on them."""
    env = {key: os.environ[key] for key in ENVIRONMENT_KEYS if os.environ.get(key)}
    if "DATABASE_URL" in env:
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    for key in ("SECRET_KEY", "REDIS_URL", "BASE_URL", "TIMEZONE"):
        if key in env:
            config[key] = env[key]
    if "TRUSTED_PROXIES" in env:
        try:
            config["TRUSTED_PROXIES"] = int(env["TRUSTED_PROXIES"])
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES must be a whole number of proxy hops, not {env['TRUSTED_PROXIES']!r}"
                             ) from None


def finish_config(config: dict, instance_path: str) -> None:
    """Fill the settings derived from others once every layer has been applied."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(instance_path) / "hailong.db")
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = instance_secret_key(instance_path)
    if config.get("REDIS_URL") and config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = str(config.get("BASE_URL", "")).startswith("https://")
    if config.get("REMEMBER_COOKIE_SECURE") is None:
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["BASE_URL"] = str(config["BASE_URL"]).rstrip("/")
    origins = config.get("PORTAL_EMBED_ORIGINS") or ()
    if isinstance(origins, str):
        origins = origins.replace(",", " ").split()
    config["PORTAL_EMBED_ORIGINS"] = tuple(str(origin).rstrip("/") for origin in origins)


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
