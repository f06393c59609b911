"""Rate limits on the contest's public forms: registration, sign-in and the answer routes (start, save, submit).

Organiser sign-in is tested in tests/auth/test_login.py and survey submissions in tests/test_rate_limits.py.
"""
from __future__ import annotations

import pytest

from tests.factories import csrf_from
from tests.security.conftest import contest_login, snapshot

LIMIT_MESSAGE = "Bạn thao tác quá nhanh. Vui lòng chờ một lát rồi thử lại."


def count(app, table: str) -> int:
    return len(snapshot(app)[table])


def test_registration_is_limited_per_address(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CONTEST_REGISTER_RATE_LIMIT", "2 per minute")
    path = f"/thi/{world.a.contest_slug}/dang-ky"
    statuses = []
    for number in range(3):
        token = csrf_from(client.get(path).get_data(as_text=True))
        response = client.post(path, data={
            "csrf_token": token, "phone": f"098765432{number}", "full_name": "Lê Thị Hoa", "birth_date": "02/09/1985",
            "unit_id": str(world.a.unit_id), "group": "cbccvc", "password": "mat-khau-1", "password_again":
            "mat-khau-1", "consent": "1"}, headers={"Cookie": ""})
        statuses.append(response.status_code)
        client.delete_cookie("thi_phien", path=f"/thi/{world.a.contest_slug}")
    assert statuses[:2] == [303, 303] and statuses[2] == 429, statuses
    assert LIMIT_MESSAGE in response.get_data(as_text=True)
    assert count(app, "contest_participants") == 2 + 2  # the world's two participants and the two allowed


def test_participant_sign_in_is_limited_per_address(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CONTEST_LOGIN_RATE_LIMIT", "3 per minute")
    path = f"/thi/{world.a.contest_slug}/dang-nhap"
    token = csrf_from(client.get(path).get_data(as_text=True))
    statuses = [client.post(path, data={"csrf_token": token, "phone": world.a.phone, "password": "sai-mat-khau"}
                            ).status_code for _ in range(4)]
    assert statuses[-1] == 429 and 429 not in statuses[:3], statuses
    right = client.post(path, data={"csrf_token": token, "phone": world.a.phone,
                                    "password": world.a.participant_password})
    assert right.status_code == 429, "the right password must not slip past the limit either"


@pytest.mark.parametrize("action", ["luu", "nop"])
def test_answer_posts_are_limited_per_participant_not_per_shared_office_address(app, world, monkeypatch, action):
    monkeypatch.setitem(app.config, "CONTEST_ANSWER_RATE_LIMIT", "3 per minute")
    first = contest_login(app.test_client(), world.a)
    token = csrf_from(first.get("/quan-tri/dang-nhap").get_data(as_text=True))
    path = f"/thi/{world.a.contest_slug}/bai-thi/{world.a.attempt_id}/{action}"
    statuses = [first.post(path, data={"csrf_token": token}).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429, statuses
    # A colleague at the same office address (same remote address in the test client) is not affected.
    second = contest_login(app.test_client(), world.b)
    token = csrf_from(second.get("/quan-tri/dang-nhap").get_data(as_text=True))
    other = second.post(f"/thi/{world.b.contest_slug}/bai-thi/{world.b.attempt_id}/luu", data={"csrf_token": token})
    assert other.status_code != 429


def test_a_shared_address_at_a_deadline_is_not_locked_out_while_one_account_or_device_still_is(app, world,
                                                                                             monkeypatch):
    """Sign-in limits count per device and per account (and far higher per address): a colleague's browser at the
    same office address signs in after another's failures; a second device guessing the same account does not."""
    monkeypatch.setitem(app.config, "CONTEST_LOGIN_RATE_LIMIT", "3 per minute")
    path = f"/thi/{world.a.contest_slug}/dang-nhap"

    def device():
        browser = app.test_client()
        return browser, csrf_from(browser.get(path).get_data(as_text=True))

    guesser, token = device()
    statuses = [guesser.post(path, data={"csrf_token": token, "phone": world.a.phone, "password": f"sai-{n}"}
                             ).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429], statuses
    colleague, token = device()  # same address (the test client's), another browser, another participant
    own_path = f"/thi/{world.b.contest_slug}/dang-nhap"
    signed_in = colleague.post(own_path, data={"csrf_token": token, "phone": world.b.phone,
                                               "password": world.b.participant_password})
    assert signed_in.status_code == 303
    other_guesser, token = device()
    assert other_guesser.post(path, data={"csrf_token": token, "phone": world.a.phone, "password": "sai-5"}
                              ).status_code == 429  # the account is still protected from a fresh device
