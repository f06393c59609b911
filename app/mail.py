"""Outgoing mail over SMTP, one way for every feature: ``MAIL_URL`` is smtp://host:port, smtp+starttls://… or
smtps://user:password@host:port (the feedback outbox drains through it; contest password resets send through it)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


def connect(url: str, timeout: float = 30) -> smtplib.SMTP:
    """Open an SMTP session to the relay of ``url``, with TLS and login as the URL says."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError(f"MAIL_URL must start with smtp://, smtps:// or smtp+starttls://, not {parts.scheme}://")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    server = (smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP)(parts.hostname or "localhost", port,
                                                                            timeout=timeout)
    if parts.scheme == "smtp+starttls":
        server.starttls()
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


def send(url: str, message: EmailMessage) -> None:
    """Send one message through the relay of ``url``."""
    with connect(url, timeout=20) as server:
        server.send_message(message)
