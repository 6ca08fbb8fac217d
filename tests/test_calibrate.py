"""``skelkd calibrate``: pairing, coordinate systems, left/right conventions, and fitted
parameters whose simulated statistics match the measured ones."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from skelkd.cli import main
from skelkd.data.calibrate import align_pair, calibrate_packs, pair_instances
from skelkd.data.simulate import get_preset, simulate_pack
from skelkd.io import open_pack
from skelkd.io.pack import Sample, write_pack
from skelkd.layouts import get_layout

from .conftest import needs_shared


def _walker_3d(t: int = 60, seed: int = 0) -> np.ndarray:
    """A Kinect-like 3D skeleton (NTU layout) walking in front of the camera."""
    rng = np.random.default_rng(seed)
    lay = get_layout("ntu")
    base = {"head": (0, 0.75), "neck": (0, 0.55), "spine_shoulder": (0, 0.5),
            "spine_mid": (0, 0.25), "pelvis": (0, 0.0)}
    kp = np.zeros((t, lay.num_joints, 3))
    for side, sx in (("left", -1), ("right", 1)):
        base.update({f"{side}_shoulder": (0.18 * sx, 0.5), f"{side}_elbow": (0.25 * sx, 0.25),
                     f"{side}_wrist": (0.28 * sx, 0.0), f"{side}_hand": (0.29 * sx, -0.07),
                     f"{side}_hand_tip": (0.3 * sx, -0.12), f"{side}_thumb": (0.27 * sx, -0.1),
                     f"{side}_hip": (0.1 * sx, -0.02), f"{side}_knee": (0.11 * sx, -0.45),
                     f"{side}_ankle": (0.11 * sx, -0.85), f"{side}_foot": (0.12 * sx, -0.9)})
    for name, (x, y) in base.items():
        kp[:, lay.index(name)] = (x, y, 0.0)
    phase = np.linspace(0, 4 * np.pi, t)
    for side, sgn in (("left", 1), ("right", -1)):
        for j in ("wrist", "hand", "hand_tip", "thumb"):
            kp[:, lay.index(f"{side}_{j}"), 2] += 0.2 * sgn * np.sin(phase)
    kp[..., 0] += np.linspace(-0.5, 0.5, t)[:, None]
    kp[..., 2] += 3.0 + rng.normal(0, 0.005, kp.shape[:2])
    return kp


def _pack(path, kp, layout, iid="clip"):
    sc = (np.abs(kp).sum(-1) > 0).astype(np.float32)
    write_pack(path, [Sample(kp[None].astype(np.float32), sc[None], 0, iid, layout)], layout,
               ["walk"])
    return open_pack(path)


def test_calibration_recovers_a_simulated_estimator(tmp_path):
    hq = _pack(tmp_path / "hq.skpack", _walker_3d(), "ntu")
    truth = get_preset("fast", target_layout="blazepose")
    lq_path = simulate_pack(hq, tmp_path / "lq.skpack", truth, seed=3, progress=False)
    cal = calibrate_packs(hq, open_pack(lq_path), seeds=(0, 1, 2, 3))
    (pair,) = cal.pairs
    assert pair["projection"] == "perspective affine"
    assert pair["swap_sides"] is False
    real, sim = pair["real"], pair["simulated"]
    assert real["err_median"] > 0.01
    assert sim["err_median"] == pytest.approx(real["err_median"], rel=0.3)
    assert sim["err_p90"] == pytest.approx(real["err_p90"], rel=0.35)
    assert abs(sim["miss"] - real["miss"]) < 0.05
    assert cal.params.target_layout == "blazepose"
    assert "simulated, fitted" in "\n".join(cal.table())


def test_mirrored_labels_are_detected_and_2d_coordinates_fitted(tmp_path):
    kp3 = _walker_3d()
    lay = get_layout("ntu")
    proj = kp3[..., :2] / kp3[..., 2:3] * 800 + np.array([640.0, 360.0])
    proj[..., 1] = 720 - proj[..., 1]
    lq = proj.copy()
    lq = lq[:, lay.flip_index]  # the low-quality source labels left and right the other way
    hq_small = proj * 0.5  # high quality in another (half-size) pixel frame
    sc = np.ones(proj.shape[:2])
    a = align_pair(hq_small, sc, lay, lq, sc, lay)
    assert a["swap_sides"] is True
    assert a["projection"] == "2D affine"
    assert a["residual_px"][True] < 1e-3 and a["residual_px"][False] > 1
    same = align_pair(proj, sc, lay, proj, sc, lay)
    assert same["projection"] == "none" and same["swap_sides"] is False


def test_pairing_by_id_or_order(tmp_path):
    kp = _walker_3d(20)
    a = _pack(tmp_path / "a.skpack", kp, "ntu", "x")
    b = _pack(tmp_path / "b.skpack", kp, "ntu", "y")
    assert pair_instances(a, b) == [(0, 0)]  # no shared id, same size: by order
    with pytest.raises(Exception, match="no instance id in common"):
        pair_instances(a, b, "id")


def test_calibrate_command_writes_parameters_simulate_accepts(tmp_path):
    hq = _pack(tmp_path / "hq.skpack", _walker_3d(), "ntu")
    lq = simulate_pack(hq, tmp_path / "lq.skpack", get_preset("fast", target_layout="coco"),
                       seed=1, progress=False)
    out = tmp_path / "params.yaml"
    r = CliRunner().invoke(main, ["calibrate", str(hq.path), str(lq), "--out", str(out),
                                  "--seeds", "2", "--doc", str(tmp_path / "cal.md")])
    assert r.exit_code == 0, r.output
    assert "simulated, fitted" in r.output
    params = yaml.safe_load(out.read_text())
    assert params["target_layout"] == "coco"
    r = CliRunner().invoke(main, ["simulate", str(hq.path), str(tmp_path / "again.skpack"),
                                  "--params", str(out)])
    assert r.exit_code == 0, r.output
    assert open_pack(tmp_path / "again.skpack").layout.name == "coco"


def test_calibrate_command_rejects_unpairable_packs(tmp_path):
    kp = _walker_3d(20)
    a = _pack(tmp_path / "a.skpack", kp, "ntu", "x")
    write_pack(tmp_path / "b.skpack",
               [Sample(kp[None].astype(np.float32), np.ones((1, 20, 25), np.float32), 0, i,
                       "ntu") for i in ("y", "z")], "ntu", ["walk"])
    r = CliRunner().invoke(main, ["calibrate", str(a.path), str(tmp_path / "b.skpack"),
                                  "--out", str(tmp_path / "p.yaml")])
    assert r.exit_code == 2
    assert "cannot be paired" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "p.yaml").exists()


def test_real_pairs_calibrate_and_simulate_back(tmp_path):
    data = needs_shared("real_pairs")
    from skelkd.io import import_dataset

    d = data / "ntu_S001C001P001R001A001"
    hq = import_dataset("numpy", d / "kinect_v2_joints3d.npy", tmp_path / "hq.skpack",
                        layout="ntu", progress=False)
    lq = import_dataset("blazepose", d, tmp_path / "lq.skpack", progress=False)
    cal = calibrate_packs(hq, lq, seeds=(0, 1, 2, 3))
    (pair,) = cal.pairs
    assert pair["swap_sides"] is True  # the NTU colour video is mirrored against the labels
    assert pair["residual_px"][True] < pair["residual_px"][False]
    assert pair["simulated"]["err_median"] == pytest.approx(pair["real"]["err_median"], rel=0.3)
