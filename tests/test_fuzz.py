"""Property-based hardening (hypothesis): every reader and the pack reader, given
malformed versions of valid inputs, either produce a valid pack or stop with one clear
error naming the file, without a traceback and without leaving output behind
(``skelkd.testing.fuzz`` states the rule and makes the cases;
``benchmarks/fuzz_inputs.py`` runs many more and counts them)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelkd.testing.fuzz import KINDS, PACK_KINDS, VALID, fuzz_case, fuzz_pack_case

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
    from skelkd.testing.fuzz import check_import

    for fmt, build in VALID.items():
        import numpy as np

        src, options = build(tmp_path / fmt, np.random.default_rng(0))
        assert check_import(fmt, src, tmp_path / f"{fmt}.skpack", options) == "accepted", fmt
