"""Language choice (Vietnamese first, English second) and locale-aware display helpers."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import format_datetime, format_decimal, get_locale
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from app.periods import Period, parse_period, period_words

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """Pick ?lang=, then the remembered choice, then the browser's languages; Vietnamese by default."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the command line (posters, reports) speaks the default language
        return languages[0]
    for choice in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if choice in languages:
            return choice
    return request.accept_languages.best_match(languages, default=languages[0])


def remember_locale(response: Response) -> Response:
    """Keep an explicit ?lang= choice for the following pages."""
    choice = request.args.get("lang")
    if choice in current_app.config["LANGUAGES"] and request.cookies.get(LANGUAGE_COOKIE) != choice:
        response.set_cookie(LANGUAGE_COOKIE, choice, max_age=365 * 86400, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def local_zone() -> ZoneInfo:
    """Return the configured display time zone."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def percent(value: float | None, decimals: int = 2) -> str:
    """Format a percentage the local way (84,45 in Vietnamese); a dash when there is no value."""
    if value is None or value != value:
        return "–"
    return format_decimal(round(value, decimals), format="#,##0." + "0" * decimals)


def whole_number(value: int | None) -> str:
    """Format a whole number the local way (1.204 in Vietnamese, 1,204 in English)."""
    return "–" if value is None else format_decimal(value, format="#,##0")


def local_time(value: dt.datetime | None, fmt: str = "dd/MM/yyyy HH:mm") -> str:
    """Format a UTC timestamp in the display time zone."""
    return "" if value is None else format_datetime(value, fmt)


def _escaped_html(lazy: LazyString) -> Markup:
    """Render a lazy message in a template as text: escaped, like any other string."""
    return escape(str(lazy))


def period_in_words(period: Period | str) -> str:
    """A report period (or its label, "2026-Q3") in words in the reader's language: "quý III năm 2026"."""
    return period_words(parse_period(period) if isinstance(period, str) else period, str(get_locale()))


def init_i18n(app: Flask) -> None:
    """Register the display filters and the language cookie."""
    # Flask-Babel marks lazy strings as safe HTML (LazyString.__html__ returns them as they are), so a message
    # like _l("Loại “%(kind)s” không hợp lệ", kind=<uploaded cell>) would reach the page unescaped. Escape them.
    LazyString.__html__ = _escaped_html
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["whole"] = whole_number
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["period_words"] = period_in_words
    app.after_request(remember_locale)
