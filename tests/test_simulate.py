import numpy as np
import pytest

from skelkd.data.calibrate import (
    fit_projection,
    fit_temporal,
    miss_statistics,
    pair_statistics,
)
from skelkd.data.simulate import (
    SimulatorParams,
    _bursty,
    degrade,
    get_preset,
    presets,
    project,
    simulate_pack,
    simulate_sample,
)
from skelkd.errors import SkelkdError
from skelkd.io import open_pack
from skelkd.layouts import get_layout

QUIET = SimulatorParams(jitter=0.0, outlier_rate=0.0, swap_rate=0.0, miss_rate=0.0,
                        frame_miss_rate=0.0, score_noise=0.0)


def test_presets_load_and_are_ordered_by_severity():
    p = presets()
    assert set(p) == {"good", "fast", "poor", "blazepose"}
    # 'blazepose' is 'fast' with only the errors' course in time changed
    changed = {k for k, v in p["fast"].to_dict().items() if p["blazepose"].to_dict()[k] != v}
    assert changed == {"jitter_rho", "outlier_burst", "swap_burst"}
    for key in ("jitter", "miss_rate", "swap_rate", "outlier_rate"):
        assert getattr(p["good"], key) <= getattr(p["fast"], key) <= getattr(p["poor"], key)
    assert get_preset("fast", target_layout="openpose").target_layout == "openpose"
    with pytest.raises(SkelkdError, match="unknown simulator preset"):
        get_preset("perfect")
    with pytest.raises(SkelkdError, match="unknown simulator parameter"):
        SimulatorParams.from_dict({"jiter": 1})


def test_projection_is_an_unmirrored_camera():
    kp = np.array([[[0.0, 0.0, 2.0], [0.5, 0.0, 2.0], [0.0, 0.5, 2.0], [0.0, 0.0, -1.0]]])
    xy, sc = project(kp, np.ones(kp.shape[:2]), SimulatorParams(focal=100, image_size=(200, 100)))
    np.testing.assert_allclose(xy[0, 0], [100, 50])
    assert xy[0, 1, 0] < 100  # Kinect +X is the sensor's left: image left
    assert xy[0, 2, 1] < 50  # +Y is up: image up
    assert sc[0, 3] == 0  # behind the camera: missing


def test_simulation_deterministic_and_in_target_layout(make_pack):
    hq = make_pack("kinect_v1", n=3, c=3)
    params = get_preset("fast")
    a = simulate_sample(hq[0], hq.layout, params, seed=0)
    b = simulate_sample(hq[0], hq.layout, params, seed=0)
    c = simulate_sample(hq[0], hq.layout, params, seed=1)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)
    assert a.layout == "coco" and a.keypoints.shape[-2:] == (17, 2)
    assert a.instance_id == hq[0].instance_id and a.label == hq[0].label


def test_quiet_simulator_is_exact_projection_and_mapping():
    lay = get_layout("penn_action")
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 300, (1, 10, 13, 2)).astype(np.float32)
    sc = np.ones((1, 10, 13), np.float32)
    out, osc = degrade(kp, sc, lay, QUIET, rng)
    np.testing.assert_allclose(out, kp, atol=1e-3)
    assert (osc == 1).all()


def test_error_and_misses_follow_parameters():
    lay = get_layout("coco")
    rng = np.random.default_rng(0)
    kp = np.tile(rng.uniform(0, 300, (1, 1, 17, 2)), (1, 400, 1, 1)).astype(np.float32)
    sc = np.ones((1, 400, 17), np.float32)
    errs = []
    for jitter in (0.01, 0.04):
        out, osc = degrade(kp, sc, lay, QUIET.replace(jitter=jitter), np.random.default_rng(1))
        errs.append(np.median(np.linalg.norm(out - kp, axis=-1)))
    assert errs[1] / errs[0] == pytest.approx(4, rel=0.1)
    p = QUIET.replace(miss_rate=0.1, miss_factor={"face": 1, "hands": 1, "feet": 1, "body": 1},
                      frame_miss_rate=0.05)
    _, osc = degrade(kp, sc, lay, p, np.random.default_rng(2))
    frame_lost = (osc == 0).all(-1).mean()
    assert frame_lost == pytest.approx(0.05, abs=0.03)
    assert (osc == 0).mean() == pytest.approx(1 - 0.9 * 0.95, abs=0.04)


