"""Authority follows the unit tree (issue 17, docs/permissions.md): one test per rule.

Each test failed before the rule was enforced in the services: a commune administrator imported into the shared
bank, a child contest showed a parent bank's keys, a commune set its own headcount to 1 and took the unit prize,
a switched-off unit's administrator kept signing in, using its API token and switched itself back on.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
import yaml

from tests.factories import csrf_from
from tests.security.conftest import ZONE, snapshot


def _questions(prefix: str, count: int = 8) -> bytes:
    rows = [{"code": f"{prefix}{i:03d}", "type": "single", "topic": "mot_cua", "difficulty": 1,
             "text": f"Câu hỏi {prefix} số {i}?", "options": [f"Phương án {c} câu {i}" for c in "ABCD"],
             "correct": [i % 4], "explanation": "Giải thích.", "source": "Thử"} for i in range(1, count + 1)]
    return yaml.safe_dump({"questions": rows}, allow_unicode=True).encode()


def _bank(app, code: str, unit_code: str | None) -> None:
    """Create a bank owned by a unit (None: shared), from the command line."""
    from app.auth.audit import COMMAND_LINE
    from app.contests import banks
    from app.contests.imports import parse_questions
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_unit_by_code

    with app.app_context():
        unit = get_unit_by_code(unit_code) if unit_code else None
        banks.import_questions(code, parse_questions("b.yaml", _questions(code.upper()[:3])), actor=COMMAND_LINE,
                               now=utcnow(), title=code, unit=unit)
        db.session.commit()


def _organiser(app, info):
    from app.auth.models import Organiser
    from app.extensions import db

    return db.session.get(Organiser, info.id)


def _post_import(client, bank: str):
    path = "/quan-tri/cuoc-thi/ngan-hang/nhap"
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "bank": bank, "title": "",
                                   "file": (io.BytesIO(_questions("ZZZ", 3)), "them.yaml")},
                       content_type="multipart/form-data")


# --- question banks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bank, owner", [("chung", None), ("tinh", "T"), ("xa-ben", "T-B")])
def test_a_commune_administrator_cannot_import_into_a_bank_it_does_not_own(app, world, login, bank, owner):
    _bank(app, bank, owner)
    client = login(world.a.administrator)
    before = snapshot(app, skip=("audit_log",))
    response = _post_import(client, bank)
    assert response.status_code == 403
    assert "không có quyền thêm câu hỏi" in response.get_data(as_text=True)
    assert snapshot(app, skip=("audit_log",)) == before


def test_the_bank_rule_holds_in_the_service_too(app, world):
    from app.contests import banks
    from app.contests.imports import parse_questions
    from app.database import utcnow
    from app.errors import PermissionDeniedError

    _bank(app, "chung", None)
    with app.app_context():
        rows = parse_questions("x.yaml", _questions("SVC", 3))
        with pytest.raises(PermissionDeniedError):
            banks.import_questions("chung", rows, actor=_organiser(app, world.a.administrator), now=utcnow())
        # The top-level administrator may; the commune may in its own bank.
        banks.import_questions("chung", rows, actor=_organiser(app, world.root), now=utcnow())
        _, added = banks.import_questions(world.a.bank_code, rows, actor=_organiser(app, world.a.administrator),
                                          now=utcnow())
        assert added == 3


# --- borrowed banks never show keys ------------------------------------------------------------------------------


def _definition(unit: str, bank: str, show_correct: str, opens: dt.datetime, closes: dt.datetime) -> dict:
    return {"slug": f"muon-{unit.lower()}-{show_correct.replace('_', '-')}", "title": "Cuộc thi mượn ngân hàng",
            "unit": unit, "audience_groups": [{"code": "cbccvc", "name": "Cán bộ"}],
            "rounds": [{"name": "Vòng 1", "opens_at": opens.astimezone(ZONE).strftime("%Y-%m-%d %H:%M"),
                        "closes_at": closes.astimezone(ZONE).strftime("%Y-%m-%d %H:%M"), "bank": bank,
                        "question_count": 4, "time_limit_minutes": 15, "show_correct": show_correct}]}


def test_a_child_contest_on_a_parents_bank_may_not_show_keys_immediately(app, world):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle
    from app.contests.spec import parse_contest
    from app.database import utcnow
    from app.validation import Rejected

    _bank(app, "tinh", "T")
    now = utcnow()
    with app.app_context():
        spec = parse_contest(_definition("T-A", "tinh", "immediately", now, now + dt.timedelta(days=2)), ZONE)
        with pytest.raises(Rejected) as refused:
            lifecycle.save_contest(spec, actor=COMMAND_LINE, now=now)
        assert "không được hiện đáp án ngay" in " ".join(str(p) for p in refused.value.problems)
        # The province itself may, on its own bank.
        spec = parse_contest(_definition("T", "tinh", "immediately", now, now + dt.timedelta(days=2)), ZONE)
        lifecycle.save_contest(spec, actor=COMMAND_LINE, now=now)


@pytest.mark.parametrize("owner", ["T", None])
def test_a_borrowed_bank_never_shows_keys_even_after_the_round_closes(app, world, owner):
    from app.auth.audit import COMMAND_LINE
    from app.contests import attempts, lifecycle
    from app.contests.spec import parse_contest
    from app.database import utcnow

    _bank(app, "muon", owner)
    now = utcnow()
    with app.app_context():
        spec = parse_contest(_definition("T-A", "muon", "after_round_close", now - dt.timedelta(days=3),
                                         now - dt.timedelta(days=1)), ZONE)
        contest, _ = lifecycle.save_contest(spec, actor=COMMAND_LINE, now=now)
        assert attempts.shows_key(contest, contest.rounds[0], ZONE, now) is False
        own = lifecycle.get_contest(world.a.contest_slug)
        assert attempts.shows_key(own, own.rounds[0], ZONE, own.rounds[0].closes_at + dt.timedelta(minutes=1))


# --- headcounts and participation rates --------------------------------------------------------------------------


def test_participation_rates_are_capped_at_100_percent():
    from app.stats.ranking import unit_ranking

    ranking = unit_ranking(["A", "B"], [1, 27], [f"p{i}" for i in range(22 + 22)], ["A"] * 22 + ["B"] * 22,
                           [50.0] * 44, min_rate=70)
    assert list(ranking.rate) == [100.0, 81.48]


def test_a_unit_cannot_set_its_own_headcount_but_its_parent_can(app, world):
    from app.errors import PermissionDeniedError
    from app.extensions import db
    from app.units import services
    from app.units.models import Unit

    with app.app_context():
        unit = db.session.get(Unit, world.a.unit_id)
        with pytest.raises(PermissionDeniedError):
            services.edit_unit(_organiser(app, world.a.administrator), unit, name=unit.name, kind=unit.kind,
                               headcount=1, block=unit.block, now=dt.datetime.now(dt.timezone.utc))
        # Its name it may change; the province sets the headcount.
        services.edit_unit(_organiser(app, world.a.administrator), unit, name="Xã Đổi Tên", kind=unit.kind,
                           headcount=unit.headcount, block=unit.block, now=dt.datetime.now(dt.timezone.utc))
        services.edit_unit(_organiser(app, world.root), unit, name=unit.name, kind=unit.kind, headcount=40,
                           block=unit.block, now=dt.datetime.now(dt.timezone.utc))
        assert unit.headcount == 40


def test_headcounts_are_frozen_when_results_are_published(app, world):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle, results
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        db.session.get(Unit, world.a.unit_id).headcount = 27
        contest = lifecycle.get_contest(world.a.contest_slug)
        lifecycle.change_status(contest, "close", actor=COMMAND_LINE, now=utcnow(), zone=ZONE)
        lifecycle.change_status(contest, "publish_results", actor=COMMAND_LINE, now=utcnow(), zone=ZONE)
        db.session.commit()
        assert contest.unit_headcounts == {str(world.a.unit_id): 27}
        db.session.get(Unit, world.a.unit_id).headcount = 1
        db.session.commit()
        from app import cache

        cache.contest_results.invalidate()
        lines = results.contest_results(lifecycle.get_contest(world.a.contest_slug), ZONE).units
        assert [(line.unit_id, line.headcount) for line in lines] == [(world.a.unit_id, 27)]


# --- switched-off units ------------------------------------------------------------------------------------------


def _switch_off(app, code: str) -> None:
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        db.session.execute(sa.update(Unit).where(Unit.code == code).values(is_active=False))
        db.session.commit()


@pytest.mark.parametrize("switched", ["T-A", "T"])
def test_a_switched_off_units_accounts_cannot_sign_in_or_go_on(app, world, login, switched):
    """Switching the unit off (or only a unit above it, its own flag still on) ends its organisers' sessions."""
    from tests.factories import log_in

    client = login(world.a.administrator)
    assert client.get("/quan-tri/don-vi").status_code == 200
    _switch_off(app, switched)
    assert client.get("/quan-tri/don-vi").status_code in (302, 303, 401)
    response = log_in(app.test_client(), world.a.administrator.email, world.a.administrator.password)
    assert response.status_code != 303
    assert "Đơn vị của tài khoản này đang ngừng hoạt động" in response.get_data(as_text=True)


def test_a_switched_off_units_api_token_is_refused(app, world):
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        _, secret = issue_token("Một cửa", db.session.get(Unit, world.a.unit_id), utcnow())
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    _switch_off(app, "T")  # only the province: the commune's own flag stays on
    assert client.get("/api/v1/units", headers=headers).status_code == 401


def test_only_an_ancestor_may_switch_a_unit_back_on(app, world):
    from app.errors import PermissionDeniedError
    from app.extensions import db
    from app.units import services
    from app.units.models import Unit

    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        unit = db.session.get(Unit, world.a.unit_id)
        services.set_unit_active(_organiser(app, world.root), unit, False, now)
        with pytest.raises(PermissionDeniedError):
            services.set_unit_active(_organiser(app, world.a.administrator), unit, True, now)
        assert services.set_unit_active(_organiser(app, world.root), unit, True, now) == 1
