"""The contest part of the periodic report counts in SQL what the contest's results compute from every attempt: the
same completers and, per unit with a headcount, the same completers, headcount and participation rate."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from tests.contests.helpers import finished_attempt, local, register
from tests.documents.test_periodic import site  # noqa: F401  (a fixture)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _both(app, contest_id: int) -> tuple:
    """The document's participation lines and the contest results' own figures, side by side."""
    from app import cache
    from app.contests.models import Contest
    from app.contests.results import contest_results
    from app.documents.periodic import contest_participation
    from app.extensions import db
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    with app.app_context():
        cache.caches.clear()
        [line] = contest_participation(get_unit_by_code("T"), parse_period("2026-Q1"), ZONE)
        results = contest_results(db.session.get(Contest, contest_id), ZONE)
        return ((line.completers, [(u.name, u.headcount, u.completers, u.rate) for u in line.units]),
                (len(results.overall), [(u.name, u.headcount, u.completers, u.rate) for u in results.units]),
                line)


def test_the_documents_participation_equals_the_contests_results(app, site, units):  # noqa: F811
    from app.contests.models import Participant
    from app.extensions import db
    from app.units.models import Unit
    from app.units.services import create_unit

    with app.app_context():
        hamlet = create_unit("T-XA-1", "Thôn Một", kind="other", parent=db.session.get(Unit, units["T-XA"]))
        db.session.commit()
        units = {**units, "T-XA-1": hamlet.id}
    # A person of a unit without a headcount counts for the nearest unit above with one (T-XA); an excluded
    # participant and one who registered without finishing count for nobody; a second finished attempt of the
    # same person counts once.
    finished_attempt(app, site.id, "0912345603", 3, units=units, unit="T-XA-1", name="Phạm Văn Dũng", seed=3,
                     questions=6)
    excluded, _ = finished_attempt(app, site.id, "0912345604", 6, units=units, unit="T-XA", name="Đỗ Thị Hà",
                                   seed=4, questions=6)
    register(app, site.id, "0912345605", units=units, unit="T-XA", name="Vũ Văn Khang", now=local("2026-03-02 06:00"))
    with app.app_context():
        db.session.get(Participant, excluded).excluded = True
        db.session.commit()
    document, results, line = _both(app, site.id)
    assert document == results
    assert line.registered == 5 and line.completers == 3
    assert ("Xã Thử", 4, 2, 50.0) in document[1]


def test_after_publication_the_frozen_headcounts_are_used_as_in_the_results(app, site, units):  # noqa: F811
    from app.contests.models import Contest
    from app.contests.results import freeze_headcounts
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        freeze_headcounts(db.session.get(Contest, site.id))
        db.session.get(Unit, units["T-SNV"]).headcount = 3  # changed after publication: the report keeps 10
        db.session.commit()
    document, results, _ = _both(app, site.id)
    assert document == results
    assert ("Sở Nội vụ Thử", 10, 1, 10.0) in document[1]
