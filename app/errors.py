"""Domain errors: expected failures whose message is shown to the user as is, with the HTTP status they mean.

Services raise them; app.web turns them (and every other failure) into the error page or JSON. Imports nothing
from the app, so every layer may raise them.
"""
from __future__ import annotations


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
