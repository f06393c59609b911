"""Tests for item analysis with Moodle's definitions (reference/item-analysis.md §2, §3, §6)."""

import numpy as np
import pytest
from scipy import stats

from app.stats.items import FlagRules, item_analysis, item_analysis_entries

# item-analysis.md §6: 10 attempts (A–J) × 6 single-answer 4-option questions worth 1 mark.
REFERENCE = np.array(
    [
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0, 1],
        [1, 1, 1, 0, 1, 0],
        [1, 1, 0, 0, 0, 1],
        [1, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0],
    ],
    dtype=float,
)

# §6.1, as fractions: facility, SD, DI, DE, EW (None = negative covariance), alpha if deleted, p_U, p_L, D27.
REFERENCE_ITEMS = [
    (0.7000, 0.4830, 0.7170, 1.0000, 0.2007, 0.4847, 1.000, 0.000, 1.000),
    (0.5000, 0.5270, 0.7372, 0.8333, 0.2123, 0.4620, 1.000, 0.000, 1.000),
    (0.5000, 0.5270, 0.7372, 0.8333, 0.2123, 0.4620, 1.000, 0.000, 1.000),
    (0.4000, 0.5164, 0.5703, 0.6667, 0.1961, 0.5366, 1.000, 0.000, 1.000),
    (0.3000, 0.4830, 0.4666, 0.6154, 0.1785, 0.5804, 2 / 3, 0.000, 2 / 3),
    (0.5000, 0.5270, -0.5103, -0.5556, None, 0.8724, 1 / 3, 2 / 3, -1 / 3),
]
FOUR_DECIMALS = 5e-5


def percent(value):
    return None if value is None else value / 100


@pytest.mark.parametrize("index", range(6))
def test_reference_vector_item_statistics_match_to_four_decimals(index):
    item = item_analysis(REFERENCE, random_guess=[0.25] * 6).items[index]
    facility, sd, di, de, ew, alpha_deleted, p_upper, p_lower, d27 = REFERENCE_ITEMS[index]
    assert item.n == 10
    assert percent(item.facility) == pytest.approx(facility, abs=FOUR_DECIMALS)
    assert percent(item.sd) == pytest.approx(sd, abs=FOUR_DECIMALS)
    assert percent(item.discrimination_index) == pytest.approx(di, abs=FOUR_DECIMALS)
    assert percent(item.discriminative_efficiency) == pytest.approx(de, abs=FOUR_DECIMALS)
    if ew is None:
        assert item.effective_weight is None and item.negative_covariance
    else:
        assert percent(item.effective_weight) == pytest.approx(ew, abs=FOUR_DECIMALS)
        assert not item.negative_covariance
    assert percent(item.alpha_if_deleted) == pytest.approx(alpha_deleted, abs=FOUR_DECIMALS)
    assert item.p_upper == pytest.approx(p_upper, abs=FOUR_DECIMALS)
    assert item.p_lower == pytest.approx(p_lower, abs=FOUR_DECIMALS)
    assert item.d27 == pytest.approx(d27, abs=FOUR_DECIMALS)
    assert item.random_guess_score == 25.0
    assert item.intended_weight == pytest.approx(100 / 6)


def test_reference_vector_overall_statistics_match_to_four_decimals():
    overall = item_analysis(REFERENCE).overall
    assert overall.n == 10 and overall.items_per_attempt == 6
    assert overall.mean == pytest.approx(48.3333, abs=FOUR_DECIMALS)
    assert overall.median == pytest.approx(50.0)
    assert overall.sd == pytest.approx(1.8529 / 6 * 100, abs=1e-2)
    assert overall.sd == pytest.approx(30.88, abs=5e-3)
    assert overall.skewness == pytest.approx(-0.2122, abs=FOUR_DECIMALS)
    assert overall.kurtosis == pytest.approx(-1.4276, abs=FOUR_DECIMALS)
    assert overall.cic == pytest.approx(65.24, abs=5e-3)
    assert overall.cic / 100 == pytest.approx(0.6524, abs=FOUR_DECIMALS)
    assert overall.error_ratio == pytest.approx(58.96, abs=5e-3)
    assert overall.standard_error == pytest.approx(18.21, abs=5e-3)
    assert overall.standard_error / 100 * 6 == pytest.approx(1.0924, abs=FOUR_DECIMALS)


def test_reference_vector_groups_are_the_top_and_bottom_three_attempts():
    analysis = item_analysis(REFERENCE)
    assert analysis.upper_group.tolist() == [0, 1, 2]  # A, B, C
    assert analysis.lower_group.tolist() == [7, 8, 9]  # H, I, J


