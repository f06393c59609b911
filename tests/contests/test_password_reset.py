"""Forgotten passwords without SMS: an organiser-issued one-time link, and a link by e-mail through a real SMTP server
(aiosmtpd) when the participant gave an address. Links work once and expire; requests reveal nothing and are
rate-limited; every step is audited; a reset ends the other sessions."""
from __future__ import annotations

import datetime as dt
import re
import socket
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from tests.contests.helpers import Participant, hidden_fields, now_utc
from tests.factories import log_in


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                policy=default_policy))
        return "250 OK"

    def wait(self, count: int, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free loopback port; MAIL_URL points at it for the test."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    yield inbox
    app.config["MAIL_URL"] = None
    controller.stop()


@pytest.fixture
def contest(make_contest):
    now = now_utc()
    return make_contest(opens=now - dt.timedelta(hours=1), closes=now + dt.timedelta(days=1), question_count=4)


def registered(app, contest, units, phone: str, email: str = "") -> Participant:
    person = Participant(app.test_client(), contest.slug)
    page = person.client.get(f"/thi/{contest.slug}/dang-ky").get_data(as_text=True)
    data = {"csrf_token": hidden_fields(page)["csrf_token"], "phone": phone, "full_name": "Phan Thị Thu",
            "birth_date": "02/09/1985", "unit_id": str(units["T-SNV"]), "group": "cbccvc", "password": "mat-khau-1",
            "password_again": "mat-khau-1", "consent": "1", "email": email}
    assert person.client.post(f"/thi/{contest.slug}/dang-ky", data=data).status_code == 303
    return person


def ask(client, slug: str, phone: str):
    page = client.get(f"/thi/{slug}/quen-mat-khau").get_data(as_text=True)
    return client.post(f"/thi/{slug}/quen-mat-khau", data={"csrf_token": hidden_fields(page)["csrf_token"],
                                                           "phone": phone})


def set_password(client, link_path: str, password: str, again: str | None = None):
    page = client.get(link_path)
    if page.status_code != 200:
        return page
    return client.post(link_path, data={"csrf_token": hidden_fields(page.get_data(as_text=True))["csrf_token"],
                                        "password": password, "password_again": again or password})


def can_log_in(app, slug: str, phone: str, password: str) -> bool:
    person = Participant(app.test_client(), slug)
    response = person.client.post(f"/thi/{slug}/dang-nhap", data={"csrf_token": person.csrf(), "phone": phone,
                                                                   "password": password})
    return response.status_code == 303


def audit_actions(app) -> list[str]:
    from app.auth.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return [entry.action for entry in db.session.query(AuditEntry).order_by(AuditEntry.id)]


def test_an_emailed_link_resets_the_password_once_and_ends_the_old_sessions(app, contest, units, smtp):
    person = registered(app, contest, units, "0912400001", email="thu.phan@example.vn")
    old_cookie = person.client.get_cookie("thi_phien", path=f"/thi/{contest.slug}").value
    answer = ask(app.test_client(), contest.slug, "0912 400 001")
    assert answer.status_code == 200 and "chúng tôi vừa gửi một liên kết" in answer.get_data(as_text=True)

    message = smtp.wait(1)[0]
    assert message["To"] == "thu.phan@example.vn" and "Đặt lại mật khẩu" in message["Subject"]
    body = message.get_content()
    assert "Phan Thị Thu" in body and "***0001" in body
    link = re.search(r"http://hailong\.test(/thi/\S+/dat-lai-mat-khau/\S+)", body).group(1)

    visitor = app.test_client()
    short = set_password(visitor, link, "ngan")
    assert short.status_code == 400 and "ít nhất 8 ký tự" in short.get_data(as_text=True)
    done = set_password(visitor, link, "mat-khau-moi-2")
    assert done.status_code == 303 and "doi-mat-khau=1" in done.headers["Location"]
    assert can_log_in(app, contest.slug, "0912400001", "mat-khau-moi-2")
    assert not can_log_in(app, contest.slug, "0912400001", "mat-khau-1")
    # Single use: the same link no longer works, whatever is posted.
    again = set_password(app.test_client(), link, "mat-khau-khac-3")
    assert again.status_code == 410 and "không còn dùng được" in again.get_data(as_text=True)
    assert can_log_in(app, contest.slug, "0912400001", "mat-khau-moi-2")
    # The session opened before the reset is over.
    thief = app.test_client()
    thief.set_cookie("thi_phien", old_cookie, path=f"/thi/{contest.slug}")
    assert thief.post(f"/thi/{contest.slug}/vong/1/bat-dau",
                      data={"csrf_token": Participant(thief, contest.slug).csrf()}).status_code == 401
    actions = audit_actions(app)
    assert "participant.reset_requested" in actions and "participant.password_reset" in actions


def test_the_answer_is_the_same_whoever_asks_and_no_mail_leaves_without_an_address(app, contest, units, smtp):
    registered(app, contest, units, "0912400002")  # no e-mail given
    registered(app, contest, units, "0912400003", email="co.email@example.vn")
    pages = [ask(app.test_client(), contest.slug, phone) for phone in ("0912400002", "0999999999", "0912400003")]
    assert {page.status_code for page in pages} == {200}
    texts = [re.sub(r'name="csrf_token" value="[^"]*"', "", page.get_data(as_text=True)) for page in pages]
    assert texts[0] == texts[1] == texts[2]
    assert len(smtp.wait(1)) == 1 and smtp.messages[0]["To"] == "co.email@example.vn"
    time.sleep(0.3)
    assert len(smtp.messages) == 1


def test_requests_are_rate_limited_per_address_and_per_phone(app, contest, units, smtp):
    registered(app, contest, units, "0912400004", email="gioi.han@example.vn")
    app.config["CONTEST_RESET_RATE_LIMIT"] = "2 per hour"
    try:
        client = app.test_client()
        assert [ask(client, contest.slug, "0912400004").status_code for _ in range(3)] == [200, 200, 429]
        # From another address the same phone number is still limited (the phone's own counter).
        other = app.test_client()
        other.environ_base = {"REMOTE_ADDR": "10.0.0.9"}
        assert ask(other, contest.slug, "0912400004").status_code == 429
        assert ask(other, contest.slug, "0912400005").status_code == 200
    finally:
        app.config.pop("CONTEST_RESET_RATE_LIMIT")
    assert len(smtp.wait(2)) == 2


def test_an_organiser_issues_a_one_time_link_that_expires(app, client, make, contest, units, monkeypatch):
    from app.contests import accounts

    registered(app, contest, units, "0912400006")
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    with app.app_context():
        from app.contests.models import Participant as Row
        from app.extensions import db
        participant_id = db.session.query(Row.id).filter_by(phone="0912400006").scalar()
    path = f"/quan-tri/cuoc-thi/{contest.slug}/thi-sinh/{participant_id}/dat-lai-mat-khau"
    confirm = client.get(path)
    assert confirm.status_code == 200 and "***0006" in confirm.get_data(as_text=True)
    shown = client.post(path, data={"csrf_token": hidden_fields(confirm.get_data(as_text=True))["csrf_token"]})
    link = re.search(r'value="http://hailong\.test(/thi/[^"]+)"', shown.get_data(as_text=True)).group(1)
    assert "participant.reset_link" in audit_actions(app)

    # An organiser link lasts 72 hours: past that it is refused.
    monkeypatch.setitem(accounts.MAX_AGE, "o", -1)
    assert app.test_client().get(link).status_code == 410
    monkeypatch.setitem(accounts.MAX_AGE, "o", 72 * 3600)
    assert set_password(app.test_client(), link, "mat-khau-btc-4").status_code == 303
    assert can_log_in(app, contest.slug, "0912400006", "mat-khau-btc-4")
    assert set_password(app.test_client(), link, "mat-khau-btc-5").status_code == 410

    # Another tenant's organiser does not find the participant.
    stranger = make.organiser(unit="X")
    other = app.test_client()
    assert log_in(other, stranger.email, stranger.password).status_code == 303
    assert other.get(path).status_code == 404
