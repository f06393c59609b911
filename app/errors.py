"""Domain errors with user-facing messages, and the error pages/JSON every failure ends in."""
from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.extensions import db


class AppError(Exception):
    """An expected failure: the message is shown to the user as is."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, details: dict | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.details = details or {}
        if status is not None:
            self.status = status


class NotFoundError(AppError):
    """The object does not exist, or the caller may not know that it does."""

    status = 404


class GoneError(AppError):
    """The object existed but is no longer usable (deactivated counter, expired link)."""

    status = 410


class ConflictError(AppError):
    """The request clashes with the current state (already rated, attempt already running)."""

    status = 409


class PermissionDeniedError(AppError):
    """The caller is known but not allowed."""

    status = 403


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


def wants_json() -> bool:
    """Answer in JSON for the API and for clients that ask for it."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


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
    """Turn domain errors, HTTP errors and database outages into clear 4xx/5xx answers."""

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
