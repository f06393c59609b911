"""Synthetic attempts and the demo contest: bulk rows that the reports read like real ones."""
from __future__ import annotations

import numpy as np

from tests.contests.helpers import ZONE, count_rows, local


def test_synthesised_attempts_are_complete_and_reported(app, units, runner):
    from app.contests.models import Attempt, Participant
    from app.contests.reports import contest_report
    from app.contests.lifecycle import get_contest
    from app.contests.synth import synthesise_attempts
    from app.extensions import db

    with app.app_context():
        stored = synthesise_attempts(150, np.random.default_rng(7), local("2026-05-01 12:00"))
        stored += synthesise_attempts(50, np.random.default_rng(8), local("2026-05-01 12:00"))
        db.session.commit()
        report = contest_report(get_contest("thi-tong-hop"), ZONE, 1)
        attempts = db.session.scalars(db.select(Attempt)).all()
    assert stored == 200 and count_rows(app, Attempt) == 200 and count_rows(app, Participant) == 200
    assert all(len(a.question_ids) == 80 and len(a.marks) == 20 and a.score == sum(a.marks) for a in attempts)
    assert all(a.started_at < a.submitted_at <= a.deadline_at for a in attempts)
    assert report["test"]["n"] == 200 and len(report["ranking"]) == 200
    assert report["test"]["alpha"] > 0.5 and 20 < report["test"]["mean"] < 90


def test_the_demo_contest_is_seeded_once(app, units):
    from app.contests.models import Contest
    from app.contests.synth import seed_demo_contest
    from app.extensions import db
    from app.units.services import create_unit

    with app.app_context():
        root = create_unit("AK", "Tỉnh An Khang", kind="province")
        create_unit("AK-SNV", "Sở Nội vụ", kind="department", parent=root, headcount=20)
        first = seed_demo_contest(local("2026-05-01 12:00"), np.random.default_rng(1), participants=30)
        again = seed_demo_contest(local("2026-05-01 12:00"), np.random.default_rng(1), participants=30)
        db.session.commit()
        contest = db.session.scalar(db.select(Contest))
        windows = [(r.opens_at, r.closes_at) for r in contest.rounds]
    assert (first, again) == (True, False) and count_rows(app, Contest) == 1
    assert contest.status == "open" and windows[0][1] < local("2026-05-01 12:00") < windows[1][1]


def test_demo_names_are_natural_and_gendered():
    from app.contests.synth import GIVEN, MIDDLE, vietnamese_names

    names = vietnamese_names(np.random.default_rng(3), 6000)
    parts = [name.split() for name in names]
    assert all(len(p) == 3 for p in parts)
    male_only = set(GIVEN["nam"]) - set(GIVEN["nu"])
    female_only = set(GIVEN["nu"]) - set(GIVEN["nam"])
    assert not [n for n in parts if n[1] == "Thị" and n[2] in male_only]  # no "Huỳnh Thị Hùng"
    assert not [n for n in parts if n[1] == "Văn" and n[2] in female_only]
    share = sum(p[0] == "Nguyễn" for p in parts) / len(parts)
    assert 0.34 < share < 0.43
    assert set(p[1] for p in parts) <= set(MIDDLE["nam"]) | set(MIDDLE["nu"])


def test_most_demo_participants_predict_and_the_bank_cites_documents_only(app, units):
    import re
    from pathlib import Path

    from app.contests.models import Attempt
    from app.contests.synth import BANK_FILE, synthesise_attempts
    from app.extensions import db

    with app.app_context():
        synthesise_attempts(300, np.random.default_rng(5), local("2026-05-01 12:00"))
        predictions = [a.prediction for a in db.session.scalars(db.select(Attempt))]
    assert sum(p is not None for p in predictions) / len(predictions) > 0.8
    sources = re.findall(r'source: "([^"]*)"', Path(BANK_FILE).read_text(encoding="utf-8"))
    assert sources and all(re.search(r"\b(QĐ|NĐ|TT|Luật|Kế hoạch|Chỉ thị|Công văn|Phiếu khảo sát)\b", s)
                           for s in sources), [s for s in sources if not re.search(r"QĐ|NĐ|TT|Luật", s)]
    assert not [s for s in sources if re.search(r"\.md|\.yaml|DESIGN|TTXVN|Lao Động|báo ", s)]
