"""Registration (contest.md §5.2), sign-in, pre-issued accounts, masking and personal data."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from tests.contests.helpers import ZONE, Participant, count_rows, now_utc


@pytest.fixture
def live(make_contest):
    return make_contest(opens=now_utc() - dt.timedelta(hours=1), closes=now_utc() + dt.timedelta(days=1),
                        registration={"min_age": 18, "cccd": "optional"})


#: A list of accounts to pre-issue with mistakes on rows 3 and 4 (row 4's birth date is also off the calendar).
BAD_ACCOUNTS = ("phone,full_name,birth_date,unit,group,cccd\n0912000001,Phạm Văn Dũng,01/01/1980,T-SNV,cbccvc,\n"
                "0912000001,Hồ Thị Em,1990-05-05,X,cbccvc,\n012,Gia,32/01/1990,T-XA,la,123\n").encode()


def refused_accounts(contest_id: int, bad: bytes) -> list[str]:
    """Return the row problems of pre-issuing a list of accounts (nothing is created); needs an app context."""
    from app.auth.audit import COMMAND_LINE
    from app.contests import participants
    from app.contests.imports import parse_participants
    from app.contests.models import Contest
    from app.extensions import db
    from app.validation import Rejected

    with pytest.raises(Rejected) as error:
        participants.preissue_participants(db.session.get(Contest, contest_id), parse_participants("ds.csv", bad),
                                       actor=COMMAND_LINE, now=now_utc(), zone=ZONE, secret="s")
    db.session.rollback()
    return [str(problem) for problem in error.value.problems]


def stored(app):
    from app.contests.models import Participant as Row
    from app.extensions import db

    with app.app_context():
        return [dict(phone=p.phone, name=p.full_name, cccd_hash=p.cccd_hash, last4=p.cccd_last4, consent=p.consent_at,
                     password=p.password_hash) for p in db.session.scalars(sa.select(Row))]


@pytest.mark.parametrize("field, value, message", [
    ("phone", "012345", "Số điện thoại di động không hợp lệ"),
    ("phone", "0212345678", "Số điện thoại di động không hợp lệ"),
    ("name", "An", "Vui lòng ghi đầy đủ họ và tên."),
    ("birth", "31/02/1990", "Vui lòng nhập ngày sinh hợp lệ"),
    ("birth", "01/01/2099", "Ngày sinh không hợp lệ."),
    ("birth", "young", "Người dự thi phải từ đủ 18 tuổi trở lên."),
    ("unit", "other", "Vui lòng chọn đơn vị trong danh sách."),
    ("group", "khac", "Vui lòng chọn đối tượng dự thi."),
    ("cccd", "12345678901", "Số CCCD gồm đúng 12 chữ số."),
    ("password", "ngan", "Mật khẩu phải có ít nhất 8 ký tự."),
    ("again", "khac-hoan-toan", "Hai lần nhập mật khẩu không khớp."),
    ("consent", False, "Vui lòng đồng ý với việc xử lý dữ liệu cá nhân"),
])
def test_each_registration_mistake_gets_a_vietnamese_message_and_stores_nothing(app, client, live, units, field,
                                                                                value, message):
    from app.contests.models import Participant as Row

    options = {"phone": "0912345678", "unit_id": units["T-SNV"]}
    kwargs = {}
    if field == "phone":
        options["phone"] = value
    elif field == "name":
        kwargs["name"] = value
    elif field == "birth":
        kwargs["birth"] = (now_utc() - dt.timedelta(days=365 * 10)).strftime("%d/%m/%Y") if value == "young" \
            else value
    elif field == "unit":
        options["unit_id"] = units["X"]
    elif field == "group":
        kwargs["group"] = value
    elif field == "cccd":
        kwargs["cccd"] = value
    elif field == "password":
        kwargs["password"] = value
    elif field == "again":
        kwargs["again"] = value
    elif field == "consent":
        kwargs["consent"] = False
    response = Participant(client, live.slug).register(options["phone"], options["unit_id"], **kwargs)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_rows(app, Row) == 0


def test_registration_normalises_the_phone_hashes_the_cccd_and_records_consent(app, client, live, units):
    response = Participant(client, live.slug).register("+84 912.345.678", units["T-XA"], cccd="001090012345")
    assert response.status_code == 303
    assert "thi_phien=" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    [row] = stored(app)
    key = hmac.new(app.config["SECRET_KEY"].encode(), b"contest-cccd", hashlib.sha256).digest()
    assert row["phone"] == "0912345678" and row["last4"] == "2345" and row["consent"] is not None
    assert row["cccd_hash"] == hmac.new(key, b"001090012345", hashlib.sha256).hexdigest()
    assert "001090012345" not in str(row) and "mat-khau-1" not in row["password"]


def test_a_phone_registers_once_per_contest(app, client, live, units):
    first = Participant(client, live.slug).register("0912345678", units["T-SNV"])
    client.delete_cookie("thi_phien", path=f"/thi/{live.slug}/")
    second = Participant(client, live.slug).register("0912 345 678", units["T-SNV"], name="Lê Văn Cường")
    assert first.status_code == 303 and second.status_code == 400
    assert "Số điện thoại này đã đăng ký dự thi" in second.get_data(as_text=True)
    assert len(stored(app)) == 1


def test_sign_in_with_phone_and_password_and_lock_after_repeated_failures(app, client, live, units):
    person = Participant(client, live.slug)
    person.register("0912345678", units["T-SNV"])
    client.delete_cookie("thi_phien", path=f"/thi/{live.slug}/")
    path = f"/thi/{live.slug}/dang-nhap"
    wrong = client.post(path, data={"csrf_token": person.csrf(), "phone": "0912345678", "password": "sai-mat-khau"})
    unknown = client.post(path, data={"csrf_token": person.csrf(), "phone": "0988888888", "password": "x"})
    right = client.post(path, data={"csrf_token": person.csrf(), "phone": "0912 345 678", "password": "mat-khau-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_data(as_text=True).count("Số điện thoại hoặc mật khẩu không đúng") == 1
    assert right.status_code == 303 and "thi_phien=" in right.headers["Set-Cookie"]
    for _ in range(10):
        client.post(path, data={"csrf_token": person.csrf(), "phone": "0912345678", "password": "sai"})
    locked = client.post(path, data={"csrf_token": person.csrf(), "phone": "0912345678", "password": "mat-khau-1"})
    assert locked.status_code == 401


def test_registration_is_closed_unless_the_contest_is_open(app, client, make_contest, units):
    draft = make_contest(open_it=False, slug="nhap", opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    assert client.get(f"/thi/{draft.slug}/dang-ky").status_code == 404


def test_preissued_accounts_are_created_all_or_nothing_and_sign_in_with_their_code(app, client, live, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import participants
    from app.contests.imports import parse_participants
    from app.validation import Rejected
    from app.contests.models import Contest
    from app.contests.models import Participant as Row
    from app.extensions import db

    with app.app_context():
        with pytest.raises(Rejected) as form_error:
            parse_participants("ds.csv", BAD_ACCOUNTS)
        problems = refused_accounts(live.id, BAD_ACCOUNTS.replace(b"32/01/1990", b"01/01/1990"))
    assert [str(p) for p in form_error.value.problems] == [
        "Dòng 4, cột “birth_date”: ngày sinh phải có dạng 31/12/1990 hoặc 1990-12-31"]
    assert problems == [
        "Dòng 3: số điện thoại 0912000001 trùng với dòng 2",
        "Dòng 3: đơn vị “X” không có trong phạm vi cuộc thi",
        "Dòng 4: số điện thoại “012” không hợp lệ",
        "Dòng 4: thiếu họ và tên đầy đủ",
        "Dòng 4: đối tượng “la” không có trong cuộc thi",
        "Dòng 4: số CCCD phải gồm đúng 12 chữ số",
    ]
    assert count_rows(app, Row) == 0
    good = "phone,full_name,unit,group\n0912000001,Phạm Văn Dũng,T-SNV,cbccvc\n0912000002,Hồ Thị Em,T-XA,nguoi_dan\n"
    with app.app_context():
        credentials = participants.preissue_participants(db.session.get(Contest, live.id),
                                                     parse_participants("ds.csv", good.encode()), actor=COMMAND_LINE,
                                                     now=now_utc(), zone=ZONE, secret="s")
        db.session.commit()
    assert [(c.phone, len(c.code)) for c in credentials] == [("0912000001", 8), ("0912000002", 8)]
    person = Participant(client, live.slug)
    response = client.post(f"/thi/{live.slug}/dang-nhap", data={"csrf_token": person.csrf(), "phone": "0912000002",
                                                                 "password": credentials[1].code})
    assert response.status_code == 303


def test_preissue_row_problems_are_in_the_organisers_language(app, live, english):
    bad = BAD_ACCOUNTS.replace(b"32/01/1990", b"01/01/1990")
    with app.test_request_context("/?lang=en"):
        problems = refused_accounts(live.id, bad)
    assert problems == [
        "Row 3: phone number 0912000001 duplicates row 2",
        "Row 3: unit “X” is not within the contest's scope",
        "Row 4: phone number “012” is invalid",
        "Row 4: full name is missing",
        "Row 4: participant category “la” is not part of the contest",
        "Row 4: the citizen ID number must have exactly 12 digits",
    ]
    with app.test_request_context("/?lang=vi"):
        assert refused_accounts(live.id, bad)[0] == "Dòng 3: số điện thoại 0912000001 trùng với dòng 2"


def test_public_lists_mask_names_and_phones():
    from app.contests.participants import mask_name, mask_phone

    assert mask_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert mask_name("Lê Thị Ánh Tuyết") == "Lê T. Á. T."
    assert mask_phone("0912341234") == "***1234"
    assert mask_name(None) == "—"


@pytest.mark.parametrize("raw, expected", [("0912345678", "0912345678"), ("+84912345678", "0912345678"),
                                           ("84 912 345 678", "0912345678"), ("0321-234-567", "0321234567"),
                                           ("0112345678", None), ("091234567", None), ("09123456789", None)])
def test_vietnamese_mobile_numbers_are_normalised(raw, expected):
    from app.contests.participants import normalise_phone

    assert normalise_phone(raw) == expected


def test_personal_data_is_exported_then_erased_after_the_retention_period(app, client, live, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle, participants
    from app.errors import ConflictError
    from app.contests.models import Attempt, Contest
    from app.contests.models import Participant as Row
    from app.extensions import db

    person = Participant(client, live.slug)
    person.register("0912345678", units["T-SNV"], cccd="001090012345")
    attempt_id, html = person.started_attempt()
    person.post(attempt_id, "nop", {})
    with app.app_context():
        contest = db.session.get(Contest, live.id)
        lifecycle.change_status(contest, "close", actor=COMMAND_LINE, now=now_utc(), zone=ZONE)
        rows = list(participants.personal_data_rows(contest, ZONE))
        assert rows[0][1:3] == ["0912345678", "Trần Thị Bình"]
        with pytest.raises(ConflictError, match="Chưa hết thời hạn lưu trữ"):
            participants.erase_personal_data(contest, actor=COMMAND_LINE, now=now_utc(), zone=ZONE)
        erased = participants.erase_personal_data(contest, actor=COMMAND_LINE, now=now_utc() + dt.timedelta(days=181),
                                                  zone=ZONE)
        db.session.commit()
        row = db.session.scalar(sa.select(Row))
        attempt = db.session.get(Attempt, attempt_id)
        assert erased == 1
        assert (row.phone, row.full_name, row.birth_date, row.cccd_hash, row.cccd_last4, row.password_hash) == \
            (None,) * 6
        assert attempt.state == "submitted" and attempt.score is not None and row.unit_id == units["T-SNV"]
