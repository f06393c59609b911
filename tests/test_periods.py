"""Periods named as people write them, in Vietnamese and English, from every label the period chooser makes."""
from __future__ import annotations

import pytest

from app.periods import parse_period, period_words


@pytest.mark.parametrize("label, vietnamese, english", [
    ("2026-Q3", "quý III năm 2026", "Q3 2026"),
    ("2026-Q1", "quý I năm 2026", "Q1 2026"),
    ("2026-H1", "6 tháng đầu năm 2026", "first half of 2026"),
    ("2026-H2", "6 tháng cuối năm 2026", "second half of 2026"),
    ("2026-07", "tháng 7 năm 2026", "July 2026"),
    ("2026", "năm 2026", "2026"),
    ("2026-07-01..2026-08-15", "từ ngày 01/07/2026 đến ngày 15/08/2026", "1 July 2026 to 15 August 2026"),
])
def test_a_period_reads_in_words_in_either_language(label, vietnamese, english):
    period = parse_period(label)
    assert period_words(period) == vietnamese
    assert period_words(period, "en") == english


def test_the_period_before_a_quarter_reads_in_words_across_the_year():
    assert period_words(parse_period("2026-Q1").previous()) == "quý IV năm 2025"


@pytest.mark.parametrize("label, before", [
    ("2026-04-01..2026-06-30", "2026-01-01..2026-03-31"),  # whole months: as many whole months before
    ("2026-01-01..2026-01-31", "2025-12-01..2025-12-31"),
    ("2026-03-15..2026-06-30", "2025-11-27..2026-03-14"),  # cuts a month: as many days before
])
def test_a_custom_range_is_compared_with_a_like_range_before_it(label, before):
    assert parse_period(label).previous().label == before