def test_bursty_misses_rate_and_runs():
    lost = _bursty(np.random.default_rng(0), (200, 300), 0.2, burst=5.0)
    assert lost.mean() == pytest.approx(0.2, abs=0.02)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, lost[0].astype(int), 0])))[::2]
    assert runs.mean() > 2.5


def test_per_frame_presets_draw_as_before_bursts_existed():
    # the reproduction's records were made with 'fast' drawing outliers and swaps afresh
    # every frame; the figures are those of the simulator before outlier_burst/swap_burst
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 300, (1, 40, 17, 2)).astype(np.float32)
    sc = np.ones((1, 40, 17), np.float32)
    out, osc = degrade(kp, sc, get_layout("coco"), get_preset("fast"), np.random.default_rng(5))
    assert float(out.astype(np.float64).sum()) == pytest.approx(204484.4053986147, rel=1e-9)
    assert float(osc.astype(np.float64).sum()) == pytest.approx(590.5580595135689, rel=1e-9)


def test_outliers_and_swaps_in_runs_keep_what_their_first_frame_drew():
    lay = get_layout("coco")
    rng = np.random.default_rng(0)
    kp = np.tile(rng.uniform(0, 300, (1, 1, 17, 2)), (8, 600, 1, 1)).astype(np.float32)
    sc = np.ones((8, 600, 17), np.float32)
    p = QUIET.replace(outlier_rate=0.1, outlier_burst=10.0)
    out, _ = degrade(kp, sc, lay, p, np.random.default_rng(1))
    moved = np.linalg.norm(out - kp, axis=-1) > 1e-3
    assert moved.mean() == pytest.approx(0.1, abs=0.03)
    d = out - kp
    same = np.linalg.norm(d[:, 1:] - d[:, :-1], axis=-1) < 1e-3
    inside = moved[:, 1:] & moved[:, :-1]
    assert same[inside].mean() > 0.99  # consecutive outlier frames: one displacement
    runs = moved.sum() / (moved & ~np.concatenate([moved[:, :1] & False, moved[:, :-1]], 1)).sum()
    assert runs > 5
    p = QUIET.replace(swap_rate=0.2, swap_burst=8.0)
    out, _ = degrade(kp, sc, lay, p, np.random.default_rng(2))
    swapped = np.abs(out - kp).max(-1) > 1e-3  # (M, T, V): joints whose labels moved
    arms = swapped[..., lay.part_indices[1]].any(-1)
    legs = swapped[..., lay.part_indices[3]].any(-1)
    assert not (arms & legs).any()  # one pair at a time
    assert (arms | legs).mean() == pytest.approx(0.2, abs=0.05)
    kept = (arms[:, 1:] == arms[:, :-1]) & (legs[:, 1:] == legs[:, :-1])
    assert kept[(arms | legs)[:, 1:] & (arms | legs)[:, :-1]].mean() > 0.99


def test_temporal_fit_recovers_a_smooth_estimator():
    lay = get_layout("coco")
    t = np.linspace(0, 4 * np.pi, 150)
    rng = np.random.default_rng(0)
    base = rng.uniform(50, 250, (1, 17, 2))
    hq = (base + 20 * np.stack([np.sin(t), np.cos(t)], -1)[:, None]).astype(np.float32)
    ones = np.ones(hq.shape[:2], np.float32)
    truth = get_preset("fast").replace(jitter_rho=0.95, outlier_rate=0.02, swap_rate=0.0,
                                       miss_rate=0.0, frame_miss_rate=0.0)
    out, osc = degrade(hq[None], ones[None], lay, truth, np.random.default_rng(3))
    real = pair_statistics(hq, ones, out[0], osc[0], lay, list(lay.joints))
    w, wsc = degrade(hq[None], ones[None], lay, truth.replace(jitter_rho=0.0),
                     np.random.default_rng(3))
    white = pair_statistics(hq, ones, w[0], wsc[0], lay, list(lay.joints))
    fitted = fit_temporal((hq, ones, lay, "synthetic"), real, truth.replace(jitter_rho=0.5),
                          lay)
    assert fitted.jitter_rho == pytest.approx(0.95, abs=0.03)
    assert fitted.outlier_burst == fitted.swap_burst == max(real["big_run"], 1.0)
    assert real["err_rough"] < 0.5 < 1.2 < white["err_rough"]  # smooth against white


