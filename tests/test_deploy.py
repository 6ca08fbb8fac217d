"""docs/deploy.md's standalone code (numpy and onnxruntime only) gives what skelkd
predicts for the same BlazePose output: the documented preprocessing and window rule
are the ones the package runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from skelkd.io.pack import Sample
from skelkd.models import ModelSpec, Recognizer
from skelkd.predict import predict_clip
from skelkd.video import Extraction, to_sample

DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def _doc_code() -> dict:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # the documented code, as written
    return namespace


def _blazepose_clip(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 500, (1, 33, 2))
    kp = (base + np.cumsum(rng.normal(0, 3, (t, 33, 2)), axis=0)).astype(np.float32)
    vis = rng.uniform(0.2, 1.0, (t, 33)).astype(np.float32)
    vis[rng.random((t, 33)) < 0.1] = 0  # missing joints
    vis[t // 3] = 0  # a frame without a person
    kp[vis == 0] = 0
    return kp, vis


@pytest.mark.parametrize("frames, fps, secs, members", [
    (95, 25.0, 1.0, 1), (20, 30.0, 1.0, 1), (300, 30.0, 0.0, 1), (95, 25.0, 1.0, 3)])
def test_the_documented_code_predicts_what_skelkd_predicts(tmp_path, frames, fps, secs,
                                                           members):
    """Probabilities and confidence alike, of one network and of several read as one
    (whose disagreement the confidence subtracts)."""
    import onnxruntime as ort

    from skelkd.export import export_model
    from skelkd.models import Ensemble

    doc = _doc_code()
    torch.manual_seed(0)
    names = ["a", "b", "c", "d", "e"]
    nets = [Recognizer(ModelSpec("coco", 3, 5, backbone="stgcn-tiny", coord_dims=2,
                                 class_names=names, clip_seconds=secs)).eval()
            for _ in range(members)]
    model = nets[0] if members == 1 else Ensemble.of(nets).eval()
    export_model(model, tmp_path / "m.onnx", "onnx", num_frames=32)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    kp, vis = _blazepose_clip(frames, seed=frames)
    # what skelkd predict makes of BlazePose's output, its rule for hidden landmarks included
    sample = to_sample(Extraction(Path("clip.mp4"), kp, vis, fps, (600, 600), 0.0))
    assert 0 < (sample.scores == 0).mean() < 0.5 and (vis < 0.5).any()  # the rule bites
    r = predict_clip(model, sample, 32, top=5)
    want = {t["class"]: t["probability"] for t in r["top"]}
    got, confidence = doc["classify"](session, kp, vis, fps)
    assert set(got) == set(names)
    assert max(abs(got[k] - want[k]) for k in names) < 1e-4
    assert abs(confidence - r["confidence"]) < 1e-4


def test_the_readings_of_a_clips_windows():
    """``combine_windows`` against the readings written out: ``mean`` averages a scale's
    windows, ``confident`` weights each by its top probability, ``max`` takes the window
    the model is surest of; the scales are then averaged; ``best`` takes the surest window
    of any length. An unknown reading is refused with its name."""
    from skelkd.errors import SkelkdError
    from skelkd.predict import READINGS, combine_windows

    one = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    two = np.array([[0.3, 0.7]])
    per_scale = [([(0, 2), (1, 3), (2, 4)], one), ([(0, 4)], two)]
    top = np.array([0.9, 0.8, 0.6])
    expected = {"mean": (one.mean(0) + two[0]) / 2,
                "confident": ((top[:, None] * one).sum(0) / top.sum() + two[0]) / 2,
                "max": (one[0] + two[0]) / 2,
                "best": one[0]}  # 0.9: the surest window of any length
    assert set(expected) == set(READINGS)
    for reading, want in expected.items():
        np.testing.assert_allclose(combine_windows(per_scale, reading), want)
    with pytest.raises(SkelkdError, match="reading: expected one of"):
        combine_windows(per_scale, "median")


def test_surest_over_stretches_averages_each_parts_surest_window():
    """``surest_over_stretches``: with no stretch the surest window; with one, per run of
    as many consecutive windows as a clip of the stretch holds, the surest, averaged over
    the runs (written out run by run); a clip no longer than the stretch reads as its
    surest window, and a clip played over and over, each part holding one play, as once."""
    from skelkd.predict import clip_windows, surest_over_stretches

    rng = np.random.default_rng(3)
    windows = clip_windows(300, 30)  # 19 windows, every 15 frames
    conf = rng.uniform(size=len(windows))
    assert surest_over_stretches(conf, windows, None) == conf.max()
    k = len(clip_windows(90, 30))  # a 90-frame part holds 5 windows
    want = sum(max(conf[j + i] for i in range(k)) for j in range(len(conf) - k + 1))
    assert surest_over_stretches(conf, windows, 90) == pytest.approx(
        want / (len(conf) - k + 1))
    assert surest_over_stretches(conf[:k], windows[:k], 90) == conf[:k].max()
    assert surest_over_stretches(conf, windows, 90) < conf.max()
    once = rng.uniform(size=4)
    looped = np.tile(once, 5)[:len(windows)]  # a play lasts 4 windows, a part holds 5
    assert surest_over_stretches(looped, windows, 90) == pytest.approx(once.max())


def test_a_clips_confidence_is_its_surest_window_per_length():
    """``clip_confidence``: per window length the top probability of the surest window,
    averaged over the lengths, whatever class each one names; of several networks, each
    window's top probability of their mean less their mutual information with the
    answer, against the definition written out window by window."""
    import math

    from skelkd.predict import clip_confidence

    one = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    two = np.array([[0.3, 0.7]])
    assert clip_confidence([([(0, 2), (1, 3), (2, 4)], one), ([(0, 4)], two)]) == \
        pytest.approx((0.9 + 0.7) / 2)
    rng = np.random.default_rng(1)
    scales = [rng.dirichlet(np.ones(4), size=(3, w)) for w in (5, 2)]  # 3 members
    want = []
    for prob in scales:
        best = -math.inf
        for w in range(prob.shape[1]):
            mean = [sum(prob[e, w, c] for e in range(3)) / 3 for c in range(4)]
            h_mean = -sum(q * math.log(q) for q in mean)
            h_each = sum(-sum(q * math.log(q) for q in prob[e, w]) for e in range(3)) / 3
            best = max(best, max(mean) - (h_mean - h_each))
        want.append(best)
    got = clip_confidence([([(0, 1)] * p.shape[1], p) for p in scales])
    assert got == pytest.approx(sum(want) / 2)
    same = [np.repeat(p[:1], 3, axis=0) for p in scales]  # members that agree: no penalty
    assert clip_confidence([([(0, 1)] * p.shape[1], p) for p in same]) == pytest.approx(
        clip_confidence([([(0, 1)] * p.shape[1], p[0]) for p in same]))
    model = Recognizer(ModelSpec("coco", 3, 2, backbone="stgcn-tiny", clip_seconds=1.0,
                                 class_names=["a", "b"])).eval()
    rng = np.random.default_rng(0)
    sample = Sample(rng.normal(size=(1, 90, 17, 2)).astype(np.float32),
                    np.ones((1, 90, 17), np.float32), 0, "x", "coco", {"fps": 30.0})
    r = predict_clip(model, sample, 16, top=2, reading="max")
    # 15-, 30-, 60- and 120-frame windows overlapping by half, the last of each scale
    # ending at the clip's end: starts 0, 7, ..., 70 and 75; 0, 15, ..., 60; 0 and 30;
    # the whole 90-frame clip
    assert r["windows"] == 12 + 5 + 2 + 1 and r["top"][0]["class"] in ("a", "b")
