"""Property-based fuzzing of the public endpoints: the counter survey, one-time dossier links and the contest.

Whatever a client sends, the answer is never a 5xx, and nothing is half written: a refused request leaves every
row count as it was, an accepted one adds exactly the row it promises.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import full_answers
from tests.fuzz.conftest import FUZZ, field_names, nasty_text
from tests.security.conftest import contest_login


def counts(app) -> dict[str, int]:
    """Return the row count of every table."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


#: A mutation of a valid form: fields dropped, fields added or overwritten with hostile values, repeated values.
mutations = st.tuples(
    st.sets(st.integers(0, 60), max_size=4),
    st.dictionaries(field_names, st.lists(nasty_text, min_size=1, max_size=3), max_size=4),
    st.booleans(),
)


def mutate(valid: dict[str, str], mutation) -> list[tuple[str, str]]:
    """Apply a mutation to a valid form; keep a fresh submission key unless the mutation replaced it."""
    dropped, extra, fresh_key = mutation
    pairs = [(name, value) for index, (name, value) in enumerate(sorted(valid.items())) if index not in dropped]
    pairs = [(name, value) for name, value in pairs if name not in extra]
    if fresh_key and "k" not in extra:
        pairs = [(name, secrets.token_urlsafe(18) if name == "k" else value) for name, value in pairs]
    pairs += [(name, value) for name, values in extra.items() for value in values]
    return pairs


def post_pairs(client, path: str, pairs: list[tuple[str, str]]):
    body = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("utf-8", "surrogatepass")
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded")


def check_survey_post(app, client, path: str, pairs) -> int:
    before = counts(app)
    response = post_pairs(client, path, pairs)
    after = counts(app)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    added = changed(before, after)
    if response.status_code == 303:
        assert added in ({}, {"survey_responses": 1}), added  # {} is a replay or the honeypot
    else:
        assert response.status_code in (400, 409, 410, 413, 415), response.status_code
        assert added == {}, added
    return response.status_code


def test_fuzzed_counter_survey_posts_never_fail_and_never_half_write(app, make):
    counter = make.counter()
    client = app.test_client()
    valid = full_answers(client.get(counter.path).get_data(as_text=True))
    statuses = set()

    @FUZZ
    @given(mutation=mutations)
    def run(mutation):
        statuses.add(check_survey_post(app, client, counter.path, mutate(valid, mutation)))

    run()
    assert {303, 400} <= statuses, statuses  # both acceptance and refusal were exercised


def test_fuzzed_dossier_posts_store_at_most_one_rating(app, make):
    counter = make.counter()
    path = make.dossier_path(counter, "HS-FUZZ-0001")
    client = app.test_client()
    valid = full_answers(client.get(path).get_data(as_text=True))

    @FUZZ
    @given(mutation=mutations)
    def run(mutation):
        check_survey_post(app, client, path, mutate(valid, mutation))
        assert counts(app)["survey_responses"] <= 1

    run()


@FUZZ
@given(token=st.one_of(st.text(max_size=80), st.from_regex(r"[a-z2-7]{10}-[a-z2-7]{8}", fullmatch=True),
                       st.from_regex(r"[A-Za-z0-9_.-]{20,120}", fullmatch=True)),
       prefix=st.sampled_from(["/s/", "/d/", "/thi/", "/thi/chung-nhan/"]))
def test_fuzzed_tokens_and_slugs_are_not_found_never_an_error(app, client, token, prefix):
    from urllib.parse import quote

    response = client.get(prefix + quote(token, safe=""))
    assert response.status_code in (200, 308, 400, 404, 410), (prefix, token, response.status_code)


def registration_form(world, values: dict) -> dict:
    form = {"phone": "0987000111", "full_name": "Phạm Minh Châu", "birth_date": "02/09/1985",
            "unit_id": str(world.a.unit_id), "group": "cbccvc", "password": "mat-khau-1",
            "password_again": "mat-khau-1", "consent": "1"}
    form.update(values)
    return form


def test_fuzzed_contest_registrations_add_one_participant_or_nothing(app, world, monkeypatch):
    from tests.factories import csrf_from

    monkeypatch.setitem(app.config, "CONTEST_REGISTER_RATE_LIMIT", "100000 per minute")
    path = f"/thi/{world.a.contest_slug}/dang-ky"
    client = app.test_client()
    token = csrf_from(client.get(path).get_data(as_text=True))
    keys = st.sampled_from(["phone", "full_name", "birth_date", "unit_id", "group", "cccd", "password",
                            "password_again", "consent"])

    @FUZZ
    @given(values=st.dictionaries(keys, nasty_text, max_size=4), phone=st.from_regex(r"0[35789][0-9]{8}",
                                                                                       fullmatch=True))
    def run(values, phone):
        before = counts(app)
        response = client.post(path, data={"csrf_token": token, **registration_form(world, {"phone": phone,
                                                                                            **values})})
        added = changed(before, counts(app))
        assert response.status_code < 500
        if response.status_code == 303:
            assert added.get("contest_participants") == 1, added
        else:
            assert response.status_code in (400, 409), response.status_code
            assert added == {}, added

    run()


def test_fuzzed_contest_answers_never_fail_and_add_no_rows(app, world, monkeypatch):
    from tests.factories import csrf_from

    monkeypatch.setitem(app.config, "CONTEST_ANSWER_RATE_LIMIT", "100000 per minute")
    client = contest_login(app.test_client(), world.a)
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))
    base = f"/thi/{world.a.contest_slug}/bai-thi/{world.a.attempt_id}"
    page = client.get(base).get_data(as_text=True)
    question_ids = sorted({int(n) for n in re.findall(r'name="q(\d+)"', page)})
    answer_names = st.one_of(st.sampled_from([f"q{qid}" for qid in question_ids] or ["q1"]), field_names)

    @FUZZ
    @given(answers=st.dictionaries(answer_names, st.lists(st.one_of(st.sampled_from(["0", "1", "2", "3"]),
                                                                    nasty_text), max_size=3), max_size=5),
           action=st.sampled_from(["luu", "luu", "nop"]))
    def run(answers, action):
        before = counts(app)
        pairs = [("csrf_token", token)] + [(name, value) for name, values in answers.items() for value in values]
        response = post_pairs(client, f"{base}/{action}", pairs)
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        assert response.status_code in (303, 200, 400, 404, 409, 413), response.status_code
        assert changed(before, counts(app)) == {}  # answers update the attempt row, never add rows

    run()
