"""Per-client, per-counter rate limits on survey submissions, in memory and shared through Redis."""
from __future__ import annotations

import pytest

from tests.conftest import unavailable
from tests.factories import Factories, count_responses, full_answers, new_visit_page, separate_app

REDIS_URL = "redis://127.0.0.1:6379/15"
#: A citizen's refused submission comes back with the answers and this message (other routes say HTTP_MESSAGES[429]).
LIMIT_MESSAGE = "Có quá nhiều lượt gửi từ thiết bị này trong ít phút. Các câu trả lời vẫn còn bên dưới"


def redis_or_skip():
    """Return a client of the test Redis database, emptied; skip (fail under STRICT=1) when Redis is absent."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {error}")
    client.flushdb()
    return client


@pytest.fixture(params=["memory", "redis"])
def limited(request, tmp_path):
    """A second app allowing 3 survey posts a minute behind one trusted proxy, limits in memory or in Redis."""
    store = redis_or_skip() if request.param == "redis" else None
    overrides = {"SURVEY_RATE_LIMIT": "3 per minute", "TRUSTED_PROXIES": 1}
    if store is not None:
        overrides["REDIS_URL"] = REDIS_URL
    with separate_app(f"sqlite:///{tmp_path / 'limits.db'}", **overrides) as app:
        yield app, store
    if store is not None:
        store.flushdb()


def post_from(client, path: str, address: str):
    """Load the form and send a full response as the client at `address` (seen through the proxy)."""
    headers = {"X-Forwarded-For": address}
    data = full_answers(new_visit_page(client, path, headers=headers))
    return client.post(path, data=data, headers=headers)


def test_the_fourth_post_from_one_address_at_one_counter_is_refused_and_others_are_unaffected(limited):
    app, store = limited
    make = Factories(app)
    counter, other_counter = make.counter(), make.counter()
    client = app.test_client()
    for _ in range(3):
        assert post_from(client, counter.path, "203.0.113.7").status_code == 303
    refused = post_from(client, counter.path, "203.0.113.7")
    assert refused.status_code == 429
    assert LIMIT_MESSAGE in refused.get_data(as_text=True)
    assert count_responses(app) == 3
    assert post_from(client, other_counter.path, "203.0.113.7").status_code == 303
    assert post_from(app.test_client(), counter.path, "198.51.100.20").status_code == 303
    assert count_responses(app) == 5
    if store is not None:
        assert store.dbsize() > 0, "the limits must be counted in Redis when REDIS_URL is set"


def test_a_refused_post_is_refused_even_when_it_is_a_replay(limited):
    app, _ = limited
    make = Factories(app)
    counter = make.counter()
    client = app.test_client()
    headers = {"X-Forwarded-For": "203.0.113.8"}
    data = full_answers(client.get(counter.path, headers=headers).get_data(as_text=True))
    statuses = [client.post(counter.path, data=data, headers=headers).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert count_responses(app) == 1


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(tmp_path):
    with separate_app(f"sqlite:///{tmp_path / 'direct.db'}", SURVEY_RATE_LIMIT="2 per minute") as app:
        counter = Factories(app).counter()
        client = app.test_client()
        statuses = [post_from(client, counter.path, f"192.0.2.{n}").status_code for n in range(3)]
        assert statuses == [303, 303, 429]
        assert count_responses(app) == 2


def test_dossier_links_share_the_limit_of_their_counter(limited):
    app, _ = limited
    make = Factories(app)
    counter, other = make.counter(), make.counter()
    client = app.test_client()
    headers = {"X-Forwarded-For": "203.0.113.9"}

    def rate(path: str) -> int:
        html = new_visit_page(client, path, headers=headers)
        data = full_answers(html, "3")
        return client.post(path, data=data, headers=headers).status_code

    statuses = [rate(make.dossier_path(counter, f"HS-{n}")) for n in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert rate(make.dossier_path(other, "HS-OTHER")) == 303
    assert count_responses(app) == 4


def test_an_unreachable_redis_does_not_stop_citizens_from_answering(tmp_path):
    with separate_app(f"sqlite:///{tmp_path / 'no-redis.db'}", REDIS_URL="redis://127.0.0.1:1/0",
                      SURVEY_RATE_LIMIT="2 per minute") as app:
        counter = Factories(app).counter()
        client = app.test_client()
        statuses = [post_from(client, counter.path, "203.0.113.10").status_code for _ in range(3)]
        assert statuses == [303, 303, 429]  # counted in memory meanwhile
        assert count_responses(app) == 2
