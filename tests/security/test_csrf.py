"""CSRF on every state-changing route of app.url_map, and no state change on any GET (ASVS 3.5.1, 3.5.3)."""
from __future__ import annotations

from tests.factories import csrf_from
from tests.security.conftest import STATE_CHANGING, contest_login, paths, rules, snapshot

CSRF_MESSAGE = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ"
#: Views that skip CSRFProtect, each for a reviewed reason: the survey posts check the token themselves after a
#: strict body parse (and this suite proves it); the API authenticates with bearer tokens only, never cookies.
REVIEWED_EXEMPT_VIEWS = {"app.surveys.views.submit", "app.surveys.views.submit_dossier"}
REVIEWED_EXEMPT_BLUEPRINTS = {"api"}
#: Written on reads on purpose: the audit log records who looked at personal data; report aggregates are a cache.
WRITTEN_ON_READ = ("audit_log", "response_packs", "response_fold_state")


def signed_in_everywhere(app, world, login):
    """A browser signed in as the root administrator and as tenant A's contest participant."""
    client = app.test_client()
    login(world.root, on=client)
    contest_login(client, world.a)
    return client


def foreign_token(app, world) -> str:
    """Return a valid CSRF token of another visitor's session."""
    stranger = app.test_client()
    return csrf_from(stranger.get("/quan-tri/dang-nhap").get_data(as_text=True))


def test_every_state_changing_route_refuses_a_request_without_a_valid_csrf_token(app, world, login):
    client = signed_in_everywhere(app, world, login)
    stolen = foreign_token(app, world)
    checked, failures = [], []
    for rule in rules(app, STATE_CHANGING):
        if rule.rule.startswith("/api/"):
            continue
        for path in paths(rule, world.a, app):
            for label, data in (("no token", {"x": "1"}), ("another session's token", {"csrf_token": stolen})):
                before = snapshot(app)
                response = client.post(path, data=data)
                body = response.get_data(as_text=True)
                if response.status_code != 400 or CSRF_MESSAGE not in body:
                    failures.append(f"POST {path} ({label}): {response.status_code} {body[:120]!r}")
                elif snapshot(app) != before:
                    failures.append(f"POST {path} ({label}) was refused but changed the database")
            checked.append(path)
    assert not failures, "\n".join(failures)
    assert len(checked) >= 30, checked  # the walk really covered the organiser, contest and survey forms


def test_only_reviewed_views_skip_csrf_protection(app):
    from app.extensions import csrf

    assert set(csrf._exempt_views) <= REVIEWED_EXEMPT_VIEWS
    assert {getattr(bp, "name", bp) for bp in csrf._exempt_blueprints} <= REVIEWED_EXEMPT_BLUEPRINTS


def test_api_writes_refuse_a_signed_in_browser_without_a_bearer_token(app, world, login):
    client = app.test_client()
    login(world.root, on=client)
    api_rules = [rule for rule in rules(app, STATE_CHANGING) if rule.rule.startswith("/api/")]
    assert api_rules, "the API has no write route to check"
    for rule in api_rules:
        for path in paths(rule, world.a, app):
            before = snapshot(app)
            response = client.post(path, json={"counter": world.a.counter.code, "dossier": "HS-CSRF-1"})
            assert response.status_code == 401, (path, response.status_code)
            assert snapshot(app) == before


def test_no_get_request_changes_anything(app, world, login):
    client = signed_in_everywhere(app, world, login)
    failures = []
    for rule in rules(app, {"GET"}):
        if "logout" in rule.endpoint or rule.endpoint.endswith("dang-xuat"):
            continue
        for path in paths(rule, world.a, app):
            before = snapshot(app, skip=WRITTEN_ON_READ)
            status = client.get(path).status_code
            if status >= 500:
                failures.append(f"GET {path}: {status}")
            elif snapshot(app, skip=WRITTEN_ON_READ) != before:
                failures.append(f"GET {path} changed the database")
    assert not failures, "\n".join(failures)
