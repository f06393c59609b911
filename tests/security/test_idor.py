"""Object-level access across two sibling tenants (ASVS 8.2.2, 8.4.1) where tests/organiser/test_isolation.py does
not reach: the contest organiser area, participants' attempts, and the JSON API. Every swap of an id, slug or code
for the sibling's must answer 401/403/404 (or a page showing nothing of it) and change nothing."""
from __future__ import annotations

import pytest

from tests.factories import csrf_from
from tests.security.conftest import STATE_CHANGING, contest_login, paths, rules, snapshot

B_MARKERS = ("Xã T-B", "Quầy T-B", "Cuộc thi T-B", "Câu hỏi T-B", "Góp ý T-B", "Nguyễn Văn B", "bank-t-b",
             "admin-t-b@")
#: Reads allowed to answer 200 with B's slug because they are public by design (no personal data, no keys).
PUBLIC_PAGES = ("contests.home", "contests.register", "contests.login", "contests.leaderboard", "contests.verify",
                "contests.certificate")


def leaks(response) -> list[str]:
    if not response.mimetype.startswith(("text/", "application/json")):
        return [f"answered {response.mimetype}"]
    body = response.get_data(as_text=True)
    return [marker for marker in B_MARKERS if marker in body]


def b_form(token: str, world) -> dict:
    """A plausible submission for any contest form, carrying B's ids wherever a form takes one."""
    return {"csrf_token": token, "status": "close", "transition": "close", "reason": "thử", "value": "12",
            "actual": "12", "confirm": "1", "slug": world.b.contest_slug, "unit": str(world.b.unit_id),
            "unit_id": str(world.b.unit_id), "bank": world.b.bank_code, "definition": "slug: thi-t-b\n"}


def test_an_administrator_of_a_reaches_nothing_of_b_in_the_contest_organiser_area(app, world, login):
    client = app.test_client()
    login(world.a.administrator, on=client)
    token = csrf_from(client.get("/quan-tri/doi-mat-khau").get_data(as_text=True))
    problems, tried = [], 0
    for rule in rules(app, {"GET"} | STATE_CHANGING):
        if not rule.endpoint.startswith("contest_admin.") or not set(rule.arguments) & {"slug", "code",
                                                                                          "participant_id"}:
            continue
        for path in paths(rule, world.b, app):
            for method in sorted(rule.methods & ({"GET"} | STATE_CHANGING)):
                before = snapshot(app, skip=("audit_log",))
                response = client.open(path, method=method, data=b_form(token, world) if method != "GET" else None)
                tried += 1
                if response.status_code not in (403, 404) and leaks(response):
                    problems.append(f"{method} {path}: {response.status_code} {leaks(response)}")
                if snapshot(app, skip=("audit_log",)) != before:
                    problems.append(f"{method} {path} changed the database")
    assert not problems, "\n".join(problems)
    assert tried >= 15
    for path in ("/quan-tri/cuoc-thi/", "/quan-tri/cuoc-thi/ngan-hang/nhap"):
        assert not leaks(client.get(path)), path


def test_a_participant_cannot_open_save_or_submit_another_participants_attempt(app, world):
    client = contest_login(app.test_client(), world.a)
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))  # the same session's token
    problems = []
    for slug in (world.a.contest_slug, world.b.contest_slug):
        base = f"/thi/{slug}/bai-thi/{world.b.attempt_id}"
        for method, path in (("GET", base), ("GET", base + "/ket-qua"), ("POST", base + "/luu"),
                             ("POST", base + "/nop")):
            before = snapshot(app)
            response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
            if response.status_code not in (302, 303, 401, 403, 404):
                problems.append(f"{method} {path}: {response.status_code}")
            if response.status_code in (302, 303) and world.b.contest_slug not in response.headers["Location"]:
                problems.append(f"{method} {path} redirected into {response.headers['Location']}")
            if snapshot(app) != before:
                problems.append(f"{method} {path} changed the database")
    assert not problems, "\n".join(problems)


def test_a_participant_of_one_contest_cannot_start_a_round_of_the_other(app, world):
    client = contest_login(app.test_client(), world.a)
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))  # the same session's token
    before = snapshot(app)
    response = client.post(f"/thi/{world.b.contest_slug}/vong/1/bat-dau", data={"csrf_token": token})
    assert response.status_code in (302, 303, 401, 403, 404)
    if response.status_code in (302, 303):
        assert "/dang-nhap" in response.headers["Location"] or "/dang-ky" in response.headers["Location"]
    assert snapshot(app) == before


@pytest.fixture
def api_token_of_a(app, world) -> str:
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_unit_by_code

    with app.app_context():
        _, secret = issue_token("Một cửa xã A", get_unit_by_code(world.a.code), utcnow())
        db.session.commit()
    return secret


def test_an_api_token_of_a_reaches_nothing_of_b(app, client, world, api_token_of_a):
    headers = {"Authorization": f"Bearer {api_token_of_a}"}
    query = f"unit={world.b.code}&period=2026&contest={world.b.contest_slug}&counter={world.b.counter.code}"
    problems = []
    for rule in rules(app, {"GET"} | STATE_CHANGING):
        if not rule.rule.startswith("/api/") or rule.endpoint == "api.openapi":
            continue
        for path in paths(rule, world.b, app):
            for method in sorted(rule.methods & ({"GET"} | STATE_CHANGING)):
                before = snapshot(app, skip=("api_tokens",))  # a token records when it was last used
                body = {"counter": world.b.counter.code, "dossier_code": "HS-LAN-SAN-1", "unit": world.b.code,
                        "contest": world.b.contest_slug}
                response = client.open(f"{path}?{query}", method=method, headers=headers,
                                       json=body if method != "GET" else None)
                if response.status_code not in (400, 403, 404) and leaks(response):
                    problems.append(f"{method} {path}: {response.status_code} {leaks(response)}")
                if method != "GET" and response.status_code < 400:
                    problems.append(f"{method} {path} accepted B's objects: {response.status_code}")
                if snapshot(app, skip=("api_tokens",)) != before:
                    problems.append(f"{method} {path} changed the database")
    assert not problems, "\n".join(problems)


def test_an_api_token_of_a_cannot_mint_a_dossier_link_for_bs_counter(app, client, world, api_token_of_a):
    before = snapshot(app)
    response = client.post("/api/v1/dossier-links", headers={"Authorization": f"Bearer {api_token_of_a}"},
                           json={"counter": world.b.counter.code, "dossier_code": "HS-LAN-SAN-2", "days": 7})
    assert response.status_code in (403, 404)
    assert snapshot(app) == before
