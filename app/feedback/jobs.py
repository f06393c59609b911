"""The feedback feature's periodic task: mail waiting in the outbox is sent every minute when MAIL_URL is set."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from app.feedback import mail
from app.jobs import periodic


@periodic("feedback-send-mail", minute="*")
def send_waiting_mail(now: dt.datetime) -> str:
    """Send the outbox through MAIL_URL (`flask feedback send-mail` does the same by hand)."""
    url = current_app.config.get("MAIL_URL")
    if not url:
        return "MAIL_URL not set: messages wait in the outbox"
    sent, failed = mail.drain(url, current_app.config["MAIL_FROM"], now)
    return f"{sent} sent, {failed} failed"
