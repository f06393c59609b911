"""What views share besides their services: JSON or HTML, file downloads, form and confirmation pages, the error
pages every failure ends in, and the one commit of every request.

Views load, check access, call one service and respond; the request commits once, here, after the view returned
(``commit_request``). A view that catches a service's refusal and shows a page calls ``refused`` first, so what the
service flushed is rolled back; an error that reaches the error handlers is rolled back there.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import (Flask, Request, Response, current_app, flash, jsonify, make_response, redirect, render_template,
                   request)
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from app.errors import AppError
from app.extensions import db
from app.forms import ConfirmForm

#: Content types of the files the app sends.
MIME_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
    "pdf": "application/pdf",
    "png": "image/png",
    "svg": "image/svg+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "yaml": "application/x-yaml; charset=utf-8",
}


def wants_json() -> bool:
    """Answer in JSON under /api/, and to clients that rank JSON strictly above HTML (the attempt page's script).

    Browsers ask for HTML first, and a client that names no preference (or both equally) gets HTML.
    """
    section, slash, _ = request.path[1:].partition("/")
    if section == "api" and slash:
        return True
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")


def download(data: bytes | str | Iterable[str], fmt: str, name: str, *, attachment: bool = True) -> Response:
    """Send generated content as a named file (or inline, like a QR image shown on its page); never cached."""
    response = Response(data, mimetype=MIME_TYPES[fmt])
    response.headers["Content-Disposition"] = f'{"attachment" if attachment else "inline"}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def refused(error: AppError) -> AppError:
    """Undo what a refused service call flushed, and hand the error to the page that explains it."""
    db.session.rollback()
    return error


def form_page(template: str, form, error: AppError | None = None, **context) -> tuple[str, int]:
    """Render a form page: 200 when shown, 400 (or the refusal's own status) after a refused submission."""
    status = error.status if error is not None else (400 if request.method == "POST" else 200)
    return render_template(template, form=form, error=error.message if error is not None else None, **context), status


@dataclass(frozen=True)
class ConfirmPage:
    """What a confirmation page says before something is switched off, back on, rotated or erased."""

    title: str
    message: str
    button: str
    cancel: str
    danger: bool = True
    details: tuple[str, ...] = field(default=())


def confirm_page(form: ConfirmForm, page: ConfirmPage) -> str:
    """Render the confirmation page of an action."""
    return render_template("organiser/confirm.html", form=form, title=page.title, message=page.message,
                           button=page.button, cancel=page.cancel, danger=page.danger, details=list(page.details))


def confirm_then(page: Callable[[], ConfirmPage], action: Callable[[], Any], *, done: str | Callable[[Any], str],
                 back: str, refusals: type[AppError] | tuple[type[AppError], ...] = ()) -> Response | str:
    """Ask first (GET, or a POST without a valid token), then act, say it is done and go back (303).

    ``page`` is called only when the page is shown; ``done`` is the message, or makes it from what ``action``
    returned; a refusal of the listed types is flashed on the way back.
    """
    form = ConfirmForm()
    if not form.validate_on_submit():
        return confirm_page(form, page())
    try:
        result = action()
    except refusals as error:
        flash(str(refused(error).message), "error")
        return redirect(back, 303)
    flash(done(result) if callable(done) else done, "info")
    return redirect(back, 303)


#: Friendly texts for the HTTP errors that can reach users.
HTTP_MESSAGES = {
    400: _l("Yêu cầu không hợp lệ. Vui lòng kiểm tra lại và thử lại."),
    401: _l("Vui lòng đăng nhập để tiếp tục."),
    403: _l("Bạn không có quyền thực hiện thao tác này."),
    404: _l("Không tìm thấy trang bạn yêu cầu."),
    405: _l("Phương thức yêu cầu không được hỗ trợ cho địa chỉ này."),
    409: _l("Yêu cầu xung đột với dữ liệu hiện có."),
    410: _l("Trang này không còn hiệu lực."),
    413: _l("Dữ liệu gửi lên quá lớn."),
    415: _l("Định dạng dữ liệu gửi lên không được hỗ trợ."),
    429: _l("Bạn thao tác quá nhanh. Vui lòng chờ một lát rồi thử lại."),
    500: _l("Hệ thống gặp sự cố. Vui lòng thử lại sau."),
    503: _l("Hệ thống đang tạm thời gián đoạn. Vui lòng thử lại sau ít phút; dữ liệu bạn chưa gửi vẫn còn trên trang."),
}


def error_response(status: int, message: str, details: dict | None = None) -> Response:
    """Render one error as a page or as JSON."""
    if wants_json():
        body = jsonify(error={"status": status, "message": str(message), **(details or {})})
    else:
        body = render_template("errors/error.html", status=status, message=message)
    response = make_response(body)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Turn domain errors, HTTP errors and database outages into clear 4xx/5xx answers, rolling back first."""

    @app.errorhandler(AppError)
    def handle_app_error(error: AppError):
        db.session.rollback()
        return error_response(error.status, error.message, error.details)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        db.session.rollback()
        return error_response(400, _l("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. "
                                      "Vui lòng tải lại trang và gửi lại."))

    @app.errorhandler(OperationalError)
    def handle_database_down(error: OperationalError):
        db.session.rollback()
        app.logger.error("database unavailable: %s", error)
        response = error_response(503, HTTP_MESSAGES[503])
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        db.session.rollback()
        status = error.code or 500
        response = error_response(status, HTTP_MESSAGES.get(status, error.description))
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, HTTP_MESSAGES[500])


def commit_request(response: Response) -> Response:
    """Commit what the view flushed: one commit per request, at its end, whatever the status it answered with.

    A view that raised has been rolled back by the error handlers, so there is nothing left to commit. A failing
    commit is answered as the same failure inside the view would have been (a database outage gets its 503).
    """
    session = db.session()
    if not session.in_transaction():
        return response
    try:
        session.commit()
    except Exception as error:  # every failure has its page: the error handlers choose it, as for the view's own
        session.rollback()
        return current_app.make_response(current_app.handle_user_exception(error))
    return response


def commit_each_request(app: Flask) -> None:
    """Commit at the end of every request (registered last, so it runs before the other response hooks)."""
    app.after_request(commit_request)


# --- inputs checked at the boundary, before any view or service sees them ------------------------------------------
#
# Whatever a client sends is refused with a clear 400 when no database could store it or no service should have to
# think about it: NUL characters and lone surrogates (PostgreSQL refuses both), JSON nested deeper than any real
# document, and integers beyond what a database column holds (a URL id beyond 2⁶³ simply matches no page: 404;
# query ids and pages are range-checked where they are read, see ``app.auth.access.get_visible_unit``).

#: Deepest JSON nesting accepted (the API's documents have 2 or 3 levels).
MAX_JSON_DEPTH = 32
#: Largest integer a URL segment (<int:…>) may carry: a signed 64-bit id.
MAX_PATH_INT = 2 ** 63 - 1

BAD_TEXT_MESSAGE = _l("Dữ liệu gửi lên có ký tự không hợp lệ (ký tự NUL hoặc mã Unicode hỏng). Vui lòng kiểm tra "
                      "lại và gửi lại.")


def is_storable_text(text: str) -> bool:
    """Tell whether a text can be stored as it is: no NUL character, no lone surrogate (not valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_texts(texts: Iterable[str]) -> None:
    """Refuse (400) a request carrying a text that no database stores (see ``is_storable_text``)."""
    if not all(is_storable_text(text) for text in texts):
        raise AppError(BAD_TEXT_MESSAGE, status=400)


def _check_json(document: object) -> None:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise AppError(_l("Nội dung JSON lồng nhau quá sâu (tối đa %(n)d cấp).", n=MAX_JSON_DEPTH), status=400)
        if isinstance(value, str):
            check_texts((value,))
        elif isinstance(value, dict):
            check_texts(value.keys())
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


class CheckedRequest(Request):
    """Flask's request, with form data and JSON checked once parsed (``check_texts``, ``MAX_JSON_DEPTH``)."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        check_texts(text for key, value in self.form.items(multi=True) for text in (key, value))
        check_texts(storage.filename or "" for storage in self.files.values())

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            document = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:  # the JSON decoder gives up on very deep nesting
            raise AppError(_l("Nội dung JSON lồng nhau quá sâu (tối đa %(n)d cấp).", n=MAX_JSON_DEPTH),
                           status=400) from None
        _check_json(document)
        return document


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` with an upper bound: an id beyond a signed 64-bit integer matches no route (404), instead of
    reaching the database."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", MAX_PATH_INT)
        super().__init__(map, *args, **kwargs)


def guard_inputs(app: Flask) -> None:
    """Check every request's inputs at the boundary (call before the blueprints are registered: the bounded int
    converter must be in the URL map when their rules are added)."""
    app.request_class = CheckedRequest
    app.url_map.converters["int"] = BoundedIntegerConverter

    @app.before_request
    def check_path_and_query() -> None:
        check_texts((request.path, *(text for key, value in request.args.items(multi=True) for text in (key, value))))


#: Highest page number a list honours; beyond it (10³⁰ included) the list shows its empty last page, and the
#: offset page × size always fits a 64-bit integer.
MAX_PAGE = 1_000_000


def page_number(name: str = "trang") -> int:
    """Return the page asked for by a query parameter, 1 when absent or not a number, clamped to 1…MAX_PAGE."""
    return min(max(1, request.args.get(name, 1, type=int)), MAX_PAGE)
