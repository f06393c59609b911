"""The crawler reuses the contest fixtures (a unit tree, a question bank, contests from definitions)."""
from tests.contests.conftest import _forget_contest_caches, bank, make_contest, units  # noqa: F401
