"""Fixtures of the contest suites: a unit tree, a generated question bank, contests built from definitions."""
from __future__ import annotations

import pytest
import yaml

from tests.contests.helpers import ZONE, ContestInfo, definition, local, question_rows


@pytest.fixture(autouse=True)
def _forget_contest_caches():
    """Each test starts with empty caches (ids are reused once tables are emptied)."""
    yield
    from app.cache import caches

    caches.clear()


@pytest.fixture
def units(app) -> dict[str, int]:
    """A province T with a department (headcount 10) and a commune (headcount 4), and another tenant X."""
    from app.extensions import db
    from app.units.services import create_unit

    with app.app_context():
        root = create_unit("T", "Tỉnh Thử Nghiệm", kind="province")
        department = create_unit("T-SNV", "Sở Nội vụ Thử", kind="department", parent=root, headcount=10,
                                 block="hanh_chinh")
        commune = create_unit("T-XA", "Xã Thử", kind="commune", parent=root, headcount=4, block="xa")
        other = create_unit("X", "Tỉnh Khác", kind="province")
        db.session.commit()
        return {"T": root.id, "T-SNV": department.id, "T-XA": commune.id, "X": other.id}


@pytest.fixture
def bank(app, units) -> str:
    """A bank of 30 generated single-choice questions; returns its code."""
    from app.auth.audit import COMMAND_LINE
    from app.contests.banks import import_questions
    from app.contests.imports import parse_questions
    from app.extensions import db

    data = yaml.safe_dump({"questions": question_rows(30)}, allow_unicode=True).encode()
    with app.app_context():
        import_questions("bank-a", parse_questions("bank.yaml", data), actor=COMMAND_LINE,
                         now=local("2026-01-01 08:00"), title="Thử")
        db.session.commit()
    return "bank-a"


@pytest.fixture
def make_contest(app, units, bank):
    """Build a contest from a definition (see `definition`), optionally opened; return ContestInfo."""
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle
    from app.contests.spec import parse_contest
    from app.extensions import db

    def build(open_it: bool = True, **options) -> ContestInfo:
        with app.app_context():
            spec = parse_contest(definition(**options), ZONE)
            contest, _ = lifecycle.save_contest(spec, actor=COMMAND_LINE, now=local("2026-01-01 09:00"))
            if open_it:
                lifecycle.change_status(contest, "open", actor=COMMAND_LINE, now=local("2026-01-01 09:00"), zone=ZONE)
            db.session.commit()
            return ContestInfo(contest.id, contest.slug, tuple(r.id for r in contest.rounds), units)

    return build


