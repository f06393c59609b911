"""The outbox drain: messages queued by the PAKN services are sent over SMTP (``MAIL_URL``, see app/mail.py) by
`flask feedback send-mail` and the periodic job beside it, outside any request."""
from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa

from app.extensions import db
from app.mail import connect
from app.feedback.models import MailMessage

#: A message that failed this many times is left for a person to look at.
MAX_ATTEMPTS = 5


def drain(url: str, sender: str, now: dt.datetime, limit: int = 200) -> tuple[int, int]:
    """Send what waits in the outbox; return (sent, failed). Each message is committed as soon as it is sent."""
    pending = db.session.scalars(sa.select(MailMessage).where(MailMessage.sent_at.is_(None),
                                                              MailMessage.attempts < MAX_ATTEMPTS)
                                 .order_by(MailMessage.id).limit(limit)).all()
    if not pending:
        return 0, 0
    sent = failed = 0
    server = connect(url)
    try:
        for message in pending:
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = sender, message.recipient, message.subject
            mail.set_content(message.body)
            message.attempts += 1
            try:
                server.send_message(mail)
            except smtplib.SMTPException as error:
                message.last_error = str(error)[:300]
                failed += 1
            else:
                message.sent_at = now
                sent += 1
            db.session.commit()
    finally:
        try:
            server.quit()
        except smtplib.SMTPException:
            pass
    return sent, failed
