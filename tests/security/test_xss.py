"""Stored and reflected XSS: comments, unit/counter/field/organiser names, contest titles, question text,
participant names and import reports carry a script payload, and every page shows it as text."""
from __future__ import annotations

import csv
import io
import re

import yaml

from tests.factories import csrf_from, full_answers
from tests.security.conftest import build_world, contest_login, paths, rules

PAYLOAD = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
RAW_MARKERS = ("<script>alert(", "<img src=x onerror")
ESCAPED_MARKER = "&lt;script&gt;alert("
#: Pages that list the payload-carrying objects: each must show the payload, escaped (so the walk proves something).
MUST_SHOW = ("/quan-tri/don-vi", "/quan-tri/quay", "/quan-tri/y-kien", "/quan-tri/tai-khoan",
             "/quan-tri/cuoc-thi/", "/quan-tri/cuoc-thi/ngan-hang/bank-t-a", "/quan-tri/cuoc-thi/thi-t-a/thi-sinh",
             "/quan-tri/linh-vuc", "/thi/thi-t-a")


def raw_payload_in(body: str) -> list[str]:
    return [marker for marker in RAW_MARKERS if marker in body]


def test_stored_payloads_are_shown_as_text_on_every_page(app, make, login):
    world = build_world(app, make, PAYLOAD)
    client = app.test_client()
    login(world.root, on=client)
    contest_login(client, world.a)
    executed, shown = [], set()
    for rule in rules(app, {"GET"}):
        for tenant in (world.a, world.b):
            for path in paths(rule, tenant, app):
                response = client.get(path)
                if response.mimetype not in ("text/html", "image/svg+xml"):
                    continue
                body = response.get_data(as_text=True)
                if raw_payload_in(body):
                    executed.append(f"{path}: {raw_payload_in(body)}")
                if ESCAPED_MARKER in body:
                    shown.add(path.split("?")[0])
    assert not executed, "\n".join(executed)
    missing = [path for path in MUST_SHOW if path not in shown]
    assert not missing, f"these pages did not show the stored payload at all: {missing}"


def upload(client, path: str, filename: str, data: bytes, **fields):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(data), filename), **fields},
                       content_type="multipart/form-data")


def test_import_problem_reports_show_the_offending_values_as_text(app, client, make, login, world):
    login(world.root)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["Mã đơn vị", "Tên đơn vị", "Loại", "Mã đơn vị cấp trên", "Biên chế", "Khối"],
                                  ["XSS-1", PAYLOAD, PAYLOAD, PAYLOAD, "1", PAYLOAD]])
    units = upload(client, "/quan-tri/nhap/don-vi", "units.csv", buffer.getvalue().encode("utf-8-sig"))
    questions = upload(client, "/quan-tri/cuoc-thi/ngan-hang/nhap", "q.yaml", yaml.safe_dump(
        {"questions": [{"code": PAYLOAD, "type": PAYLOAD, "text": PAYLOAD, "options": [PAYLOAD], "correct": [9]}]},
        allow_unicode=True).encode(), bank="bank-xss", title=PAYLOAD)
    definition = upload(client, "/quan-tri/cuoc-thi/nap", "c.yaml", yaml.safe_dump(
        {"slug": PAYLOAD, "title": PAYLOAD, "unit": PAYLOAD, PAYLOAD: PAYLOAD}, allow_unicode=True).encode())
    for name, response in (("units", units), ("questions", questions), ("definition", definition)):
        body = response.get_data(as_text=True)
        assert response.status_code == 400, (name, response.status_code)
        assert not raw_payload_in(body), f"the {name} problem report renders the uploaded value as HTML"
    assert ESCAPED_MARKER in units.get_data(as_text=True), "the units report no longer quotes the bad value"
    assert ESCAPED_MARKER in definition.get_data(as_text=True), "the definition report no longer quotes the bad key"


def test_a_refused_survey_echoes_the_typed_comment_as_text(app, client, make):
    counter = make.counter()
    html = client.get(counter.path).get_data(as_text=True)
    data = full_answers(html)
    del data["TC1"]
    data[re.findall(r'<textarea id="([^"]+)"', html)[0]] = PAYLOAD
    response = client.post(counter.path, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert not raw_payload_in(body) and ESCAPED_MARKER in body


def test_a_survey_post_with_a_forged_field_name_quotes_it_as_text(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    data[PAYLOAD] = "1"  # the "unknown question" message quotes the name: a lazy message with a user value
    response = client.post(counter.path, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert not raw_payload_in(body) and ESCAPED_MARKER in body


def test_a_refused_registration_echoes_the_typed_name_as_text(app, client, world):
    path = f"/thi/{world.a.contest_slug}/dang-ky"
    token = csrf_from(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "phone": "0987654321", "full_name": PAYLOAD,
                                       "birth_date": "02/09/1985", "unit_id": str(world.a.unit_id),
                                       "group": "cbccvc", "password": "mat-khau-1", "password_again": "khac-han"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert not raw_payload_in(body) and ESCAPED_MARKER in body