def test_statistics_identity_and_swap():
    lay = get_layout("coco")
    rng = np.random.default_rng(0)
    hq = rng.uniform(0, 300, (30, 17, 2))
    ones = np.ones((30, 17))
    joints = list(lay.joints)
    same = pair_statistics(hq, ones, hq, ones, lay, joints)
    assert same["err_median"] == 0 and same["swap"] == 0 and same["miss"] == 0
    flipped = hq[:, lay.flip_index]
    assert pair_statistics(hq, ones, flipped, ones, lay, joints)["swap"] == 1
    half = ones.copy()
    half[:, :8] = 0.2
    assert pair_statistics(hq, ones, hq, half, lay, joints)["miss"] == pytest.approx(8 / 17)
    assert miss_statistics(half, lay)["miss_face"] == 1.0


def test_fit_projection_recovers_affine_camera():
    rng = np.random.default_rng(0)
    k3 = np.concatenate([rng.normal(size=(20, 12, 2)), rng.uniform(2, 4, (20, 12, 1))], -1)
    uv = k3[..., :2] / k3[..., 2:]
    target = uv @ np.array([[-900.0, 5], [3, -880]]).T + [960, 540]
    proj, resid = fit_projection(k3, np.ones((20, 12)), target, np.ones((20, 12)), range(12))
    assert resid < 1e-6
    np.testing.assert_allclose(proj, target, atol=1e-6)


def test_simulate_pack_is_marked_simulated(make_pack, tmp_path):
    hq = make_pack("penn_action", n=5)
    out = simulate_pack(hq, tmp_path / "lq.skpack", get_preset("poor"), seed=4, preset="poor",
                        progress=False)
    lq = open_pack(out)
    assert lq.simulated["preset"] == "poor" and "SIMULATED" in lq.meta["description"]
    assert lq.instance_ids == hq.instance_ids and lq.splits == hq.splits
    assert lq.class_names == hq.class_names


@pytest.mark.parametrize("change, name", [({"jitter": "abc"}, "jitter"),
                                          ({"jitter": -1.0}, "jitter"),
                                          ({"swap_rate": 2.0}, "swap_rate"),
                                          ({"jitter_rho": 1.5}, "jitter_rho"),
                                          ({"miss_factor": {"hands": -1}}, "miss_factor"),
                                          ({"image_size": (0, 10)}, "image_size")])
def test_a_bad_simulator_parameter_is_one_line_naming_it(change, name):
    with pytest.raises(SkelkdError, match=f"simulator parameter {name}: expected"):
        get_preset("fast", **change)


def test_simulate_with_a_bad_parameter_writes_nothing(tmp_path, make_pack):
    from click.testing import CliRunner

    from skelkd.cli import main

    hq = make_pack("penn_action", n=4, num_classes=2, name="hq.skpack")
    r = CliRunner().invoke(main, ["simulate", str(hq.path), str(tmp_path / "lq.skpack"),
                                  "--set", "jitter=abc"])
    assert r.exit_code == 2 and "Traceback" not in r.output and "jitter" in r.output
    assert not (tmp_path / "lq.skpack").exists()


