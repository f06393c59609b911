"""Property-based fuzzing of every route of app.url_map (issue 17): public pages, the organiser area and the API.

Each example picks a rule, fills its URL arguments (real ids and slugs of a two-tenant world, or hostile values:
ids beyond 2⁶³, text with NUL, lone surrogates, markup), adds a query string (periods at the edge of the
calendar, huge page numbers, hostile text), and for rules that take a body sends hostile form fields, files or
JSON. Whatever is sent: never a 5xx, and a refused request (4xx) writes nothing (every table's row count, the
audit log aside, is what it was). Runs on SQLite and PostgreSQL (`pytest -m database --db postgresql`).
"""
from __future__ import annotations

import io
import json
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import csrf_from
from tests.fuzz.conftest import FUZZ, nasty_text

#: Every route is drawn many times over: more examples than the other fuzz suites, still about a minute a database.
ROUTES = FUZZ.__class__(FUZZ, max_examples=150)
from tests.fuzz.test_public_forms import changed, counts
from tests.security.conftest import argument_values, rules

#: Routes left out: they end the fuzzing client's own session or password (tested on their own elsewhere).
SKIPPED = {"auth.logout", "auth.change_password", "contests.logout", "static"}
#: Tables a refused request may still write: the audit log records refused sign-ins and denied actions.
MAY_CHANGE = {"audit_log"}

huge_ints = st.one_of(st.integers(0, 2 ** 70), st.sampled_from([2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64 + 7, 10 ** 30]))
periods = st.one_of(
    st.integers(0, 9999).map(lambda year: f"{year:04d}"),
    st.tuples(st.integers(0, 9999), st.sampled_from(["Q1", "Q4", "H2", "01", "12", "13", "00"])).map(
        lambda pair: f"{pair[0]:04d}-{pair[1]}"),
    st.tuples(st.dates(), st.dates()).map(lambda pair: f"{pair[0].isoformat()}..{pair[1].isoformat()}"),
    nasty_text,
)
QUERY_KEYS = ["period", "trang", "unit", "q", "vong", "field", "max_score", "element", "version", "parent", "next",
              "year", "preset", "start", "end", "fmt", "per_page", "paper", "counter"]
query_values = st.one_of(periods, huge_ints.map(str), st.integers(-5, 50).map(str), nasty_text)
queries = st.dictionaries(st.sampled_from(QUERY_KEYS), query_values, max_size=4)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=False), nasty_text),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(nasty_text, st.sampled_from(
                                   ["counter", "dossier_code", "days", "service_field"])), children, max_size=4)),
    max_leaves=12,
)
files = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"PK\x03\x04" + b"\x00" * 40, b"ma,ten\r\n\x00,\xff\r\n", b"a: &a [*a]", b"[" * 5000,
                     b"questions:\n  - code: Q1\n    text: \"\\ud800\"\n"]),
)
file_names = st.sampled_from(["bang.xlsx", "bang.csv", "cau-hoi.yaml", "x.exe", "", "a\x00b.csv"])


def _ids(world) -> dict[str, list]:
    return {name: values for name, values in {
        "unit_id": [world.a.unit_id, world.b.unit_id], "counter_id": [world.a.counter.id],
        "field_id": [world.a.field_id], "organiser_id": [world.a.viewer.id], "number": [1, 2],
        "attempt_id": [world.a.attempt_id], "participant_id": [world.a.participant_id],
    }.items()}


def _fill(rule, world, app, data) -> str:
    """Build a concrete path for a rule: each argument a real value or a hostile one."""
    from werkzeug.routing.converters import AnyConverter, IntegerConverter

    real = argument_values(rule, world.a, app)
    path = rule.rule
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            value = data.draw(st.sampled_from(sorted(converter.items)))
        elif isinstance(converter, IntegerConverter):
            value = data.draw(st.one_of(st.sampled_from(real[name] + _ids(world).get(name, [])), huge_ints))
        else:
            value = data.draw(st.one_of(st.sampled_from(real[name]), nasty_text.map(
                lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="") or "x")))
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", str(value), path)
    return path


def _query(values: dict) -> str:
    return urlencode({key: value.encode("utf-8", "surrogatepass") for key, value in values.items()})


def _check(app, response, before: dict[str, int], what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        added = {name: count for name, count in changed(before, counts(app)).items() if name not in MAY_CHANGE}
        assert added == {}, (what, response.status_code, added)


def _routes(app, methods: set[str], prefix: str = "") -> list:
    return [rule for rule in rules(app, methods) if rule.endpoint not in SKIPPED and rule.rule.startswith(prefix)]


@pytest.fixture
def organiser(app, world, login):
    return login(world.root)


def test_fuzzed_get_requests_on_every_route_never_fail(app, world, organiser):
    anonymous = app.test_client()
    targets = _routes(app, {"GET"})

    @ROUTES
    @given(data=st.data(), query=queries, signed_in=st.booleans())
    def run(data, query, signed_in):
        rule = data.draw(st.sampled_from(targets))
        path = _fill(rule, world, app, data) + ("?" + _query(query) if query else "")
        before = counts(app)
        _check(app, (organiser if signed_in else anonymous).get(path), before, path)

    run()


def test_fuzzed_form_posts_on_every_route_never_fail_nor_half_write(app, world, organiser):
    token = csrf_from(organiser.get("/quan-tri/don-vi").get_data(as_text=True))
    targets = [rule for rule in _routes(app, {"POST"}) if not rule.rule.startswith("/api/")]
    names = st.sampled_from(["name", "code", "kind", "headcount", "block", "parent", "unit", "fields", "title",
                             "bank", "definition", "email", "role", "password", "phone", "full_name", "days",
                             "dossier_code", "transition", "reason", "value", "confirm", "answers", "q1"])

    @ROUTES
    @given(data=st.data(), fields=st.dictionaries(names, nasty_text, max_size=5), query=queries,
           upload=st.one_of(st.none(), st.tuples(file_names, files)), with_token=st.booleans())
    def run(data, fields, query, upload, with_token):
        rule = data.draw(st.sampled_from(targets))
        path = _fill(rule, world, app, data) + ("?" + _query(query) if query else "")
        form = {key: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for key, value in
                fields.items()}
        if with_token:
            form["csrf_token"] = token
        if upload is not None:
            form["file"] = (io.BytesIO(upload[1]), upload[0])
        before = counts(app)
        response = organiser.post(path, data=form, content_type="multipart/form-data" if upload else None)
        _check(app, response, before, path)

    run()


def test_fuzzed_api_calls_never_fail_nor_half_write(app, world):
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        _, secret = issue_token("Fuzz", db.session.get(Unit, world.a.unit_id), utcnow())
        db.session.commit()
    client = app.test_client()
    targets = _routes(app, {"GET", "POST"}, "/api/")

    @ROUTES
    @given(data=st.data(), query=queries, body=json_values, raw=st.one_of(st.none(), st.sampled_from([
        "[" * 100_000, '{"counter": "\\ud800"}', '{"a": 1', "\x00", '{"counter": "Q-T-A", "dossier_code": 1e400}'])))
    def run(data, query, body, raw):
        rule = data.draw(st.sampled_from(targets))
        path = _fill(rule, world, app, data) + ("?" + _query(query) if query else "")
        headers = {"Authorization": f"Bearer {secret}"}
        before = counts(app)
        if "POST" in rule.methods:
            payload = raw if raw is not None else json.dumps(body)
            response = client.post(path, data=payload.encode("utf-8", "surrogatepass"), headers=headers,
                                   content_type="application/json")
        else:
            response = client.get(path, headers=headers)
        _check(app, response, before, path)

    run()
