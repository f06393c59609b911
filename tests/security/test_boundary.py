"""Inputs normalised or refused at the boundary (issue 17, "Inputs that still reach a 500"): each test below got a
500 (or, for the digits, a second account) before the checks in app/web.py, app/periods.py and app/validation.py.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from
from tests.security.conftest import snapshot

BAD_TEXT = "ký tự không hợp lệ"
HUGE = str(2 ** 64 + 7)


def _api_headers(app, world) -> dict[str, str]:
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        _, secret = issue_token("Một cửa", db.session.get(Unit, world.a.unit_id), utcnow())
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


# --- digits of any script ---------------------------------------------------------------------------------------


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("script", [ARABIC_INDIC, FULL_WIDTH])
def test_a_phone_number_in_other_digits_is_the_same_number(app, world, script):
    from app.contests import lifecycle, participants
    from app.database import utcnow
    from app.validation import Rejected
    from tests.security.conftest import ZONE

    with app.app_context():
        contest = lifecycle.get_contest(world.a.contest_slug)
        count = len(contest_participants(app, contest.id))
        with pytest.raises(Rejected) as refused:
            participants.register_participant(contest, participants.Registration(
                world.a.phone.translate(script), "Trần Thị B", "15/04/1991", str(world.a.unit_id), "cbccvc", "",
                "mat-khau-rat-dai-1", "mat-khau-rat-dai-1", True), now=utcnow(), zone=ZONE,
                secret=app.config["SECRET_KEY"])
        assert "đã đăng ký" in str(refused.value.by_field()["phone"])
        assert len(contest_participants(app, contest.id)) == count
        assert participants.normalise_phone("٠٩١٢٣٤٥٦٧٨") == "0912345678"


def contest_participants(app, contest_id: int) -> list:
    from app.contests.models import Participant
    from app.extensions import db

    return list(db.session.scalars(sa.select(Participant.phone).where(Participant.contest_id == contest_id)))


def test_a_cccd_in_other_digits_is_read_as_ascii(app, world):
    from app.contests import lifecycle, participants
    from app.contests.models import Participant
    from app.database import utcnow
    from app.extensions import db
    from tests.security.conftest import ZONE

    with app.app_context():
        contest = lifecycle.get_contest(world.a.contest_slug)
        participant = participants.register_participant(contest, participants.Registration(
            "0987654321", "Trần Thị B", "15/04/1991", str(world.a.unit_id), "cbccvc",
            "001234567890".translate(ARABIC_INDIC), "mat-khau-rat-dai-1", "mat-khau-rat-dai-1", True),
            now=utcnow(), zone=ZONE, secret=app.config["SECRET_KEY"])
        assert db.session.get(Participant, participant.id).cccd_last4 == "7890"


# --- NUL and lone surrogates -------------------------------------------------------------------------------------


def test_a_nul_in_a_registration_name_is_refused_with_400(app, world):
    client = app.test_client()
    path = f"/thi/{world.a.contest_slug}/dang-ky"
    token = csrf_from(client.get(path).get_data(as_text=True))
    before = snapshot(app)
    response = client.post(path, data={"csrf_token": token, "phone": "0987654321", "full_name": "Trần\x00 Thị B",
                                       "birth_date": "15/04/1991", "unit_id": str(world.a.unit_id),
                                       "group": "cbccvc", "password": "mat-khau-rat-dai-1",
                                       "password_again": "mat-khau-rat-dai-1", "consent": "1"})
    assert response.status_code == 400
    assert BAD_TEXT in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_a_nul_in_the_comment_search_is_refused_with_400(app, world, login):
    client = login(world.a.administrator)
    response = client.get("/quan-tri/y-kien?q=g%C3%B3p%00%20%C3%BD")
    assert response.status_code == 400
    assert BAD_TEXT in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [
    '{"counter": "Q-T-A", "dossier_code": "HS-\\u0000-1"}',
    '{"counter": "Q-T-A", "dossier_code": "HS-\\ud800-1"}',
    '{"counter": "Q-T-A\\udfff", "dossier_code": "HS-1"}',
])
def test_nul_and_lone_surrogates_in_api_json_are_refused_with_400(app, world, body):
    headers = _api_headers(app, world)
    before = snapshot(app, skip=("api_tokens",))
    response = app.test_client().post("/api/v1/dossier-links", data=body, headers=headers,
                                      content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert BAD_TEXT in response.get_json()["error"]["message"]
    assert snapshot(app, skip=("api_tokens",)) == before


def test_very_deep_json_is_refused_with_400(app, world):
    headers = _api_headers(app, world)
    for depth in (40, 100_000):
        body = "[" * depth + "]" * depth
        response = app.test_client().post("/api/v1/dossier-links", data=body, headers=headers,
                                          content_type="application/json")
        assert response.status_code == 400, (depth, response.status_code)
        assert "lồng nhau quá sâu" in response.get_json()["error"]["message"]


# --- integers ----------------------------------------------------------------------------------------------------


def test_ids_beyond_64_bits_are_404_on_public_and_organiser_routes(app, world, login):
    client = login(world.a.administrator)
    for path in (f"/thi/{world.a.contest_slug}/bai-thi/{HUGE}", f"/thi/{world.a.contest_slug}/bai-thi/{HUGE}/ket-qua",
                 f"/quan-tri/quay/{HUGE}", f"/quan-tri/don-vi/{HUGE}/sua", f"/quan-tri/tai-khoan/{HUGE}/kich-hoat",
                 f"/quan-tri/cuoc-thi/{world.a.contest_slug}/thi-sinh?trang={HUGE}",
                 f"/quan-tri/quay/{2 ** 63 - 1}"):
        assert client.get(path).status_code in (200, 404), path
    for path in (f"/quan-tri/y-kien?trang={HUGE}", f"/quan-tri/nhat-ky?trang={HUGE}",
                 f"/quan-tri/tong-quan?unit={HUGE}", f"/quan-tri/quay/moi?unit={HUGE}",
                 f"/quan-tri/don-vi/moi?parent={HUGE}", f"/thi/{world.a.contest_slug}/xep-hang?trang={HUGE}",
                 f"/quan-tri/y-kien?trang=-{HUGE}"):
        assert client.get(path).status_code < 500, path


# --- periods -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["0001", "0001-Q1", "9999", "9999-Q4", "1999-12", "2100-01",
                                    "0001-01-01..2026-01-01", "2026-01-01..9999-12-31"])
def test_periods_at_the_edge_of_the_calendar_are_refused_with_a_clear_message(app, world, login, period):
    client = login(world.a.administrator)
    for path in (f"/quan-tri/tong-quan?period={period}", f"/quan-tri/bao-cao?period={period}",
                 f"/quan-tri/bao-cao/tai-ve.xlsx?period={period}", f"/quan-tri/xuat-du-lieu/tai-ve?period={period}",
                 f"/quan-tri/y-kien?period={period}"):
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
    response = app.test_client().get(f"/api/v1/reports/sipas?unit=T-A&period={period}",
                                     headers=_api_headers(app, world))
    assert response.status_code == 400, response.status_code
    assert "kỳ báo cáo" in response.get_json()["error"]["message"]


def test_parse_period_names_the_years_it_accepts():
    from app.periods import parse_period

    assert parse_period("2000-Q1").start.year == 2000
    assert parse_period("2099").end.year == 2099
    for text in ("1999-Q4", "2100", "0001-01-01..2026-01-01"):
        with pytest.raises(ValueError, match="2000–2099"):
            parse_period(text)
    with pytest.raises(ValueError) as refused:
        parse_period("x" * 10_000)
    assert len(str(refused.value)) < 200


# --- next= -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/quan-tri/y-kien%0d%0aSet-Cookie:%20x=1", "/quan-tri/%0a", "/quan-tri/\t"])
def test_cr_lf_in_next_never_reach_the_location_header(app, world, target):
    client = app.test_client()
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))
    response = client.post(f"/quan-tri/dang-nhap?next={target}",
                           data={"csrf_token": token, "email": world.a.administrator.email,
                                 "password": world.a.administrator.password})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "Set-Cookie" not in location
    assert location.rstrip("/").endswith("/quan-tri") or "/quan-tri/" in location


@pytest.mark.parametrize("data", [b"\x08slug: a", b"title: \x07", "slug: \ufffe".encode()])
def test_a_definition_with_a_control_character_is_refused_not_a_500(app, data):
    """Found by tests/fuzz/test_routes.py: PyYAML's reader refused it before the parser's errors were caught."""
    from app.validation import Rejected, read_yaml

    with app.test_request_context():
        with pytest.raises(Rejected, match="ký tự không được phép"):
            read_yaml(data)
