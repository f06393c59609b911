"""Shared settings and strategies of the property-based suites: few examples, deterministic, no deadline."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Deterministic (derandomize) and modest, so the suites stay fast and CI never meets a new example by chance.
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

#: Text a hostile or broken client might send: any Unicode (controls, surrogates excluded by UTF-8), markup,
#: formulas, very long runs.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "6", "99999999999999999999", "1e309", "NaN", "'; DROP TABLE units;--",
                     "<script>alert(1)</script>", "=1+1", "\x00", "\u202e", "đ" * 3000, "%00", "../../etc/passwd"]),
)
field_names = st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["csrf_token", "k", "t", "field",
                                                                            "website", "TC1", "q1", "prediction"]))

from tests.security.conftest import world  # noqa: E402,F401  (the two-tenant fixture, shared with the security suites)
