"""Survey services without HTTP: tokens, counters, publishing versions, storing responses idempotently."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import ROOT, count_responses, stored_responses, submit

UTC = dt.timezone.utc


# --- tokens -----------------------------------------------------------------------------------------------------------


def test_counter_token_is_the_nonce_and_a_short_keyed_signature():
    import base64
    import hashlib
    import hmac

    from app.units.tokens import counter_token, nonce_from_token

    expected = base64.b32encode(hmac.new(b"k", b"counter:abcdefghij", hashlib.sha256).digest()).decode().lower()[:8]
    assert counter_token("abcdefghij", "k") == f"abcdefghij-{expected}"
    assert nonce_from_token(f"abcdefghij-{expected}", "k") == "abcdefghij"
    assert nonce_from_token(f"abcdefghij-{expected}", "other key") is None


@pytest.mark.parametrize("token", ["", "-", "abcdefghij", "abcdefghij-", "abcdefghij-abcdefgh-x", "ABCDEFGHIJ-abcdefgh",
                                   "abcdefgh1j-abcdefgh", "ảbcdefghij-abcdefgh", "abcdefghij-ảbcdefgh", "a" * 1000])
def test_malformed_counter_tokens_have_no_nonce(token):
    from app.units.tokens import nonce_from_token

    assert nonce_from_token(token, "k") is None


def test_new_nonces_are_ten_lowercase_base32_letters_and_do_not_repeat():
    from app.units.tokens import new_nonce

    nonces = {new_nonce() for _ in range(2000)}
    assert len(nonces) == 2000
    assert all(len(n) == 10 and set(n) <= set("abcdefghijklmnopqrstuvwxyz234567") for n in nonces)


def test_dossier_token_round_trips_its_claim_and_expires_at_the_second():
    from app.units.tokens import DossierClaim, dossier_token, read_dossier_token

    expires = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    claim = read_dossier_token(dossier_token(DossierClaim("HS-Đ/01", 7, expires), "k"), "k")
    assert claim == DossierClaim("HS-Đ/01", 7, expires)
    assert not claim.is_expired(expires - dt.timedelta(seconds=1))
    assert claim.is_expired(expires)
    assert read_dossier_token(dossier_token(claim, "k"), "other key") is None


@pytest.mark.parametrize("payload", [["HS", "7", 1], [1, 7, 1], ["HS", 7], ["HS", 7, 1.5], {"a": 1}, "HS", None])
def test_a_well_signed_dossier_token_with_a_wrong_shape_is_refused(payload):
    from itsdangerous import URLSafeSerializer

    from app.units.tokens import read_dossier_token

    token = URLSafeSerializer("k", salt="dossier-link").dumps(payload)
    assert read_dossier_token(token, "k") is None


# --- counters ---------------------------------------------------------------------------------------------------------


def test_counter_for_token_is_found_refused_when_unknown_and_gone_when_retired(app, make):
    from app.database import utcnow
    from app.errors import GoneError, NotFoundError
    from app.extensions import db
    from app.surveys import services
    from app.units.tokens import counter_token, new_nonce
    from app.units.services import get_counter_by_code, set_counter_active

    counter = make.counter(name="Quầy Tư pháp")
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        ref = services.get_counter_for_token(counter.token, secret)
        assert (ref.id, ref.code, ref.name, ref.unit_id) == (counter.id, counter.code, "Quầy Tư pháp", counter.unit_id)
        with pytest.raises(NotFoundError):
            services.get_counter_for_token(counter_token(new_nonce(), secret), secret)
        with pytest.raises(NotFoundError):
            services.get_counter_for_token(counter.token, "another secret")
        set_counter_active(get_counter_by_code(counter.code), False, utcnow())
        db.session.commit()
        with pytest.raises(GoneError):
            services.get_counter_for_token(counter.token, secret)


def test_rotating_a_token_changes_the_nonce_and_bumps_the_counter(app, make):
    from app.extensions import db
    from app.units.services import get_counter_by_code, rotate_token
    from app.units.tokens import counter_url

    counter = make.counter()
    later = dt.datetime(2030, 1, 1, tzinfo=UTC)
    with app.app_context():
        row = get_counter_by_code(counter.code)
        old = row.token_nonce
        rotate_token(row, later)
        db.session.commit()
        assert row.token_nonce != old and row.updated_at == later
        url = counter_url("https://hl.example", row.token_nonce, app.config["SECRET_KEY"])
        assert url.startswith(f"https://hl.example/s/{row.token_nonce}-") and len(url.rsplit("/", 1)[1]) == 19


# --- instrument versions ----------------------------------------------------------------------------------------------


def _edited(instrument, title: str):
    from app.surveys.instruments import parse_instrument

    definition = {**instrument.definition, "title": {**instrument.definition["title"], "vi": title}}
    return parse_instrument(definition, "edited.yaml")


def _shipped(code: str):
    from app.surveys.instruments import load_instrument

    newest = max((ROOT / "surveys").glob(f"{code}-v*.yaml"), key=lambda path: int(path.stem.rsplit("-v", 1)[1]))
    return load_instrument(newest)


def _versions(app) -> list[tuple]:
    from app.extensions import db
    from app.surveys.models import InstrumentVersion

    with app.app_context():
        return list(db.session.execute(sa.select(InstrumentVersion.code, InstrumentVersion.version,
                                                 InstrumentVersion.title, InstrumentVersion.checksum)
                                       .order_by(InstrumentVersion.code, InstrumentVersion.version)))


def test_publishing_an_unchanged_version_again_changes_nothing(app, make):
    from app.extensions import db
    from app.surveys.services import publish_instrument

    ids = make.instruments()
    before = _versions(app)
    with app.app_context():
        assert publish_instrument(_shipped("sipas-counter")).id == ids["sipas-counter"]
        db.session.commit()
    assert _versions(app) == before


def test_a_version_without_responses_may_still_be_corrected_in_place(app, make):
    from app.extensions import db
    from app.surveys.services import publish_instrument

    ids = make.instruments()
    with app.app_context():
        version = publish_instrument(_edited(_shipped("sipas-counter"), "Phiếu đã sửa"))
        db.session.commit()
        assert version.id == ids["sipas-counter"] and version.title == "Phiếu đã sửa"


def test_a_version_with_responses_is_never_changed_and_the_message_asks_for_a_new_version(app, make):
    from app.errors import AppError
    from app.surveys.services import publish_instrument

    counter = make.counter()
    submit(app, counter, "key-for-version-test-1")
    before = _versions(app)
    with app.app_context():
        with pytest.raises(AppError) as raised:
            publish_instrument(_edited(_shipped("sipas-counter"), "Phiếu đã sửa"))
    assert str(raised.value.message) == ("Phiên bản sipas-counter v2 đã có 1 phiếu trả lời nên không thể sửa. "
                                         "Hãy tạo phiên bản mới (sipas-counter-v3.yaml).")
    assert _versions(app) == before


def test_a_new_version_serves_new_forms_while_old_responses_keep_theirs(app, make):
    from app.extensions import db
    from app.surveys import services
    from app.surveys.instruments import parse_instrument

    counter = make.counter()
    submit(app, counter, "answered-on-version-1")
    definition = {**_shipped("sipas-counter").definition, "version": 3}
    with app.app_context():
        v2 = services.publish_instrument(parse_instrument(definition, "sipas-counter-v3.yaml"))
        db.session.commit()
        assert services.current_version_id("sipas-counter") == v2.id
    submit(app, counter, "answered-on-version-2")
    first, second = stored_responses(app)
    assert first.instrument_version_id != second.instrument_version_id == v2.id


def test_a_counter_whose_instrument_was_never_published_is_gone(app, make):
    from app.errors import GoneError
    from app.surveys import services

    counter = make.counter(instrument_code="not-published")
    with app.app_context():
        ref = services.get_counter_for_token(counter.token, app.config["SECRET_KEY"])
        with pytest.raises(GoneError):
            services.get_response_form(ref)


# --- storing responses -----------------------------------------------------------------------------------------------


def test_a_response_packs_one_byte_per_scale_item_in_instrument_order(app, make):
    counter = make.counter()
    instrument = _shipped("sipas-counter")
    codes = [item.code for item in instrument.scale_items]
    assert submit(app, counter, "packed-scores-key-0001", TC1="5", TTHC2="1", PAKN1=[], HL_CHUNG="3") is True
    [row] = stored_responses(app)
    expected = [4] * len(codes)
    expected[codes.index("TC1")], expected[codes.index("TTHC2")] = 5, 1
    expected[codes.index("PAKN1")], expected[codes.index("HL_CHUNG")] = 0, 3
    assert list(row.scores) == expected
    assert (row.duration_ms, row.client_hash, row.dossier_code) == (42_000, "0123456789abcdef", None)


def test_the_local_day_is_the_calendar_day_in_vietnam(app, make):
    counter = make.counter()
    submit(app, counter, "late-evening-utc-00001", now=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    submit(app, counter, "early-evening-utc-0001", now=dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    late, early = stored_responses(app)
    assert late.local_day == dt.date(2026, 4, 1)  # 00:30 on 1 April in UTC+7
    assert early.local_day == dt.date(2026, 3, 31)  # 23:30 on 31 March
    assert late.submitted_at.replace(tzinfo=UTC) == dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC)


def test_the_same_submission_key_stores_one_response(app, make):
    counter = make.counter()
    assert submit(app, counter, "same-key-twice-000001") is True
    assert submit(app, counter, "same-key-twice-000001", value="1") is False
    assert count_responses(app) == 1 and stored_responses(app)[0].scores[0] == 4


def test_a_submission_key_used_at_another_counter_is_refused(app, make):
    from app.errors import AppError

    first, second = make.counter(), make.counter()
    submit(app, first, "shared-key-0000000001")
    with pytest.raises(AppError, match="Mã gửi phiếu không hợp lệ"):
        submit(app, second, "shared-key-0000000001")
    assert count_responses(app) == 1


def test_a_dossier_is_rated_once_whatever_the_key(app, make):
    from app.errors import ConflictError
    from app.surveys import services

    counter = make.counter()
    assert submit(app, counter, "dossier-first-key-0001", dossier="HS-9", value="3") is True
    assert submit(app, counter, "dossier-first-key-0001", dossier="HS-9", value="3") is False
    with pytest.raises(ConflictError):
        submit(app, counter, "dossier-other-key-0001", dossier="HS-9", value="2")
    with app.app_context():
        assert services.dossier_submission_key(counter.unit_id, "HS-9") == "dossier-first-key-0001"
        assert services.dossier_submission_key(counter.unit_id, "HS-10") is None
    assert count_responses(app) == 1


def test_dossier_codes_are_unique_per_issuing_unit_not_across_units(app, make):
    """Issue 17: two units numbering dossiers alike each get their rating (before: the second citizen was told
    "Hồ sơ này đã được đánh giá")."""
    from app.errors import ConflictError
    from app.surveys import services

    make.unit("DV-A", name="Đơn vị A")
    make.unit("DV-B", name="Đơn vị B")
    first, second = make.counter("DV-A"), make.counter("DV-B")
    assert submit(app, first, "dossier-unit-a-key-01", dossier="HS-2026-1", value="3") is True
    assert submit(app, second, "dossier-unit-b-key-01", dossier="HS-2026-1", value="2") is True
    with pytest.raises(ConflictError):
        submit(app, second, "dossier-unit-b-key-02", dossier="HS-2026-1", value="2")
    with app.app_context():
        assert services.dossier_submission_key(first.unit_id, "HS-2026-1") == "dossier-unit-a-key-01"
        assert services.dossier_submission_key(second.unit_id, "HS-2026-1") == "dossier-unit-b-key-01"
    assert count_responses(app) == 2


def test_the_client_hash_is_keyed_rotates_daily_and_hides_the_address():
    import hashlib
    import hmac

    from app.security import client_hash

    day = dt.date(2026, 5, 4)
    value = client_hash("secret", "203.0.113.9", "Mozilla/5.0", day)
    key = hmac.new(b"secret", b"client-hash:2026-05-04", hashlib.sha256).digest()
    assert value == hmac.new(key, b"203.0.113.9|Mozilla/5.0", hashlib.sha256).hexdigest()[:16]
    assert value != client_hash("secret", "203.0.113.9", "Mozilla/5.0", day + dt.timedelta(days=1))
    assert value != client_hash("other", "203.0.113.9", "Mozilla/5.0", day)
    assert "203" not in value


def test_a_stored_response_holds_no_address_or_browser_string(app, client, make):
    from tests.factories import full_answers

    counter = make.counter()
    headers = {"User-Agent": "Mozilla/5.0 (Linux; Android 9; Redmi 6A)"}
    data = full_answers(client.get(counter.path, headers=headers).get_data(as_text=True))
    client.post(counter.path, data=data, headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.23"})
    [row] = stored_responses(app)
    dumped = repr(tuple(row))
    assert "198.51.100.23" not in dumped and "Redmi" not in dumped
    assert len(row.client_hash) == 16


@pytest.mark.parametrize("wait_for_flush, during", [(True, "on"), (False, "off")])
def test_on_postgresql_a_response_may_skip_the_flush_wait_of_its_own_transaction_only(app, make, wait_for_flush,
                                                                                      during):
    from zoneinfo import ZoneInfo

    from app.extensions import db
    from app.surveys import services
    from tests.factories import form_data

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("synchronous_commit is a PostgreSQL setting (SQLite keeps its own: WAL, synchronous=NORMAL)")
    counter = make.counter()
    show = sa.text("SHOW synchronous_commit")
    with app.app_context():
        ref = services.get_counter_for_token(counter.token, app.config["SECRET_KEY"])
        form = services.get_response_form(ref)
        assert db.session.scalar(show) == "on"  # opens the session's transaction, which the insert then joins
        assert services.submit_response(ref, form, form.validate(form_data(form, "5")), submission_key="k" * 20,
                                         now=dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.timezone.utc),
                                         zone=ZoneInfo("Asia/Ho_Chi_Minh"), duration_ms=None, client_hash=None,
                                         wait_for_flush=wait_for_flush)
        assert db.session.scalar(show) == during
        db.session.commit()
        assert db.session.scalar(show) == "on"  # the next transaction on this connection waits again
    assert count_responses(app) == 1