def test_reference_vector_flags_the_bad_question_six():
    items = item_analysis(REFERENCE, rules=FlagRules(min_exposure=10)).items
    assert items[5].flags == ("di_negative", "de_dubious", "negative_covariance")
    assert items[0].flags == ()
    assert item_analysis(REFERENCE).items[0].flags == ("n_too_small",)


def test_question_one_by_hand():
    # x = (1,1,1,1,1,1,1,0,0,0), R = (4,4,4,3,2,2,1,1,1,0): cov = 4.6/9, var x = 2.1/9, var R = 19.6/9.
    item = item_analysis(REFERENCE).items[0]
    assert item.discrimination_index == pytest.approx(100 * 4.6 / np.sqrt(2.1 * 19.6))
    assert item.discriminative_efficiency == pytest.approx(100.0)


def random_complete(seed, attempts=60, questions=8):
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(attempts, 1))
    difficulty = rng.normal(size=(1, questions))
    return (rng.random((attempts, questions)) < 1 / (1 + np.exp(difficulty - ability))).astype(float)


def cronbach(matrix):
    questions = matrix.shape[1]
    return questions / (questions - 1) * (1 - matrix.var(axis=0, ddof=1).sum() / matrix.sum(axis=1).var(ddof=1))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_complete_data_agree_with_scipy_and_textbook_formulas(seed):
    marks = random_complete(seed)
    analysis = item_analysis(marks)
    totals = marks.sum(axis=1)
    for j, item in enumerate(analysis.items):
        rest = totals - marks[:, j]
        assert item.discrimination_index == pytest.approx(100 * stats.pearsonr(marks[:, j], rest).statistic)
        covmax = np.cov(np.sort(marks[:, j]), np.sort(rest))[0, 1]
        assert item.discriminative_efficiency == pytest.approx(100 * np.cov(marks[:, j], rest)[0, 1] / covmax)
        assert item.alpha_if_deleted == pytest.approx(100 * cronbach(np.delete(marks, j, axis=1)))
    assert analysis.overall.cic == pytest.approx(100 * cronbach(marks))
    scores = 100 * totals / marks.shape[1]
    assert analysis.overall.skewness == pytest.approx(stats.kstat(scores, 3) / stats.kstat(scores, 2) ** 1.5)
    assert analysis.overall.kurtosis == pytest.approx(stats.kstat(scores, 4) / stats.kstat(scores, 2) ** 2)


def test_effective_weights_of_a_fixed_form_follow_moodle_and_sum_to_one_hundred():
    marks = random_complete(4)
    totals = marks.sum(axis=1)
    covariances = np.array([np.cov(marks[:, j], totals)[0, 1] for j in range(marks.shape[1])])
    roots = np.sqrt(np.clip(covariances, 0, None))
    weights = [item.effective_weight for item in item_analysis(marks).items]
    expected = [None if cov < 0 else 100 * root / roots.sum() for cov, root in zip(covariances, roots, strict=True)]
    assert weights == pytest.approx(expected)


def random_draws(seed, attempts=400, bank=12, drawn=5):
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=attempts)
    difficulty = rng.normal(size=bank)
    marks = np.full((attempts, bank), np.nan)
    for row in range(attempts):
        questions = rng.choice(bank, drawn, replace=False)
        marks[row, questions] = rng.random(drawn) < 1 / (1 + np.exp(difficulty[questions] - ability[row]))
    return marks


def test_random_draws_use_only_the_attempts_that_drew_each_question():
    marks = random_draws(5)
    analysis = item_analysis(marks)
    totals = np.nansum(marks, axis=1)
    for j, item in enumerate(analysis.items):
        saw = ~np.isnan(marks[:, j])
        x, rest = marks[saw, j], totals[saw] - marks[saw, j]
        assert item.n == saw.sum()
        assert item.facility == pytest.approx(100 * x.mean())
        assert item.sd == pytest.approx(100 * x.std(ddof=1))
        assert item.discrimination_index == pytest.approx(100 * stats.pearsonr(x, rest).statistic)
        covmax = np.cov(np.sort(x), np.sort(rest))[0, 1]
        assert item.discriminative_efficiency == pytest.approx(100 * np.cov(x, rest)[0, 1] / covmax)
        assert item.intended_weight == pytest.approx(100 / 5)
    assert analysis.overall.items_per_attempt == 5


