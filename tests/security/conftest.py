"""A two-tenant world for the security suites, and the route table they walk (every rule of app.url_map).

Province T has two sibling communes, T-A and T-B. Each has a counter with responses and comments, a one-time
dossier link, an administrator and a viewer, a question bank, an open contest with a participant who has an
attempt. A root administrator sits at T. Texts may carry a payload (XSS or spreadsheet formulas).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.factories import CounterInfo, OrganiserInfo

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
#: Methods that change state: each must carry a CSRF token (or, under /api/, a bearer token and no cookie).
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Tenant:
    """One commune's objects, as plain values."""

    code: str
    unit_id: int
    counter: CounterInfo
    administrator: OrganiserInfo
    viewer: OrganiserInfo
    dossier_path: str
    response_ids: list[int]
    field_id: int
    contest_slug: str | None = None
    bank_code: str | None = None
    participant_id: int | None = None
    attempt_id: int | None = None
    participant_password: str = "mat-khau-thi-sinh-1"
    phone: str = ""


@dataclass
class World:
    """Two sibling tenants under a root, and the root's administrator."""

    a: Tenant
    b: Tenant
    root: OrganiserInfo
    extras: dict = field(default_factory=dict)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(dt.timezone.utc)


def add_contest(app, tenant: Tenant, *, title: str, question_text: str, participant_name: str) -> None:
    """Give a tenant a bank (with `question_text` in it), an open contest, a participant and a started attempt."""
    import numpy as np
    import yaml

    from app.auth.audit import COMMAND_LINE
    from app.contests import attempts, banks, lifecycle, participants
    from app.contests.imports import parse_questions
    from app.contests.spec import parse_contest
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    now = utcnow()
    slug = f"thi-{tenant.code.lower()}"
    bank_code = f"bank-{tenant.code.lower()}"
    rows = [{"code": f"Q{i:03d}", "type": "single", "topic": "mot_cua", "difficulty": 1,
             "text": f"{question_text} số {i}?" if i == 1 else f"Câu hỏi {i} của {tenant.code}?",
             "options": [f"Phương án {letter} câu {i}" for letter in "ABCD"], "correct": [i % 4],
             "explanation": f"Giải thích {i}.", "source": "Thử"} for i in range(1, 9)]
    definition = {"slug": slug, "title": title, "unit": tenant.code,
                  "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"}],
                  "rounds": [{"name": "Vòng 1", "opens_at": (now - dt.timedelta(days=1)).astimezone(ZONE)
                              .strftime("%Y-%m-%d %H:%M"),
                              "closes_at": (now + dt.timedelta(days=5)).astimezone(ZONE).strftime("%Y-%m-%d %H:%M"),
                              "bank": bank_code, "question_count": 4, "time_limit_minutes": 15}]}
    with app.app_context():
        unit = db.session.get(Unit, tenant.unit_id)
        banks.import_questions(bank_code, parse_questions("bank.yaml", yaml.safe_dump(
            {"questions": rows}, allow_unicode=True).encode()), actor=COMMAND_LINE, now=now,
            title=f"Ngân hàng {tenant.code}", unit=unit)
        contest, _ = lifecycle.save_contest(parse_contest(definition, ZONE), actor=COMMAND_LINE, now=now)
        lifecycle.change_status(contest, "open", actor=COMMAND_LINE, now=now, zone=ZONE)
        tenant.phone = "0912345" + str(100 + tenant.unit_id % 900).zfill(3)
        participant = participants.register_participant(contest, participants.Registration(
            tenant.phone, participant_name, "15/04/1990", str(unit.id), "cbccvc", "",
            tenant.participant_password, tenant.participant_password, True),
            now=now, zone=ZONE, secret=app.config["SECRET_KEY"])
        attempt = attempts.start_attempt(contest, lifecycle.get_round(contest, 1), participant, now=now, zone=ZONE,
                                         rng=np.random.default_rng(1))
        db.session.commit()
        tenant.contest_slug, tenant.bank_code = slug, bank_code
        tenant.participant_id, tenant.attempt_id = participant.id, attempt.id


