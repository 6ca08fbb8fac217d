"""The student shipped in the package: it loads without running code, knows its input
and its "no known action" threshold, and `skelkd predict` uses it when no model is
given (docs/model_card.md)."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from skelkd.cli import main
from skelkd.io.pack import Sample
from skelkd.predict import NO_ACTION, SHIPPED_MODEL, default_model, predict_clip
from skelkd.train.checkpoint import read_checkpoint


def test_the_shipped_model_is_small_safe_and_knows_its_input():
    assert SHIPPED_MODEL.is_file() and SHIPPED_MODEL.stat().st_size < 5_000_000
    ckpt = read_checkpoint(SHIPPED_MODEL)  # weights_only=True, checksum verified
    assert not any(k.startswith("teacher.") for k in ckpt["state_dict"])
    model, cfg, _ = default_model()
    spec = model.spec
    assert cfg is None and len(spec.class_names) == 15 and "golf_swing" in spec.class_names
    assert spec.num_frames > 0 and spec.clip_seconds > 0 and 0 < spec.reject_below < 1


def test_predict_without_a_model_uses_the_shipped_one(tmp_path):
    rng = np.random.default_rng(0)
    xy = (rng.uniform(100, 400, (1, 33, 2)) + rng.normal(0, 2, (60, 33, 2))).astype(np.float32)
    np.savez(tmp_path / "clip.npz", keypoints_xy=xy, visibility=np.ones((60, 33), np.float32))
    r = CliRunner().invoke(main, ["predict", str(tmp_path / "clip.npz"), "--json", "--top",
                                  "15"])
    assert r.exit_code == 0, r.output
    (out,) = json.loads(r.output)
    names = {t["class"] for t in out["top"]}
    assert names == set(default_model()[0].spec.class_names)
    assert abs(sum(t["probability"] for t in out["top"]) - 1) < 1e-4


def test_a_clip_below_the_threshold_is_no_known_action():
    model, _, _ = default_model()
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 500, (1, 40, 33, 2)).astype(np.float32)  # joints thrown anywhere
    sample = Sample(xy, np.ones((1, 40, 33), np.float32), 0, "noise", "blazepose", {})
    r = predict_clip(model, sample)
    sure = r["confidence"]
    assert r["decision"] == (NO_ACTION if sure < model.spec.reject_below else r["top"][0]["class"])
    # the threshold given for one reading (skelkd predict --reject-below) overrides the
    # model's: 0 always names a class
    assert predict_clip(model, sample, reject_below=0.0)["decision"] == r["top"][0]["class"]
    assert predict_clip(model, sample, reject_below=1.0)["decision"] == NO_ACTION
    model.spec.reject_below = 1.01  # nothing is that sure
    assert predict_clip(model, sample)["decision"] == NO_ACTION


def test_rejection_figures_match_their_definitions():
    from skelkd.evaluate.rejection import auroc, clip_readings, coverage_threshold

    rng = np.random.default_rng(0)
    known, unknown = rng.uniform(0.3, 1, 40), rng.uniform(0, 0.8, 30)
    unknown[:3] = known[:3]  # ties count half
    pairs = [(k > u) + 0.5 * (k == u) for k in known for u in unknown]
    assert abs(auroc(known, unknown) - np.mean(pairs)) < 1e-12
    thr = coverage_threshold(known, 0.9)
    low = np.sort(known)
    assert np.mean(known >= thr) >= 0.9 and low[3] <= thr <= low[4]  # 4 of 40 below
    model, _, _ = default_model()
    xy = rng.uniform(0, 500, (1, 40, 33, 2)).astype(np.float32)
    samples = [Sample(xy, np.ones((1, 40, 33), np.float32), label, "noise", "blazepose", {})
               for label in (0, 1)]
    conf, right = clip_readings(model, samples)
    top = predict_clip(model, samples[0], top=1)
    assert np.allclose(conf, top["confidence"])
    assert list(right) == [top["top"][0]["index"] == 0, top["top"][0]["index"] == 1]


def test_mirror_reading_averages_the_clip_and_its_mirror_image():
    from skelkd.data.transforms import flip
    from skelkd.layouts import get_layout
    from skelkd.predict import window_probabilities

    model, _, _ = default_model()
    layout = get_layout(model.spec.layout)
    rng = np.random.default_rng(2)
    xy = rng.uniform(100, 400, (1, 90, layout.num_joints, 2)).astype(np.float32)
    sc = np.ones((1, 90, layout.num_joints), np.float32)
    sample = Sample(xy, sc, 0, "clip", layout.name, {"fps": 30})
    mxy, msc = flip(xy, sc, layout)
    mirrored = Sample(mxy, msc, 0, "clip", layout.name, {"fps": 30})
    both = window_probabilities(model, sample, mirror=True)
    plain, other = window_probabilities(model, sample), window_probabilities(model, mirrored)
    for (w, p), (w1, p1), (w2, p2) in zip(both, plain, other, strict=True):
        assert w == w1 == w2
        np.testing.assert_allclose(p, (p1 + p2) / 2, atol=1e-6)
    assert not np.allclose(plain[0][1], other[0][1])  # the mirror is another reading
