"""The SIPAS report service, its files, CLI and API, checked against figures worked out by hand in this file.

The main site: province P with communes P-A and P-B. In 2026-Q2, P-A has 12 responses (9 answer 5 everywhere,
3 answer 2 everywhere) and P-B has 10 (4 answer 4, 6 answer 3); in 2026-Q1 P-A has 10 (5 × 5, 5 × 1). Every
response answers all criteria alike, so every criterion share equals the share of satisfied respondents.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math

import openpyxl
import pytest
import sqlalchemy as sa
from statsmodels.stats.proportion import proportion_confint

from tests.organiser.reporting import UTC, store, store_many, vector

Z = 1.959963984540054
APRIL, MAY, MARCH = dt.date(2026, 4, 10), dt.date(2026, 5, 20), dt.date(2026, 3, 15)
NOW = dt.datetime(2026, 7, 2, 3, 0, tzinfo=UTC)


def wald(p: float, n: int) -> tuple[float, float]:
    """p ± z·√(p(1 − p)/n) in points: the linearised interval when each respondent answers all criteria alike."""
    half = Z * math.sqrt(p * (1 - p) / n)
    return round(100 * max(p - half, 0), 2), round(100 * min(p + half, 1), 2)


def wilson(successes: int, n: int) -> tuple[float, float]:
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return round(100 * low, 2), round(100 * high, 2)


@pytest.fixture
def site(app, make):
    """P → P-A, P-B with a counter each (fields HO_TICH, DAT_DAI) and the responses described above."""
    for code, parent in (("P", None), ("P-A", "P"), ("P-B", "P")):
        make.unit(code, name=f"Đơn vị {code}", parent=parent)
    counters = {"A": make.counter("P-A", code="QA"), "B": make.counter("P-B", code="QB")}
    store_many(app, counters["A"], vector(5), 9, day=APRIL, field="HO_TICH")
    store_many(app, counters["A"], vector(2), 3, day=APRIL, field="DAT_DAI")
    store_many(app, counters["B"], vector(4), 4, day=MAY, field="HO_TICH")
    store_many(app, counters["B"], vector(3), 6, day=MAY, field="HO_TICH")
    store_many(app, counters["A"], vector(5), 5, day=MARCH, field="HO_TICH")
    store_many(app, counters["A"], vector(1), 5, day=MARCH, field="HO_TICH")
    return counters


def report(app, unit: str = "P", period: str = "2026-Q2", **options):
    from app.extensions import db
    from app.organiser.reports import report_for_code

    with app.app_context():
        result = report_for_code(unit, period, now=NOW, **options)
        db.session.commit()
        return result


def data(app, unit: str = "P", period: str = "2026-Q2", **options) -> dict:
    from app.organiser.report_files import report_data

    return report_data(report(app, unit, period, **options))


def test_overall_element_and_criterion_indices_match_hand_arithmetic(app, site):
    result = data(app)
    p = 13 / 22  # 9 + 4 satisfied respondents of 22
    assert result["responses"] == 22
    assert result["overall"] == {"value": 59.09, "n": 22, "ci_low": wald(p, 22)[0], "ci_high": wald(p, 22)[1],
                                 "flags": ["small_sample", "wide_interval"]}
    assert [e["code"] for e in result["elements"]] == ["TC", "TTHC", "CC", "KQ", "PAKN"]
    for element in result["elements"]:
        assert (element["value"], element["n"]) == (59.09, 22)
        assert (element["ci_low"], element["ci_high"]) == wald(p, 22)
        assert element["alpha"] == 1.0  # identical criteria within every respondent
    assert len(result["criteria"]) == 22 and result["criteria"][0]["element"] == "TC"
    for criterion in result["criteria"]:
        assert (criterion["value"], criterion["n"]) == (59.09, 22)
        assert (criterion["ci_low"], criterion["ci_high"]) == wilson(13, 22)
        assert criterion["mean"] == round((9 * 5 + 3 * 2 + 4 * 4 + 6 * 3) / 22, 2)


def test_children_are_ranked_and_marked_not_significantly_different(app, site):
    children = {child["unit"]: child for child in data(app)["children"]}
    assert list(children) == ["P-A", "P-B"]
    a, b = children["P-A"], children["P-B"]
    assert (a["value"], a["n"], (a["ci_low"], a["ci_high"])) == (75.0, 12, wald(0.75, 12))
    assert (b["value"], b["n"], (b["ci_low"], b["ci_high"])) == (40.0, 10, wald(0.4, 10))
    # z = 35 / √(12.5² + 15.49²) = 1.76, p = 0.079 > 0.05: the ranks 1 and 2 are not supported by the data
    z = 35 / math.hypot(100 * math.sqrt(0.75 * 0.25 / 12), 100 * math.sqrt(0.4 * 0.6 / 10))
    assert 1.7 < z < 1.8
    assert (a["rank"], a["best_rank"], a["worst_rank"], a["not_different_from"]) == (1, 1, 2, ["P-B"])
    assert (b["rank"], b["best_rank"], b["worst_rank"], b["not_different_from"]) == (2, 1, 2, ["P-A"])
    assert not a["own"] and a["flagged"] == 0


def test_comparison_with_the_previous_quarter_uses_z_for_indices_and_chi_square_for_criteria(app, site):
    comparison = data(app)["comparison"]
    assert comparison["period"] == {"label": "2026-Q1", "start": "2026-01-01", "end": "2026-03-31"}
    assert comparison["responses"] == 10
    before, after = 0.5, 13 / 22
    se = 100 * math.hypot(math.sqrt(before * (1 - before) / 10), math.sqrt(after * (1 - after) / 22))
    difference = 100 * (after - before)
    overall = comparison["overall"]
    assert (overall["previous"], overall["current"], overall["difference"]) == (50.0, 59.09, round(difference, 2))
    assert overall["test"] == "z"
    assert overall["ci_low"] == round(difference - Z * se, 2) and overall["ci_high"] == round(difference + Z * se, 2)
    assert overall["p_value"] == pytest.approx(math.erfc(abs(difference / se) / math.sqrt(2)), abs=1e-6)
    # 2 × 2 table satisfied / not: Q1 5 / 5, Q2 13 / 9; Pearson without continuity correction
    table, total = [[5, 5], [13, 9]], 32
    chi2 = sum((table[r][c] - sum(table[r]) * (table[0][c] + table[1][c]) / total) ** 2
               / (sum(table[r]) * (table[0][c] + table[1][c]) / total) for r in range(2) for c in range(2))
    criterion = comparison["criteria"][0]
    assert (criterion["code"], criterion["test"]) == ("TC1", "chi-square")
    assert criterion["statistic"] == pytest.approx(chi2, abs=1e-4)
    assert criterion["p_value"] == pytest.approx(math.erfc(math.sqrt(chi2) / math.sqrt(2)), abs=1e-6)
    assert criterion["difference"] == 9.09


def test_trend_by_month_and_its_weighted_least_squares_slope(app, site):
    trend = data(app)["trend"]
    assert trend["granularity"] == "month"
    labels = [point["label"] for point in trend["points"]]
    assert labels[0] == "2025-07" and labels[-1] == "2026-06" and len(labels) == 12
    by_label = {point["label"]: point for point in trend["points"]}
    assert (by_label["2026-03"]["value"], by_label["2026-03"]["n"]) == (50.0, 10)
    assert (by_label["2026-04"]["value"], by_label["2026-05"]["value"]) == (75.0, 40.0)
    assert by_label["2026-06"]["value"] is None and "suppressed" in by_label["2026-06"]["flags"]
    # WLS on months 8, 9, 10 of the window with weights 1/se² (se in points)
    times, values = [8, 9, 10], [50.0, 75.0, 40.0]
    weights = [1 / (100 * math.sqrt(p * (1 - p) / n)) ** 2 for p, n in ((0.5, 10), (0.75, 12), (0.4, 10))]
    centre = sum(w * t for w, t in zip(weights, times)) / sum(weights)
    spread = sum(w * (t - centre) ** 2 for w, t in zip(weights, times))
    slope = sum(w * (t - centre) * v for w, t, v in zip(weights, times, values)) / spread
    assert trend["slope"] == round(slope, 4)
    assert trend["slope_se"] == round(1 / math.sqrt(spread), 4)


def test_daily_counts_service_fields_and_method(app, site):
    result = data(app)
    daily = {day["date"]: day["responses"] for day in result["daily"]}
    assert len(daily) == 91 and daily["2026-04-10"] == 12 and daily["2026-05-20"] == 10
    assert sum(daily.values()) == 22
    fields = {field["code"]: field for field in result["service_fields"]}
    # HO_TICH: 9 + 4 satisfied of 9 + 10; DAT_DAI: 3 responses, below the suppression threshold of 10
    assert (fields["HO_TICH"]["value"], fields["HO_TICH"]["n"]) == (round(100 * 13 / 19, 2), 19)
    assert (fields["DAT_DAI"]["value"], fields["DAT_DAI"]["n"]) == (None, 3)
    assert "suppressed" in fields["DAT_DAI"]["flags"]
    assert result["method"]["satisfied"] == [4, 5] and result["method"]["overall_rule"] == "mean_of_elements"
    assert result["method"]["min_n"] == 10
    assert (result["instrument"]["code"], result["instrument"]["version"]) == ("sipas-counter", 1)


def test_children_test_is_kruskal_wallis_on_respondent_mean_scores(app, site):
    from scipy.stats import kruskal

    test = data(app)["children_test"]
    expected = kruskal([5] * 9 + [2] * 3, [4] * 4 + [3] * 6)
    assert test["test"] == "kruskal-wallis" and test["dof"] == 1 and test["n"] == 22
    assert test["statistic"] == pytest.approx(expected.statistic, abs=1e-4)
    assert test["p_value"] == pytest.approx(expected.pvalue, abs=1e-6)


def test_weighted_indices_follow_the_dossier_volumes_of_unit_and_field(app, site):
    from app.extensions import db
    from app.organiser.aggregates import DossierVolume
    from app.units.models import ServiceField, Unit

    with app.app_context():
        ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
        fields = dict(db.session.execute(sa.select(ServiceField.code, ServiceField.id)).all())
        for unit, field, dossiers in (("P-A", "HO_TICH", 100), ("P-A", "DAT_DAI", 300), ("P-B", "HO_TICH", 100)):
            db.session.add(DossierVolume(unit_id=ids[unit], service_field_id=fields[field], month=dt.date(2026, 4, 1),
                                         dossiers=dossiers))
        db.session.commit()
    weighted = data(app)["weighted"]
    # Σ_h N_h/N · p_h = 0.2 · 1 + 0.6 · 0 + 0.2 · 0.4
    assert weighted["overall"]["value"] == 28.0
    assert all(element["value"] == 28.0 for element in weighted["elements"])
    assert weighted["dossiers"] == 500 and weighted["unweighted_responses"] == 0
    assert weighted["uncovered_volume_share"] == 0.0
    weights = [100 / 500 * 22 / 9] * 9 + [300 / 500 * 22 / 3] * 3 + [100 / 500 * 22 / 10] * 10
    assert weighted["effective_n"] == round(sum(weights) ** 2 / sum(w * w for w in weights), 1)


def test_without_dossier_volumes_there_is_no_weighted_variant(app, site):
    assert data(app)["weighted"] is None


def test_a_unit_with_no_responses_gets_an_empty_report(app, site, make):
    make.unit("P-C", parent="P")
    result = data(app, "P-C")
    assert result["responses"] == 0
    assert result["overall"]["value"] is None and result["overall"]["n"] == 0
    assert "suppressed" in result["overall"]["flags"]
    assert all(criterion["n"] == 0 and criterion["value"] is None for criterion in result["criteria"])
    assert all(element["alpha"] is None for element in result["elements"])
    assert result["children"] == [] and sum(day["responses"] for day in result["daily"]) == 0
    assert result["comparison"]["responses"] == 0 and result["comparison"]["overall"]["difference"] is None


def test_cells_below_the_minimum_n_are_suppressed_and_one_respondent_is_safe(app, make):
    make.unit("S")
    counter = make.counter("S", code="QS")
    store(app, counter, vector(5), day=APRIL, field="HO_TICH")
    single = data(app, "S")
    assert single["overall"] == {"value": None, "n": 1, "ci_low": None, "ci_high": None,
                                 "flags": ["small_sample", "suppressed"]}
    assert single["elements"][0]["alpha"] is None and single["elements"][0]["alpha_n"] == 1
    store_many(app, counter, vector(4), 8, day=APRIL, field="HO_TICH")
    assert data(app, "S")["overall"]["value"] is None  # 9 < 10
    store(app, counter, vector(1), day=MAY, field="HO_TICH")
    ten = data(app, "S")["overall"]
    assert (ten["value"], ten["n"]) == (90.0, 10) and "suppressed" not in ten["flags"]


def test_missing_answers_leave_only_their_criterion(app, make):
    make.unit("M")
    counter = make.counter("M", code="QM")
    # TC1 unanswered by 4 of 14 respondents: its n is 10; every other TC criterion has 14
    store_many(app, counter, vector(5, TC=[0, 5, 5, 5]), 4, day=APRIL, field="HO_TICH")
    store_many(app, counter, vector(2, TC=[4, 2, 2, 2]), 10, day=APRIL, field="HO_TICH")
    result = data(app, "M")
    criteria = {criterion["code"]: criterion for criterion in result["criteria"]}
    assert (criteria["TC1"]["value"], criteria["TC1"]["n"]) == (100.0, 10)
    assert (criteria["TC2"]["value"], criteria["TC2"]["n"]) == (round(100 * 4 / 14, 2), 14)
    element = result["elements"][0]
    assert (element["value"], element["n"]) == (round((100 + 3 * 100 * 4 / 14) / 4, 2), 14)
    assert element["alpha_n"] == 10  # listwise within the element


def test_versions_and_instrument_kinds_are_never_mixed(app, site):
    from app.extensions import db
    from app.surveys.instruments import load_instrument, parse_instrument
    from app.surveys.services import publish_instrument
    from tests.factories import ROOT

    with app.app_context():
        definition = dict(load_instrument(ROOT / "surveys" / "sipas-counter-v1.yaml").definition, version=2)
        publish_instrument(parse_instrument(definition))
        db.session.commit()
    store_many(app, site["A"], vector(1), 10, day=dt.date(2026, 6, 1), field="HO_TICH", version=2)
    store_many(app, site["A"], bytes([3]), 10, day=dt.date(2026, 6, 2), code="dossier-rating")
    newest = data(app)
    assert (newest["instrument"]["version"], newest["responses"]) == (2, 10)
    assert newest["overall"]["value"] == 0.0
    assert newest["other_versions"] == [{"code": "sipas-counter", "version": 1, "responses": 22}]
    older = data(app, version=1)
    assert (older["instrument"]["version"], older["responses"], older["overall"]["value"]) == (1, 22, 59.09)
    assert older["dossier"]["n"] == 10 and older["dossier"]["satisfaction"]["value"] == 100.0


def test_dossier_ratings_are_reported_apart_with_level_shares(app, site):
    for level, count in ((3, 3), (2, 4), (1, 3)):
        store_many(app, site["A"], bytes([level]), count, day=APRIL, code="dossier-rating")
    dossier = data(app)["dossier"]
    assert dossier["n"] == 10 and dossier["instrument"]["code"] == "dossier-rating"
    assert dossier["satisfaction"]["value"] == 70.0
    assert (dossier["satisfaction"]["ci_low"], dossier["satisfaction"]["ci_high"]) == wilson(7, 10)
    levels = {level["level"]: level for level in dossier["levels"]}
    assert [level["label"] for level in dossier["levels"]] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    assert (levels[3]["value"], levels[2]["value"], levels[1]["value"]) == (30.0, 40.0, 30.0)
    assert levels[2]["count"] == 4 and (levels[2]["ci_low"], levels[2]["ci_high"]) == wilson(4, 10)
    assert data(app)["responses"] == 22  # the SIPAS figures are untouched


def test_review_flags_count_hurried_bursts_and_repeated_vectors(app, make):
    make.unit("F")
    counter = make.counter("F", code="QF")
    start = dt.datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    store(app, counter, vector(5), day=APRIL, at=start, duration_ms=4_000)              # fast
    for minute in (10, 12, 14):                                                         # third of a device's burst
        store(app, counter, vector(3, TC=minute % 5 + 1), day=APRIL, client="abc",
              at=start + dt.timedelta(minutes=minute))
    store(app, counter, vector(5), day=APRIL, at=start + dt.timedelta(minutes=5))       # same as the first, 5 min on
    # No signed start time: a review signal in itself since issue 17 (before, this one went unflagged).
    store(app, counter, vector(2), day=APRIL, at=start + dt.timedelta(hours=3), duration_ms=None)
    flags = data(app, "F")["review_flags"]
    assert (flags["responses"], flags["fast"], flags["burst"], flags["duplicate"], flags["untimed"],
            flags["flagged"]) == (6, 1, 1, 1, 1, 4)
    assert flags["counters"][0]["code"] == "QF" and flags["counters"][0]["flagged"] == 4
    assert flags["thresholds"] == {"fast_seconds": 10.0, "burst_size": 3, "burst_minutes": 10.0,
                                   "duplicate_minutes": 10.0}


def fold(app) -> None:
    """Fold what is waiting into the packs, as `flask report refresh` does."""
    from app.database import utcnow
    from app.extensions import db
    from app.organiser.aggregates import refresh_packs

    with app.app_context():
        refresh_packs(utcnow())
        db.session.commit()


def packed(app) -> int | None:
    from app.extensions import db
    from app.organiser.aggregates import ResponsePack

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.sum(ResponsePack.n)))


def test_responses_stored_after_a_report_are_folded_into_the_next(app, site):
    assert data(app)["responses"] == 22
    store(app, site["B"], vector(5), day=MAY, field="HO_TICH")
    assert data(app)["responses"] == 23
    assert packed(app) is None  # a report reads what is not folded yet, and writes nothing
    fold(app)
    assert packed(app) == 33
    assert data(app)["responses"] == 23


def test_a_report_reads_the_same_figures_before_and_after_its_responses_are_folded(app, site, make):
    make.unit("P-F", parent="P")
    counter = make.counter("P-F", code="QF")
    start = dt.datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
    store(app, counter, vector(5), day=MAY, at=start, client="abc")
    store(app, counter, vector(4), day=MAY, at=start + dt.timedelta(minutes=1), client="abc")
    fold(app)
    # flagged against the folded responses just before them: a device's burst, a repeated vector, a hurried one
    store(app, counter, vector(4), day=MAY, at=start + dt.timedelta(minutes=2), client="abc")
    store(app, counter, vector(5), day=MAY, at=start + dt.timedelta(minutes=3))
    store(app, counter, vector(3), day=MAY, at=start + dt.timedelta(hours=2), duration_ms=4_000)
    before = data(app)
    assert before["review_flags"]["flagged"] == 3 and packed(app) == 34
    fold(app)
    assert packed(app) == 37
    assert data(app) == before


def test_a_late_commit_below_the_watermark_is_awaited_and_a_deleted_response_rebuilds(app, make):
    from app.extensions import db
    from app.organiser.aggregates import FoldState
    from app.surveys.models import SurveyResponse

    make.unit("G")
    counter = make.counter("G", code="QG")
    first = store(app, counter, vector(5), day=APRIL)
    store(app, counter, vector(4), day=APRIL, response_id=first + 2)  # id first + 1 is "still in flight"
    fold(app)
    with app.app_context():
        state = db.session.get(FoldState, 1)
        assert (state.last_response_id, state.folded, [entry[0] for entry in state.pending]) == (first + 2, 2, [first + 1])
    store(app, counter, vector(3), day=APRIL, response_id=first + 1)
    assert data(app, "G", "2026-04")["responses"] == 3
    fold(app)
    with app.app_context():
        assert db.session.get(FoldState, 1).pending == []
        db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.id == first))
        db.session.commit()
    assert data(app, "G", "2026-04")["responses"] == 2
    fold(app)
    assert packed(app) == 2
    assert data(app, "G", "2026-04")["responses"] == 2


def test_concurrent_folds_store_each_response_once(app, make):
    from app.database import utcnow
    from app.extensions import db
    from app.organiser.aggregates import ResponsePack, refresh_packs

    make.unit("H")
    counter = make.counter("H", code="QH")
    store_many(app, counter, vector(4), 3, day=APRIL)
    with app.app_context():
        winner = refresh_packs(utcnow())
        db.session.commit()
    with app.app_context():
        # a fold that read the same new rows but lost the race: the watermark moved, so it must not store them
        from app.organiser import aggregates

        state = (0, 0)
        assert not aggregates._advance(state, 3, 3, [], utcnow())
        db.session.rollback()
        assert winner.folded == 3 and db.session.scalar(sa.select(sa.func.sum(ResponsePack.n))) == 3


def test_a_unit_outside_the_scope_or_a_bad_period_is_refused(app, site, make):
    from app.errors import AppError, NotFoundError
    from app.organiser.reports import report_for_code
    from app.units.services import get_unit_by_code

    make.unit("Q")
    with app.app_context():
        with pytest.raises(NotFoundError):
            report_for_code("P-A", "2026-Q2", now=NOW, scope=get_unit_by_code("Q"))
        with pytest.raises(NotFoundError):
            report_for_code("NOPE", "2026-Q2", now=NOW)
        with pytest.raises(AppError, match="kỳ báo cáo không hợp lệ"):
            report_for_code("P", "2026-Q9", now=NOW)
        with pytest.raises(NotFoundError, match="“sipas-counter” phiên bản 7"):
            report_for_code("P", "2026-Q2", now=NOW, instrument_code="sipas-counter", version=7)
        with pytest.raises(NotFoundError, match="^Không có phiếu khảo sát SIPAS “khong-co”.$"):
            report_for_code("P", "2026-Q2", now=NOW, instrument_code="khong-co")
        with pytest.raises(NotFoundError, match="^Không có phiếu khảo sát SIPAS nào có phiên bản 7.$"):
            report_for_code("P", "2026-Q2", now=NOW, version=7)


def test_the_cli_writes_json_csv_and_xlsx(app, site, runner, tmp_path):
    result = runner.invoke(args=["report", "sipas", "--unit", "P", "--period", "2026-Q2", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["overall"]["value"] == 59.09 and document["period"]["label"] == "2026-Q2"
    result = runner.invoke(args=["report", "sipas", "--unit", "P", "--period", "2026-04-01..2026-06-30",
                                 "--format", "csv"])
    lines = result.output.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("section,code,name,value,n,ci_low,ci_high")
    assert lines[1].startswith("overall,overall,Đơn vị P,59.09,22,")
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["report", "sipas", "--unit", "P", "--period", "2026-Q2", "--format", "xlsx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:4] == ["Tổng hợp", "Yếu tố", "Tiêu chí", "Đơn vị"] and "Ý kiến" in book.sheetnames
    assert [cell.value for cell in book["Đơn vị"][2]][:5] == [1, "P-A", "Đơn vị P-A", 75.0, 12]


def test_the_cli_refuses_a_bad_unit_or_period_with_a_message(app, site, runner):
    result = runner.invoke(args=["report", "sipas", "--unit", "NOPE", "--period", "2026-Q2"])
    assert result.exit_code == 1 and "NOPE" in result.output
    result = runner.invoke(args=["report", "sipas", "--unit", "P", "--period", "quý 2"])
    assert result.exit_code == 1 and "kỳ báo cáo không hợp lệ" in result.output


def test_the_cli_refreshes_and_imports_dossier_volumes_all_or_nothing(app, site, runner, tmp_path):
    from app.extensions import db
    from app.organiser.aggregates import DossierVolume

    assert "32 phiếu" in runner.invoke(args=["report", "refresh"]).output  # Q1 and Q2
    good = tmp_path / "v.csv"
    good.write_text("Mã đơn vị,Mã lĩnh vực,Tháng,Số hồ sơ\nP-A,HO_TICH,2026-04,100\nP-B,HO_TICH,2026-04,50\n",
                    encoding="utf-8")
    from app.database import utcnow
    from app.organiser.reports import current_report
    from app.periods import parse_period
    from app.units.models import Unit

    def dashboard_report():
        with app.app_context():
            unit = db.session.scalar(sa.select(Unit).where(Unit.code == "P"))
            return current_report(unit, parse_period("2026-Q2"), (None, None), now=utcnow(), locale="vi",
                                  full=True)[0]

    assert dashboard_report().weighted is None  # now cached for this state of the responses
    result = runner.invoke(args=["report", "volumes", str(good), "--unit", "P"])
    assert result.exit_code == 0 and "2 ô" in result.output
    assert dashboard_report().weighted is not None  # the cached report was dropped: volumes are in the key's world
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,field,month,dossiers\nP-A,HO_TICH,2026-05,10\nX,HO_TICH,2026-13,-1\n", encoding="utf-8")
    result = runner.invoke(args=["report", "volumes", str(bad), "--unit", "P"])
    assert result.exit_code == 1
    assert "dòng 3" in result.output and "X" in result.output and "2026-13" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DossierVolume)) == 2


def test_the_workbook_and_pdf_open(app, site):
    from app.i18n import local_zone
    from app.organiser.report_files import render_report_pdf, write_report_xlsx

    result = report(app)
    buffer = io.BytesIO()
    with app.test_request_context():
        write_report_xlsx(result, [["01/04/2026 10:00", "P-A", "Quầy 1", "Hộ tịch", "Ý kiến", "=HYPERLINK(1)"]],
                          buffer)
        pdf = render_report_pdf(result)
        zone = local_zone()
    assert pdf.startswith(b"%PDF") and zone
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert book["Ý kiến"]["F2"].value == "'=HYPERLINK(1)"  # formula-safe
    summary = {row[0].value: row[1].value for row in book["Tổng hợp"].iter_rows(min_row=2)}
    assert summary["Chỉ số hài lòng chung (%)"] == 59.09 and summary["Số phiếu hợp lệ"] == 22


def test_the_api_reports_a_unit_inside_the_token_scope_only(app, client, site, make):
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_unit_by_code

    make.unit("Z")
    with app.app_context():
        _, secret = issue_token("Hệ thống một cửa", get_unit_by_code("P-A"), utcnow())
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.get("/api/v1/reports/sipas?unit=P-A&period=2026-Q2", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["unit"]["code"], body["overall"]["value"], body["overall"]["n"]) == ("P-A", 75.0, 12)
    for unit in ("P", "P-B", "Z", "NOPE"):
        refused = client.get(f"/api/v1/reports/sipas?unit={unit}&period=2026-Q2", headers=headers)
        assert refused.status_code == 404 and refused.get_json()["error"]["message"]
    assert client.get("/api/v1/reports/sipas?unit=P-A", headers=headers).status_code == 400
    assert client.get("/api/v1/reports/sipas?unit=P-A&period=x", headers=headers).status_code == 400
    assert client.get("/api/v1/reports/sipas?unit=P-A&period=2026-Q2").status_code == 401


def test_the_statistical_annex_reads_as_an_annex_with_numbers_written_one_way(app, site, tmp_path):
    import re
    import shutil
    import subprocess

    from app.organiser.report_files import render_report_pdf
    from tests.conftest import unavailable

    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (poppler-utils) is not installed: the annex's text cannot be read")
    result = report(app)
    with app.test_request_context("/?lang=vi"):
        pdf = render_report_pdf(result)
    (tmp_path / "phu-luc.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "phu-luc.pdf"), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    pages = text.split("\f")
    assert "PHỤ LỤC SỐ LIỆU THỐNG KÊ" in pages[0] and "Đơn vị P" in pages[0]
    assert "Kỳ báo cáo: quý II năm 2026 (01/04/2026 – 30/06/2026)" in pages[0]
    assert "Chỉ số hài lòng chung" in pages[0] and "59,09 %" in pages[0]  # the report's 59.09, the Vietnamese way
    assert all("Trang" in page for page in pages if page.strip())  # no empty page: each has text and its footer
    # One way for every index: two decimals and a percent sign; never "47,9" beside "47,90" or a bare "46".
    indices = re.findall(r"(?<![\d,.])(\d{1,3}(?:,\d+)?) %", text.replace("tin cậy 95 %", ""))
    assert indices and all(re.fullmatch(r"\d{1,3},\d\d", index) for index in indices), indices
    for leftover in ("alpha", "mean", "pooled", "HO_TICH", "small_sample", "Báo cáo kết quả khảo sát sự hài lòng\n"):
        assert leftover not in text, leftover