def test_empty_frames_simulate_without_warnings_and_are_counted(tmp_path):
    """A pack with frames where the body was lost (every score 0) and an all-empty sample:
    simulating it prints no NumPy warning, and `data info` counts the empty frames."""
    import warnings

    from skelkd.io.info import describe, format_description
    from skelkd.io.pack import Sample, write_pack

    rng = np.random.default_rng(0)
    samples = []
    for i in range(4):
        kp = rng.normal(size=(1, 20, 20, 3)).astype(np.float32) + np.float32([0, 0, 3])
        sc = np.ones((1, 20, 20), np.float32)
        kp[:, 5:9], sc[:, 5:9] = 0, 0  # four frames lost
        if i == 0:
            kp[:], sc[:] = 0, 0  # nothing at all
        samples.append(Sample(kp, sc, i % 2, f"s{i}", "kinect_v1", {}))
    write_pack(tmp_path / "hq.skpack", samples, "kinect_v1", ["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate_pack(open_pack(tmp_path / "hq.skpack"), tmp_path / "lq.skpack",
                      get_preset("fast"), seed=0, progress=False)
    info = describe(open_pack(tmp_path / "hq.skpack"))
    assert (info["empty_frames"], info["person_frames"]) == (20 + 3 * 4, 80)
    assert "32 of 80 person-frames have no joint" in format_description(info)


def test_simulated_clips_leave_out_the_named_classes_and_match_simulate_sample(tmp_path):
    from skelkd.data.simulate import simulate_sample, simulated_clips
    from skelkd.io.pack import Sample, write_pack

    rng = np.random.default_rng(0)
    samples = [Sample(rng.normal(size=(1, 12, 20, 3)).astype(np.float32) + np.float32([0, 0, 3]),
                      np.ones((1, 12, 20), np.float32), i % 3, f"s{i}", "kinect_v1",
                      {"fps": 15.0} if i == 0 else {}) for i in range(6)]
    pack = write_pack(tmp_path / "hq.skpack", samples, "kinect_v1",
                      ["walk", "throw ball", "sit"])
    params = get_preset("fast", target_layout="penn_action")
    got = list(simulated_clips(open_pack(pack), params, exclude=["throw"], seed=2))
    assert [c.instance_id for c in got] == ["s0", "s2", "s3", "s5"]  # no 'throw ball'
    assert [c.meta["fps"] for c in got] == [15.0, 30.0, 30.0, 30.0]
    want = simulate_sample(open_pack(pack)[2], get_layout("kinect_v1"), params, 2)
    np.testing.assert_array_equal(got[1].keypoints, want.keypoints)
    assert got[1].layout == "penn_action"
    # played over and over to 2 s before the simulation: 30 frames at 15 fps, 60 at 30
    long = list(simulated_clips(open_pack(pack), params, exclude=["throw"], seed=2,
                                seconds=2.0))
    assert [c.num_frames for c in long] == [36, 60, 60, 60]
    first = open_pack(pack)[2]
    looped = Sample(np.tile(first.keypoints, (1, 5, 1, 1)), np.tile(first.scores, (1, 5, 1)),
                    first.label, first.instance_id, first.layout, dict(first.meta))
    want = simulate_sample(looped, get_layout("kinect_v1"), params, 2)
    np.testing.assert_array_equal(long[1].keypoints, want.keypoints)
    assert not np.array_equal(long[1].keypoints[:, :12], long[1].keypoints[:, 12:24])


def test_rested_twin_loops_the_rested_clip_before_the_simulation():
    from skelkd.data.simulate import rested_twin, simulate_sample
    from skelkd.data.transforms import hold_rest, repeat_to
    from skelkd.io.pack import Sample

    rng = np.random.default_rng(0)
    twin = Sample(rng.normal(size=(1, 12, 20, 3)).astype(np.float32) + np.float32([0, 0, 3]),
                  np.ones((1, 12, 20), np.float32), 0, "s0", "kinect_v1", {})
    params = get_preset("fast", target_layout="penn_action")
    src = get_layout("kinect_v1")
    once = rested_twin(twin, src, params, draw=1, key=7)
    kp, sc = hold_rest(twin.keypoints, twin.scores, np.random.default_rng([1, 7]))
    want = simulate_sample(Sample(kp, sc, 0, "s0", "kinect_v1", {}), src, params, seed=1)
    np.testing.assert_array_equal(once.keypoints, want.keypoints)
    long = rested_twin(twin, src, params, draw=1, key=7, frames=100)
    kp, sc = repeat_to(kp, sc, 100)
    want = simulate_sample(Sample(kp, sc, 0, "s0", "kinect_v1", {}), src, params, seed=1)
    assert long.num_frames >= 100
    np.testing.assert_array_equal(long.keypoints, want.keypoints)