def build_world(app, make, text: str = "", *, contests: bool = True) -> World:
    """Create the two tenants; every name, title and comment starts with `text` (a payload, or nothing)."""
    make.unit("T", name=f"{text}Tỉnh Thử", kind="province")
    tenants = []
    for code in ("T-A", "T-B"):
        unit_id = make.unit(code, name=f"{text}Xã {code}", parent="T", kind="commune")
        counter = make.counter(code, code=f"Q-{code}", name=f"{text}Quầy {code}", fields=(f"F{code[-1]}",))
        responses = [make.response(counter, comment=f"{text}Góp ý {code}", score=score) for score in (2, 4, 5)]
        tenant = Tenant(code, unit_id, counter,
                        make.organiser(code, role="administrator", email=f"admin-{code.lower()}@thu.gov.vn",
                                       name=f"{text}Quản trị {code}"),
                        make.organiser(code, role="viewer", email=f"viewer-{code.lower()}@thu.gov.vn"),
                        make.dossier_path(counter, f"HS-{code}-0001"), responses, field_id_of(app, f"F{code[-1]}"))
        if contests:
            # Registration accepts only a person's name (letters, spaces): the payload cannot get in there.
            add_contest(app, tenant, title=f"{text}Cuộc thi {code}", question_text=f"{text}Câu hỏi {code}",
                        participant_name=f"Nguyễn Văn {code[-1]}")
        tenants.append(tenant)
    root = make.organiser("T", role="administrator", email="admin-root@thu.gov.vn")
    rename_field(app, tenants[0].field_id, f"{text}Lĩnh vực A")
    return World(tenants[0], tenants[1], root)


def field_id_of(app, code: str) -> int:
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        return db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == code))


def rename_field(app, field_id: int, name: str) -> None:
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        db.session.get(ServiceField, field_id).name = name
        db.session.commit()


@pytest.fixture
def world(app, make) -> World:
    """Two sibling tenants with plain names."""
    return build_world(app, make)


def snapshot(app, *, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Return every row of every table (as sorted text), to prove a refused request changed nothing."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
                for table in db.metadata.sorted_tables if table.name not in skip}


def rules(app, methods: set[str]) -> list:
    """Return the url_map rules that accept any of `methods`, in a stable order."""
    return sorted((rule for rule in app.url_map.iter_rules() if rule.methods & methods), key=lambda r: r.rule)


def argument_values(rule, tenant: Tenant, app) -> dict[str, list]:
    """Return candidate values for every argument of a rule, taken from `tenant` (every choice of an any())."""
    from werkzeug.routing.converters import AnyConverter

    samples = {
        "unit_id": [tenant.unit_id], "counter_id": [tenant.counter.id], "field_id": [tenant.field_id],
        "organiser_id": [tenant.viewer.id], "slug": [tenant.contest_slug], "code": [tenant.bank_code],
        "number": [1], "attempt_id": [tenant.attempt_id], "participant_id": [tenant.participant_id],
        "filename": ["css/app.css"], "anything": ["x"], "response_id": tenant.response_ids[:1],
        "name": chart_names(), "job_id": [1],
        # PAKN (/phan-anh, /quan-tri/phan-anh): an action of the state machine and a file; tests/feedback covers
        # their tenancy with real feedback.
        "action": ["accept"], "attachment_id": [1],
        # The public portal: a unit by its code, a period as the command line writes it, an image's version.
        "unit": [tenant.code], "period": [str(dt.date.today().year)], "version": [1],
    }
    values: dict[str, list] = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)
        elif name == "token":
            values[name] = [token_for(rule, tenant, app)]
        elif name in samples:
            values[name] = samples[name]
        else:
            pytest.fail(f"security suites: no sample value for <{name}> in {rule.rule}; add one to argument_values")
    return values


def chart_names() -> list[str]:
    """Return the names of the dashboard's SVG charts."""
    from app.organiser.charts import CHARTS

    return sorted(CHARTS)


def token_for(rule, tenant: Tenant, app) -> str:
    """Return a real token for a token route: counter survey, dossier link or certificate."""
    if rule.rule.startswith("/s/"):
        return tenant.counter.token
    if rule.rule.startswith("/d/"):
        return tenant.dossier_path.removeprefix("/d/")
    return "chua-co-ma"  # certificate verification: any text is a valid (unknown) token


def paths(rule, tenant: Tenant, app) -> list[str]:
    """Return every concrete path of a rule for a tenant (one per combination of any() choices).

    Organiser paths carry the tenant's unit and a period in the query, as chart and download links do.
    """
    import itertools

    values = argument_values(rule, tenant, app)
    names = list(values)
    built = []
    for combination in itertools.product(*(values[name] for name in names)):
        path = rule.rule
        for name, value in zip(names, combination):
            path = re.sub(rf"<(?:[^<>]*:)?{name}>", str(value), path)
        if path.startswith("/quan-tri/"):
            path += f"?unit={tenant.unit_id}&period={dt.date.today().year}"
        built.append(path)
    return built


def contest_login(client, tenant: Tenant):
    """Sign the tenant's participant in to their contest."""
    from tests.contests.helpers import hidden_fields

    path = f"/thi/{tenant.contest_slug}/dang-nhap"
    token = hidden_fields(client.get(path).get_data(as_text=True))["csrf_token"]
    response = client.post(path, data={"csrf_token": token, "phone": tenant.phone,
                                       "password": tenant.participant_password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client
