"""Mail to the sender on acceptance and on the answer, through a real SMTP server (aiosmtpd) reading the message."""
from __future__ import annotations

import email
from email.header import decode_header, make_header
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from tests.factories import csrf_from
from tests.feedback.test_tenancy import make_feedback


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


def test_acceptance_and_answer_are_mailed_through_the_outbox(app, world, login, runner, smtp, monkeypatch):
    inbox, url = smtp
    code = make_feedback(app)
    staff = app.test_client()
    login(world.a_admin, on=staff)
    html = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert staff.post(f"/quan-tri/phan-anh/{code}/accept", data={"csrf_token": csrf_from(html)}).status_code == 303
    # nothing leaves during the request: the outbox waits for the command
    assert inbox.messages == []
    result = runner.invoke(args=["feedback", "send-mail"])
    assert result.exit_code == 1 and "Chưa cấu hình MAIL_URL" in result.output
    monkeypatch.setitem(app.config, "MAIL_URL", url)
    result = runner.invoke(args=["feedback", "send-mail"])
    assert result.exit_code == 0 and "Đã gửi 1 thư" in result.output, result.output
    (accepted,) = inbox.messages
    assert accepted["To"] == "ngoc@example.vn" and code in subject(accepted)
    body = accepted.get_payload(decode=True).decode("utf-8")
    assert "đã tiếp nhận" in body and "Hạn trả lời" in body and "/phan-anh/tra-cuu" in body
    for action, data in (("answer", {"text": "Sở đã chấn chỉnh bộ phận một cửa."}), ("approve", {})):
        staff.post(f"/quan-tri/phan-anh/{code}/{action}", data={"csrf_token": csrf_from(html), **data})
    assert runner.invoke(args=["feedback", "send-mail"]).exit_code == 0
    answered = inbox.messages[1]
    assert "Trả lời phản ánh" in subject(answered)
    assert "chấn chỉnh bộ phận một cửa" in answered.get_payload(decode=True).decode("utf-8")
    # sent messages are not sent again
    assert "Đã gửi 0 thư" in runner.invoke(args=["feedback", "send-mail"]).output
    assert len(inbox.messages) == 2


def test_the_scheduler_sends_the_outbox_every_minute_once_mail_is_configured(app, world, login, smtp, monkeypatch):
    from app.jobs import PERIODIC, run_periodic

    inbox, url = smtp
    code = make_feedback(app)
    staff = app.test_client()
    login(world.a_admin, on=staff)
    html = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert staff.post(f"/quan-tri/phan-anh/{code}/accept", data={"csrf_token": csrf_from(html)}).status_code == 303
    assert PERIODIC["feedback-send-mail"].schedule == {"minute": "*"}
    run_periodic(app, "feedback-send-mail")  # without MAIL_URL the message keeps waiting
    assert inbox.messages == []
    monkeypatch.setitem(app.config, "MAIL_URL", url)
    run_periodic(app, "feedback-send-mail")
    run_periodic(app, "feedback-send-mail")  # sent once, not again
    (accepted,) = inbox.messages
    assert accepted["To"] == "ngoc@example.vn" and code in subject(accepted)
