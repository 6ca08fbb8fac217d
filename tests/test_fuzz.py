"""Property-based hardening (hypothesis): every reader and the pack reader, given
malformed versions of valid inputs, either produce a valid pack or stop with one clear
error naming the file, without a traceback and without leaving output behind
(``tests/fuzz.py`` states the rule and makes the cases; the slow test runs many more
and counts them, and ``python -m tests.fuzz`` writes the counts to docs/robustness.md)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz import KINDS, PACK_KINDS, VALID, check_import, count_outcomes, fuzz_case, fuzz_pack_case

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("fmt", sorted(VALID))
@SETTINGS
@given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(KINDS))
def test_reader_answers_bad_input_clearly(tmp_path_factory, fmt, seed, kind):
    what, outcome = fuzz_case(fmt, tmp_path_factory.mktemp(fmt), seed, kind)
    assert not outcome.startswith("BAD"), f"{fmt}, {what}: {outcome}"


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(PACK_KINDS))
def test_damaged_or_crafted_packs_answer_clearly(tmp_path_factory, seed, kind):
    what, outcome = fuzz_pack_case(tmp_path_factory.mktemp("pack"), seed, kind)
    assert not outcome.startswith("BAD"), f"{what}: {outcome}"


def test_valid_inputs_are_accepted(tmp_path):
    for fmt, build in VALID.items():
        import numpy as np

        src, options = build(tmp_path / fmt, np.random.default_rng(0))
        assert check_import(fmt, src, tmp_path / f"{fmt}.skpack", options) == "accepted", fmt


@pytest.mark.slow
def test_thousands_of_malformed_inputs_all_answer_clearly():
    """The counts of docs/robustness.md (300 cases per reader, 800 packs): no case may
    break the rule."""
    _, failures = count_outcomes(300, 800, echo=lambda row: None)
    assert not failures, "\n".join(failures)
