"""Every configuration key and the CLI's numeric options, fed out-of-range, wrong-type and
empty values: the answer is a loaded configuration or one SkelkdError line, never another
exception (the reliability issue's "0 tracebacks")."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelkd.cli import main
from skelkd.config import ExperimentConfig, load_config
from skelkd.errors import SkelkdError


def _keys(cls=ExperimentConfig, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        default = getattr(cls(), f.name)
        if dataclasses.is_dataclass(default):
            out += _keys(type(default), f"{prefix}{f.name}.")
        else:
            out.append(f"{prefix}{f.name}")
    return out


KEYS = _keys()
BAD = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "abc", "-", "1e400", "nan", "[]", "{}", "null", "true", "[0, 2]",
                     "[-1]", "{a: 1}", "../../x", "0", "-1", "1.5", "2"]),
    st.text(max_size=8))
OUTCOMES: Counter = Counter()


def _value(v) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return {math.inf: ".inf", -math.inf: "-.inf"}.get(v, ".nan")
    return v if isinstance(v, str) else yaml.safe_dump(v, default_flow_style=True).strip()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=BAD)
def test_every_key_with_any_value_loads_or_is_one_clear_error(key, value):
    text = f"{key}={_value(value)}"
    try:
        load_config("penn_small", [text])
    except SkelkdError as exc:
        assert "\n" not in str(exc) and "Traceback" not in str(exc)
        OUTCOMES["refused with one line"] += 1
        return
    OUTCOMES["loaded"] += 1


@pytest.mark.parametrize("args", [
    ["train", "student", "penn_small", "--op", "{v}"],
    ["evaluate", "nowhere", "--ops", "{v}"],
    ["predict", "x.npz", "--top", "{v}"],
    ["export", "nowhere", "out.onnx", "--frames", "{v}"],
    ["data", "show", "--occlusion", "{v}"]])
@pytest.mark.parametrize("v", ["-3", "0", "1.5", "abc", "", "nan", "1e400", "0,5", "-0.2"])
def test_numeric_options_never_give_a_traceback(tmp_path, monkeypatch, args, v):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, [a.format(v=v) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output


def teardown_module(module) -> None:
    print(f"\nconfiguration fuzz outcomes: {dict(OUTCOMES)}")


def test_a_stored_configuration_reads_back_as_it_was_or_is_one_clear_error():
    """ExperimentConfig.from_dict (a shipped model's recorded recipe): to_dict's output
    reads back equal, with every key and range checked as a file's are."""
    cfg = load_config("penn_video", ["train.seed=3"])
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    bad = cfg.to_dict()
    bad["train"]["epochs"] = 0
    with pytest.raises(SkelkdError, match=r"model\.ckpt: its recipe: .*train\.epochs"):
        ExperimentConfig.from_dict(bad, "model.ckpt: its recipe")
    bad = cfg.to_dict()
    bad["input"]["no_such_key"] = 1
    with pytest.raises(SkelkdError, match=r"its recipe: input: unknown key"):
        ExperimentConfig.from_dict(bad, "its recipe")