def test_random_draw_alpha_pools_forms_so_form_difficulty_does_not_inflate_it():
    form = random_complete(6, attempts=30, questions=4)
    # Two disjoint forms with the same item variances and covariances; on the second every question gives one
    # extra mark (an easier paper). Pooled alpha must equal the alpha of one form.
    marks = np.full((60, 8), np.nan)
    marks[:30, :4] = form
    marks[30:, 4:] = form + 1
    pooled = item_analysis(marks, [1] * 4 + [2] * 4).overall.cic
    assert pooled == pytest.approx(100 * cronbach(form))
    totals = np.nansum(marks, axis=1)
    naive = 4 / 3 * (1 - form.var(axis=0, ddof=1).sum() / totals.var(ddof=1))
    assert 100 * naive - pooled > 10


def test_sparse_entries_give_the_same_statistics_as_the_matrix():
    marks = random_draws(7, attempts=50)
    attempts, questions = np.nonzero(~np.isnan(marks))
    shuffle = np.random.default_rng(7).permutation(attempts.size)
    from_matrix = item_analysis(marks)
    from_entries = item_analysis_entries(
        attempts[shuffle], questions[shuffle], marks[attempts, questions][shuffle], n_attempts=50, n_items=12
    )
    for field in ("n", "mean", "median", "sd", "skewness", "kurtosis", "cic", "error_ratio", "standard_error"):
        assert getattr(from_entries.overall, field) == pytest.approx(getattr(from_matrix.overall, field))
    for left, right in zip(from_entries.items, from_matrix.items, strict=True):
        assert left.n == right.n
        assert left.discrimination_index == pytest.approx(right.discrimination_index)
        assert left.alpha_if_deleted == pytest.approx(right.alpha_if_deleted)
        assert left.effective_weight == pytest.approx(right.effective_weight)


def test_ties_at_the_group_cut_go_to_the_earlier_row():
    # Totals 3, 2, 2, 2, 1, 1, 1, 1, 0, 0 with g = round(0.27 · 10) = 3.
    marks = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0],
                      [0, 0, 0], [0, 0, 0]], dtype=float)
    analysis = item_analysis(marks)
    assert analysis.upper_group.tolist() == [0, 1, 2]
    assert analysis.lower_group.tolist() == [7, 8, 9]


def test_option_counts_are_given_overall_and_for_both_groups():
    choices = np.array([[0, 0, 0, 0, 0, 3], [0, 0, 0, 0, 0, 3], [0, 0, 0, 0, 2, 0], [0, 0, 0, 1, 0, 3],
                        [0, 0, 1, 1, 1, 0], [0, 1, 0, 0, 2, 2], [0, 3, 2, 3, 3, 0], [1, 2, 2, 1, 1, 0],
                        [2, 1, 3, -1, 2, 0], [3, 1, 1, 2, 3, 1]])
    item = item_analysis(REFERENCE, choices=choices, n_options=4).items[3]
    assert item.option_counts == (4, 3, 1, 1)  # one attempt left question 4 blank
    assert item.upper_option_counts == (3, 0, 0, 0)
    assert item.lower_option_counts == (0, 1, 1, 0)
    assert item_analysis(REFERENCE).items[3].option_counts is None


def test_unequal_max_marks_set_intended_weights_and_scale_facility():
    marks = np.column_stack([REFERENCE[:, 0], 2 * REFERENCE[:, 1], REFERENCE[:, 2]])
    items = item_analysis(marks, [1, 2, 1]).items
    assert [item.intended_weight for item in items] == pytest.approx([25, 50, 25])
    assert items[1].facility == pytest.approx(50.0)
    assert items[1].sd == pytest.approx(100 * REFERENCE[:, 1].std(ddof=1))


def test_a_single_attempt_has_facility_but_no_spread_statistics():
    analysis = item_analysis(np.array([[1.0, 0.0, 1.0]]))
    item = analysis.items[0]
    assert item.facility == 100.0
    assert item.sd is item.discrimination_index is item.discriminative_efficiency is item.d27 is None
    overall = analysis.overall
    assert overall.mean == pytest.approx(200 / 3) and overall.median == pytest.approx(200 / 3)
    assert overall.sd is overall.skewness is overall.kurtosis is overall.cic is overall.error_ratio is None


def test_everyone_right_gives_no_discrimination_and_no_reliability():
    analysis = item_analysis(np.ones((12, 4)))
    for item in analysis.items:
        assert item.facility == 100.0 and item.sd == 0.0
        assert item.discrimination_index is None and item.discriminative_efficiency is None
        assert "facility_high" in item.flags and not item.negative_covariance
    assert analysis.overall.sd == 0.0
    assert analysis.overall.skewness is None and analysis.overall.cic is None


