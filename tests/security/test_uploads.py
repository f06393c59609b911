"""Uploads over the size cap or of the wrong type (ASVS 5.2.1): every file form of the organiser area refuses them
with a clear 4xx and writes nothing; the public forms cap their bodies far lower."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.factories import csrf_from, full_answers
from tests.security.conftest import contest_login, paths, rules, snapshot

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TOO_LARGE_MESSAGE = "Dữ liệu gửi lên quá lớn."
BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefgh", "bcdefghi")]
    + ["slug: *i", "title: *i", "questions: *i"]).encode()


def zip_bomb() -> bytes:
    """An .xlsx-looking archive whose sheet inflates to 80 MB (a few hundred KB on the wire)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<sheetData>" + b" " * (80 * 1024 * 1024) + b"</sheetData>")
    return buffer.getvalue()


WRONG_FILES = {
    "image named .png": ("anh.png", PNG),
    "image named .xlsx": ("bang.xlsx", PNG),
    "image named .csv": ("bang.csv", PNG),
    "program": ("caidat.exe", b"MZ\x90\x00" + b"\x00" * 64),
    "zip bomb named .xlsx": ("bang.xlsx", None),
    "YAML alias bomb": ("dinh-nghia.yaml", BILLION_LAUGHS),
    "no name": ("", b"ma,ten\r\n"),
}


def upload_routes(app, client, world) -> list[str]:
    """Return the organiser pages whose form posts a file (found by their multipart forms)."""
    found = set()
    for rule in rules(app, {"POST"}):
        if not rule.rule.startswith("/quan-tri/") or "GET" not in rule.methods:
            continue
        for path in paths(rule, world.a, app):
            if 'enctype="multipart/form-data"' in client.get(path).get_data(as_text=True):
                found.add(path.split("?")[0])
    return sorted(found)


def post_file(client, path: str, filename: str, data: bytes):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "bank": "bank-tai-len", "title": "Tải lên",
                                   "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.fixture
def organiser_client(app, world, login):
    client = app.test_client()
    login(world.root, on=client)
    return client


def test_the_upload_forms_are_all_found(app, organiser_client, world):
    routes = upload_routes(app, organiser_client, world)
    assert {"/quan-tri/nhap/don-vi", "/quan-tri/nhap/quay", "/quan-tri/cuoc-thi/ngan-hang/nhap",
            "/quan-tri/cuoc-thi/nap"} <= set(routes), routes


def test_a_file_over_the_size_cap_is_refused_with_413_everywhere(app, organiser_client, world):
    big = b"ma,ten\r\n" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    for path in upload_routes(app, organiser_client, world):
        before = snapshot(app)
        response = post_file(organiser_client, path, "lon.csv", big)
        assert response.status_code == 413, (path, response.status_code)
        assert TOO_LARGE_MESSAGE in response.get_data(as_text=True), path
        assert snapshot(app) == before, path


@pytest.mark.parametrize("case", list(WRONG_FILES), ids=list(WRONG_FILES))
def test_a_file_of_the_wrong_type_is_refused_with_a_clear_4xx_everywhere(app, organiser_client, world, case):
    filename, data = WRONG_FILES[case]
    data = zip_bomb() if data is None else data
    for path in upload_routes(app, organiser_client, world):
        before = snapshot(app, skip=("audit_log",))
        response = post_file(organiser_client, path, filename, data)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        body = response.get_data(as_text=True)
        assert 'role="alert"' in body or 'class="err' in body or response.status_code in (413, 415), path
        assert snapshot(app, skip=("audit_log",)) == before, path


def test_public_forms_cap_their_bodies_far_below_the_upload_cap(app, client, world):
    survey = full_answers(client.get(world.a.counter.path).get_data(as_text=True))
    survey["padding"] = "x" * (app.config["SURVEY_MAX_BODY"] + 1)
    before = snapshot(app)
    assert client.post(world.a.counter.path, data=survey).status_code == 413
    participant = contest_login(app.test_client(), world.a)
    token = csrf_from(participant.get("/quan-tri/dang-nhap").get_data(as_text=True))
    answers = participant.post(f"/thi/{world.a.contest_slug}/bai-thi/{world.a.attempt_id}/luu",
                               data={"csrf_token": token, "prediction": "1" * 70_000})
    assert answers.status_code == 413
    assert snapshot(app) == before