def test_everyone_wrong_is_flagged_as_too_hard():
    items = item_analysis(np.zeros((12, 4))).items
    assert all(item.facility == 0.0 and "facility_low" in item.flags for item in items)
    assert all(item.discrimination_index is None for item in items)


def test_a_zero_variance_question_gets_no_di_or_de_and_zero_effective_weight():
    marks = REFERENCE.copy()
    marks[:, 2] = 1.0
    items = item_analysis(marks).items
    assert items[2].discrimination_index is None and items[2].discriminative_efficiency is None
    assert items[2].effective_weight == 0.0 and not items[2].negative_covariance
    assert items[0].discrimination_index is not None


def test_constant_decimal_marks_count_as_zero_variance():
    marks = np.column_stack([np.full(10, 0.1), REFERENCE[:, :3] * 0.1])
    item = item_analysis(marks, [0.1] * 4).items[0]
    assert item.discrimination_index is None and item.facility == pytest.approx(100.0)


def test_an_empty_round_gives_no_statistics():
    analysis = item_analysis(np.empty((0, 3)))
    assert analysis.overall.n == 0 and analysis.overall.mean is None and analysis.overall.items_per_attempt is None
    assert [item.n for item in analysis.items] == [0, 0, 0]
    assert all(item.facility is None and item.flags == ("n_too_small",) for item in analysis.items)


def test_a_question_nobody_drew_has_no_statistics():
    marks = np.column_stack([REFERENCE, np.full(10, np.nan)])
    item = item_analysis(marks).items[6]
    assert item.n == 0 and item.facility is None and item.alpha_if_deleted is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"marks": np.ones(3)}, "two-dimensional"),
        ({"marks": np.array([[2.0, 1.0]])}, "exceeds its question's max mark"),
        ({"marks": np.ones((2, 2)), "max_marks": [1, 0]}, "max_marks must be positive"),
        ({"marks": np.ones((2, 2)), "max_marks": [1]}, "max_marks has 1 values, expected 2"),
        ({"marks": np.array([[1.0, np.nan], [np.nan, np.nan]])}, "attempt row 1 has no drawn question"),
        ({"marks": np.array([[1.0, np.inf]])}, "must be finite"),
        ({"marks": np.ones((2, 2)), "random_guess": [0.25, 2]}, "random_guess must be fractions"),
        ({"marks": np.ones((2, 2)), "group_fraction": 0.6}, "group_fraction"),
        ({"marks": np.ones((2, 2)), "choices": np.zeros((2, 3), dtype=int)}, "choices must be an integer matrix"),
        ({"marks": np.array([[1.0, np.nan]]), "choices": np.array([[0, 1]])}, "-1 where the question was not drawn"),
        ({"marks": np.ones((1, 2)), "choices": np.array([[0, 4]]), "n_options": 4}, "option index below 4"),
    ],
)
def test_bad_matrix_input_is_rejected_with_a_clear_message(arguments, message):
    with pytest.raises(ValueError, match=message):
        item_analysis(**arguments)


def test_bad_entries_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="attempt 0 has question 1 more than once"):
        item_analysis_entries([0, 0, 1], [1, 1, 0], [1, 0, 1], n_attempts=2, n_items=2)
    with pytest.raises(ValueError, match=r"items must lie in \[0, 2\)"):
        item_analysis_entries([0, 1], [0, 2], [1, 0], n_attempts=2, n_items=2)
    with pytest.raises(ValueError, match="attempts must hold integers"):
        item_analysis_entries([0.5], [0], [1], n_attempts=1, n_items=1)


def test_discriminative_efficiency_of_right_or_wrong_marks_matches_the_sorted_pairing_by_hand():
    rng = np.random.default_rng(7)
    marks = (rng.random((60, 5)) < np.array([0.2, 0.4, 0.5, 0.7, 0.9])).astype(float)
    result = item_analysis(marks)
    totals = marks.sum(axis=1)
    for j, item in enumerate(result.items):
        x, rest = marks[:, j], totals - marks[:, j]
        cov = np.sum((x - x.mean()) * (rest - rest.mean())) / 59
        covmax = np.sum((np.sort(x) - x.mean()) * (np.sort(rest) - rest.mean())) / 59
        assert item.discriminative_efficiency == pytest.approx(100 * cov / covmax, abs=1e-9)
