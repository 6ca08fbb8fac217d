import dataclasses

import numpy as np
import pytest

from skelkd.config import load_config
from skelkd.data.transforms import (
    Pipeline,
    apply_mask,
    flip,
    hold_rest,
    minmax_batch,
    normalize,
    occlude_joints,
    pad_persons,
    part_mask,
    repeat_to,
    retime,
    rotate,
    sample_rng,
    take_frames,
    temporal_indices,
    view_rotation,
)
from skelkd.errors import SkelkdError
from skelkd.layouts import get_layout

from .conftest import random_skeleton


def test_temporal_indices_test_mode_is_deterministic_and_spread():
    idx = temporal_indices(100, 10)
    assert idx.tolist() == temporal_indices(100, 10).tolist()
    assert idx.min() >= 0 and idx.max() <= 99 and (np.diff(idx) > 0).all()
    assert temporal_indices(3, 6).tolist() == [0, 0, 1, 1, 2, 2]


def test_temporal_indices_train_mode_random_within_segments():
    rng = np.random.default_rng(0)
    a, b = temporal_indices(100, 10, rng), temporal_indices(100, 10, rng)
    assert a.tolist() != b.tolist()
    assert ((a // 10) == np.arange(10)).all()


def test_short_sequence_padding_mode():
    idx = temporal_indices(3, 5, short="pad")
    assert idx.tolist() == [0, 1, 2, -1, -1]
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 3)
    k2, s2 = take_frames(kp, sc, idx)
    assert k2.shape[1] == 5 and (s2[:, 3:] == 0).all() and (k2[:, 3:] == 0).all()


def test_pad_persons_keeps_most_confident():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 3, 4)
    sc[1] = 0.01
    k2, s2 = pad_persons(kp, sc, 2)
    np.testing.assert_array_equal(k2, kp[[0, 2]])
    k3, s3 = pad_persons(kp[:1], sc[:1], 2)
    assert k3.shape[0] == 2 and (s3[1] == 0).all()


def test_normalize_centres_and_scales_by_torso():
    lay = get_layout("coco")
    kp, sc = random_skeleton(np.random.default_rng(1), "coco", 1, 10, scale=200)
    out = normalize(kp, sc, lay)
    idx = [lay.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    sh = out[..., idx[:2], :].mean(-2)
    hp = out[..., idx[2:], :].mean(-2)
    np.testing.assert_allclose(((sh + hp) / 2).mean(axis=(0, 1)), 0, atol=1e-4)
    assert np.median(np.linalg.norm(sh - hp, axis=-1)) == pytest.approx(1, rel=1e-4)
    # scale and translation of the input do not matter
    np.testing.assert_allclose(normalize(kp * 3 + 50, sc, lay), out, atol=1e-4)


def test_view_alignment_removes_camera_rotation():
    lay = get_layout("kinect_v1")
    kp, sc = random_skeleton(np.random.default_rng(2), "kinect_v1", 1, 8, c=3)
    a = np.deg2rad(40)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    base = normalize(kp, sc, lay, align_view=True)
    turned = normalize(kp @ rot.T, sc, lay, align_view=True)
    np.testing.assert_allclose(base, turned, atol=1e-4)
    r = view_rotation(base, sc, lay)
    np.testing.assert_allclose(r, np.eye(3), atol=1e-4)


def test_occlusion_is_deterministic_per_sample_and_seed():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 2, 50)
    a = occlude_joints(kp, sc, 0.5, sample_rng(0, "clip1"))
    b = occlude_joints(kp, sc, 0.5, sample_rng(0, "clip1"))
    c = occlude_joints(kp, sc, 0.5, sample_rng(0, "clip2"))
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    hit = a[1] == 0
    assert (hit == hit[:, :1]).all()  # per-sequence: the same joints in every frame
    assert (a[0][hit] == 0).all()


@pytest.mark.parametrize("mode", ["sequence", "frame"])
def test_occlusion_rate_matches_probability(mode):
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 40)
    rates = [float((occlude_joints(kp, sc, 0.6, sample_rng(0, f"k{i}"), mode)[1] == 0).mean())
             for i in range(300)]
    assert np.mean(rates) == pytest.approx(0.6, abs=0.03)
    with pytest.raises(ValueError, match="occlusion mode"):
        occlude_joints(kp, sc, 0.5, sample_rng(0, "x"), "joint")


def test_part_mask_zeroes_exactly_that_part():
    lay = get_layout("ntu")
    kp, sc = random_skeleton(np.random.default_rng(0), "ntu", 1, 5, c=3)
    k2, s2 = apply_mask(kp, sc, part_mask(lay, 3))
    gone = s2[0, 0] == 0
    assert sorted(np.flatnonzero(gone)) == sorted(lay.part_indices[3])
    assert (k2[..., list(lay.part_indices[3]), :] == 0).all()
    assert (s2[..., list(lay.part_indices[0])] == sc[..., list(lay.part_indices[0])]).all()


@pytest.mark.parametrize("normalization", ["torso", "minmax"])
def test_a_hidden_part_is_zeroed_in_the_whole_bodys_frame(normalization):
    """The part matrix's occlusion (Pipeline.hidden_part): the model input of the whole
    body with that part's joints zeroed, every channel, score included; the other joints
    unchanged (the body's centre and size are the whole body's), beside the instance's
    own occlusion."""
    lay = get_layout("coco")
    kp, sc = random_skeleton(np.random.default_rng(2), "coco", 2, 30)
    pipe = Pipeline("coco", num_frames=16, num_persons=2, occlusion=0.3,
                    normalization=normalization)
    whole = pipe(kp, sc, "a")
    hidden = dataclasses.replace(pipe, hidden_part=0)(kp, sc, "a")  # the torso: the centre
    part = list(lay.part_indices[0])
    assert (hidden[..., part, :] == 0).all() and (whole[..., part, :] != 0).any()
    rest = [j for j in range(lay.num_joints) if j not in part]
    np.testing.assert_array_equal(hidden[..., rest, :], whole[..., rest, :])
    with pytest.raises(SkelkdError, match="hidden_part"):
        Pipeline("coco", hidden_part=5)


def test_flip_twice_is_identity_and_swaps_sides():
    lay = get_layout("blazepose")
    kp, sc = random_skeleton(np.random.default_rng(0), "blazepose", 1, 4)
    k1, s1 = flip(kp, sc, lay)
    np.testing.assert_allclose(k1[..., lay.index("left_wrist"), 0],
                               -kp[..., lay.index("right_wrist"), 0])
    k2, s2 = flip(k1, s1, lay)
    np.testing.assert_allclose(k2, kp, atol=1e-5)


def test_rotate_keeps_missing_joints_at_zero():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 4)
    sc[0, 0, 0] = 0
    out = rotate(kp, sc, 30)
    assert (out[0, 0, 0] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(out[0, 1], axis=-1),
                               np.linalg.norm(kp[0, 1], axis=-1), rtol=1e-5)


def test_pipeline_output_and_channels():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 3, 70)
    p = Pipeline("coco", num_frames=16, num_persons=2)
    x = p(kp, sc, "clip")
    assert x.shape == (2, 16, 17, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, p(kp, sc, "clip"))
    kp3, sc3 = random_skeleton(np.random.default_rng(0), "ntu", 1, 30, c=3)
    assert Pipeline("ntu", num_frames=8)(kp3, sc3, "a").shape == (1, 8, 25, 3)
    assert Pipeline("ntu", num_frames=8, with_score=True).channels(3) == 4
    train = Pipeline("coco", 16, train=True, rotate_deg=10, flip_prob=0.5, scale_range=(0.9, 1.1))
    r1 = train(kp, sc, "clip", np.random.default_rng(1))
    r2 = train(kp, sc, "clip", np.random.default_rng(2))
    assert r1.shape == (1, 16, 17, 3) and not np.array_equal(r1, r2)


def test_pipeline_occlusion_same_for_every_model():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 40)
    a = Pipeline("coco", 16, occlusion=0.6)(kp, sc, "clip9")
    b = Pipeline("coco", 32, occlusion=0.6)(kp, sc, "clip9")
    assert set(np.flatnonzero(a[0, 0, :, 2] == 0)) == set(np.flatnonzero(b[0, 0, :, 2] == 0))


def test_fresh_occlusion_is_drawn_at_every_training_read():
    """occlusion_draw 'fresh': in training each read draws its own occlusion, from the
    read's generator and at the OP's rate; without a generator, or not training, the
    instance's occlusion as ever."""
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 40)
    sc[:] = 1.0
    fresh = Pipeline("coco", 40, train=True, occlusion=0.5, occlusion_draw="fresh",
                     normalize=False)
    hidden = [fresh(kp, sc, "clip9", np.random.default_rng(r))[0, :, :, 2] == 0
              for r in range(6)]
    assert not all(np.array_equal(hidden[0], h) for h in hidden[1:])
    assert 0.3 < np.mean([h[0].mean() for h in hidden]) < 0.7  # OP 0.5 of the joints
    again = fresh(kp, sc, "clip9", np.random.default_rng(3))[0, :, :, 2] == 0
    np.testing.assert_array_equal(again, hidden[3])  # reproducible from its generator
    instance = Pipeline("coco", 40, occlusion=0.5, normalize=False)(kp, sc, "clip9")
    for p in (dataclasses.replace(fresh, train=False), fresh):
        np.testing.assert_array_equal(p(kp, sc, "clip9")[0, :, :, 2], instance[0, :, :, 2])
    with pytest.raises(SkelkdError, match="occlusion_draw"):
        Pipeline("coco", 16, occlusion_draw="sometimes")


@pytest.mark.parametrize("mode", ["sequence", "frame"])
@pytest.mark.parametrize("frames, short", [(70, "repeat"), (9, "repeat"), (9, "pad")])
def test_pipeline_occludes_as_if_before_cropping(mode, frames, short):
    """The pipeline masks only the cropped frames; the result must be what occluding
    the whole sequence first, then cropping, gives (the definition)."""
    from skelkd.data.transforms import occlude_instance

    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 2, frames)
    p = Pipeline("coco", 16, num_persons=2, train=True, occlusion=0.5, occlusion_mode=mode,
                 short=short, normalize=False)
    got = p(kp, sc, "clip3", np.random.default_rng(7))
    okp, osc = occlude_instance(kp, sc, 0.5, 0, "clip3", mode)
    idx = temporal_indices(frames, 16, np.random.default_rng(7), short)
    ekp, esc = take_frames(okp, osc, idx)
    np.testing.assert_array_equal(got, np.concatenate([ekp, esc[..., None]], axis=-1))


def _body_frame_loop(kp, sc, layout):
    """A literal per-sequence transcription of :func:`body_frame`'s rule (torso mid-points
    over the frames where every shoulder and hip is seen; else all valid joints)."""
    sh = [layout.index(n) for n in ("left_shoulder", "right_shoulder") if layout.has(n)]
    hp = [layout.index(n) for n in ("left_hip", "right_hip") if layout.has(n)]
    mids, lengths = [], []
    for m in range(kp.shape[0]):
        for t in range(kp.shape[1]):
            if sh and hp and all(sc[m, t, j] > 0 for j in sh + hp):
                a = np.mean([kp[m, t, j] for j in sh], axis=0)
                b = np.mean([kp[m, t, j] for j in hp], axis=0)
                mids.append((a + b) / 2)
                lengths.append(np.linalg.norm(a - b))
    if mids and np.median(lengths) > 1e-6:
        return np.mean(mids, axis=0), float(np.median(lengths))
    pts = [kp[m, t, v] for m in range(kp.shape[0]) for t in range(kp.shape[1])
           for v in range(kp.shape[2]) if sc[m, t, v] > 0]
    if not pts:
        return np.zeros(kp.shape[-1]), 1.0
    pts = np.array(pts)
    return pts.mean(axis=0), max(float((pts.max(axis=0) - pts.min(axis=0)).max()) / 3, 1e-6)


def test_body_frames_of_a_batch_match_the_rule_per_sequence():
    from skelkd.data.transforms import body_frames

    rng = np.random.default_rng(0)
    for name, c in (("coco", 2), ("kinect_v1", 3), ("penn_action", 2)):
        lay = get_layout(name)
        kp, sc = random_skeleton(rng, name, 2, 9, c=c)
        kp, sc = np.stack([kp] * 6), np.stack([sc] * 6)
        kp += rng.normal(size=kp.shape).astype(np.float32)
        sc[1][rng.random(sc[1].shape) < 0.5] = 0  # some frames lose their torso
        sc[2][..., lay.index("left_hip")] = 0  # no complete torso anywhere: the fallback
        sc[3] = 0  # nothing seen at all
        sc[4][:, 1:] = 0  # one frame only (an odd count); 5: every frame (even: 18)
        centres, sizes = body_frames(kp, sc, lay)
        assert centres.dtype == np.float32 and sizes.shape == (6,)
        for i in range(6):
            want_c, want_s = _body_frame_loop(kp[i], sc[i], lay)
            np.testing.assert_allclose(centres[i], want_c, rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(sizes[i], want_s, rtol=1e-5)


def test_rotate_batch_matches_one_angle_at_a_time():
    rng = np.random.default_rng(0)
    for c in (2, 3):
        kp, sc = random_skeleton(rng, "kinect_v1", 2, 5, c=c)
        kp, sc = np.stack([kp, kp * 2, -kp]), np.stack([sc] * 3)
        angles = np.array([10.0, -25.0, 0.0])
        got = rotate(kp, sc, angles)
        for i, a in enumerate(angles):
            np.testing.assert_array_equal(got[i], rotate(kp[i], sc[i], a))
        np.testing.assert_array_equal(got[2], kp[2])  # 0 degrees changes nothing


@pytest.mark.parametrize("kwargs", [
    dict(layout="coco", num_frames=16, num_persons=1, train=True, occlusion=0.6,
         rotate_deg=10, scale_range=(0.9, 1.1), flip_prob=0.5),
    dict(layout="coco", num_frames=24, num_persons=2, occlusion=0.3, occlusion_mode="frame",
         short="pad"),
    dict(layout="kinect_v1", num_frames=16, num_persons=2, train=True, align_view=True,
         rotate_deg=15, occlusion=0.3),
    dict(layout="kinect_v1", num_frames=8, normalize=False, train=True, rotate_deg=5),
    dict(layout="coco", num_frames=16, train=True, occlusion=0.3, rest_prob=0.5,
         crop_range=(0.5, 1.0)),
    dict(layout="kinect_v1", num_frames=12, train=True, rotate_deg=60, rotate_axes="xy",
         scale_range=(0.5, 1.5), normalization="minmax", occlusion=0.3),
])
def test_pipeline_batch_gives_each_sample_what_it_gives_alone(kwargs):
    """Pipeline.batch must not mix samples: a sample's output is the same in any batch
    and alone, for every kind of step (crops, occlusion, normalisation, augmentation)."""
    rng = np.random.default_rng(3)
    c = 3 if kwargs["layout"] == "kinect_v1" else 2
    samples = []
    for k in range(7):
        kp, sc = random_skeleton(rng, kwargs["layout"], int(rng.integers(1, 4)),
                                 int(rng.integers(5, 40)), c=c)
        if k == 3:
            sc[:] = 0  # an empty sample in the batch
        samples.append((kp, sc, f"clip{k}"))
    p = Pipeline(**kwargs)
    batch = p.batch([(kp, sc, key, np.random.default_rng(i))
                     for i, (kp, sc, key) in enumerate(samples)])
    assert batch.shape == (7, kwargs["num_persons"] if "num_persons" in kwargs else 1,
                           kwargs["num_frames"], get_layout(kwargs["layout"]).num_joints,
                           p.channels(c))
    for i, (kp, sc, key) in enumerate(samples):
        np.testing.assert_array_equal(batch[i], p(kp, sc, key, np.random.default_rng(i)))
    flips = Pipeline(**{**kwargs, "flip_prob": 1.0}) if kwargs.get("train") else None
    if flips is not None and kwargs.get("normalize", True):  # the flip reaches the output
        one = flips(*samples[0], np.random.default_rng(0))
        assert not np.array_equal(one, batch[0])


def test_rotate_tilt_is_a_rotation_about_x_before_the_one_about_y():
    rng = np.random.default_rng(1)
    kp, sc = random_skeleton(rng, "kinect_v1", 1, 4, c=3)
    a, b = np.deg2rad(25.0), np.deg2rad(-40.0)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    want = np.where((sc > 0)[..., None], kp @ (ry @ rx).T, 0)
    np.testing.assert_allclose(rotate(kp, sc, 25.0, tilt=-40.0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rotate(kp, sc, 25.0, tilt=0.0), rotate(kp, sc, 25.0))


def test_minmax_scales_each_sequence_and_axis_to_unit_range():
    rng = np.random.default_rng(2)
    kp, sc = random_skeleton(rng, "kinect_v1", 2, 6, c=3)
    sc[1, 2:] = 0  # the second person leaves
    kp[..., 2] *= 0.01  # a flat axis is stretched like the others
    batch_kp = np.stack([kp, 5 * kp + 3, np.zeros_like(kp)])
    batch_sc = np.stack([sc, sc, np.zeros_like(sc)])  # the last sequence has no joint
    out = minmax_batch(batch_kp, batch_sc)
    seen = batch_sc[0] > 0
    for i in range(2):
        pts = out[i][seen]
        np.testing.assert_allclose(pts.min(axis=0), -1, atol=1e-6)
        np.testing.assert_allclose(pts.max(axis=0), 1, atol=1e-6)
        assert (out[i][~seen] == 0).all()
    np.testing.assert_allclose(out[1], out[0], atol=1e-5)  # scale and shift removed
    assert (out[2] == 0).all()
    const = minmax_batch(np.ones((1, 1, 2, 3, 3)), np.ones((1, 1, 2, 3)))
    assert (const == 0).all()  # an axis without extent maps to 0, not NaN


def test_minmax_pipeline_makes_scaling_a_no_op():
    """CTR-GCN's NW-UCLA recipe: the scale augmentation is undone by the per-axis
    scaling that follows it, and the result spans [-1, 1] on each axis."""
    rng = np.random.default_rng(4)
    kp, sc = random_skeleton(rng, "kinect_v1", 1, 20, c=3)
    base = dict(layout="kinect_v1", num_frames=10, train=True, rotate_deg=60,
                rotate_axes="xy", normalization="minmax")
    plain = Pipeline(**base)(kp, sc, "a", np.random.default_rng(0))
    scaled = Pipeline(**base, scale_range=(0.5, 1.5))(kp, sc, "a", np.random.default_rng(0))
    np.testing.assert_allclose(scaled, plain, atol=1e-5)
    np.testing.assert_allclose(plain.reshape(-1, 3).min(0), -1, atol=1e-6)
    np.testing.assert_allclose(plain.reshape(-1, 3).max(0), 1, atol=1e-6)
    untilted = Pipeline(**{**base, "rotate_axes": "y"})(kp, sc, "a", np.random.default_rng(0))
    assert not np.allclose(untilted, plain)  # the tilt is drawn and applied


@pytest.mark.parametrize("field, value", [("normalization", "zscore"), ("rotate_axes", "z"),
                                          ("short", "loop"), ("occlusion_mode", "part")])
def test_pipeline_names_a_bad_choice(field, value):
    from skelkd.errors import SkelkdError

    with pytest.raises(SkelkdError, match=f"{field}: expected one of .*got '{value}'"):
        Pipeline("coco", **{field: value})
    with pytest.raises(SkelkdError, match=f"input.{field}: expected one of"):
        load_config(None, [f"input.{field}={value}"])


@pytest.mark.parametrize("short", ["repeat", "pad"])
def test_crop_range_samples_one_stretch_of_that_share_in_training_only(short):
    """A clip whose x coordinate is its frame number: every training sample's frames come
    from one stretch of crop_range's share of the clip; testing ignores the crop."""
    n, layout = 200, get_layout("coco")
    kp = np.zeros((1, n, layout.num_joints, 2), np.float32)
    kp[..., 0] = np.arange(n, dtype=np.float32)[None, :, None]
    kp[..., 1] = np.arange(layout.num_joints, dtype=np.float32)  # keeps the body's size
    sc = np.ones((1, n, layout.num_joints), np.float32)
    train = Pipeline(layout, 32, train=True, normalize=False, crop_range=(0.25, 0.25),
                     short=short, with_score=False)
    spans = []
    for seed in range(20):
        x = train(kp, sc, "a", np.random.default_rng(seed))[0, :, 0, 0]
        assert x.max() - x.min() < 0.25 * n and np.all(np.diff(x) >= 0)
        spans.append(x.min())
    assert len(set(spans)) > 5  # the stretch starts at random
    whole = Pipeline(layout, 32, train=False, normalize=False, crop_range=(0.25, 0.25),
                     with_score=False)(kp, sc, "a")[0, :, 0, 0]
    assert whole.min() < 10 and whole.max() > n - 10
    with pytest.raises(SkelkdError, match="crop_range"):
        Pipeline(layout, 32, crop_range=(0.0, 1.0))



def test_hold_rest_holds_the_first_and_last_pose_and_keeps_the_clip():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 2, 30)
    sc[0, 0, 3] = 0  # a joint missing in the first frame
    kp[0, 0, 3] = 0
    rkp, rsc = hold_rest(kp, sc, np.random.default_rng(1), share=1.0, sway=0.0)
    before = next(t for t in range(rkp.shape[1]) if np.array_equal(rkp[:, t:t + 30], kp))
    after = rkp.shape[1] - 30 - before
    assert 0 < before < 30 and 0 < after < 30  # this draw: a rest on both sides
    np.testing.assert_array_equal(rsc[:, before:before + 30], sc)
    for t in list(range(before)) + list(range(before + 30, rkp.shape[1])):
        frame = 0 if t < before else 29
        np.testing.assert_allclose(rkp[:, t], kp[:, frame])  # held still: no sway asked
        np.testing.assert_array_equal(rsc[:, t], sc[:, frame])
    assert np.all(rkp[0, :before, 3] == 0) and np.all(rsc[0, :before, 3] == 0)
    swaying, _ = hold_rest(kp, sc, np.random.default_rng(1), share=1.0)
    moved = np.abs(swaying[:, :before] - kp[:, :1]).max()
    height = np.ptp(kp[..., 1], axis=-1).mean()
    assert 0 < moved < 0.5 * height  # a sway, not a new pose
    assert np.all(swaying[0, :before, 3] == 0)  # a missing joint does not sway into view
    short, _ = hold_rest(kp, sc, np.random.default_rng(1), share=0.1)
    assert short.shape[1] <= 30 + 2 * 3


def test_repeat_to_plays_the_clip_over_and_over_to_at_least_the_frames():
    kp, sc = random_skeleton(np.random.default_rng(0), "coco", 1, 7)
    rkp, rsc = repeat_to(kp, sc, 20)
    assert rkp.shape[1] == rsc.shape[1] == 21  # three whole plays, not cut at 20
    for k in range(3):
        np.testing.assert_array_equal(rkp[:, 7 * k:7 * (k + 1)], kp)
        np.testing.assert_array_equal(rsc[:, 7 * k:7 * (k + 1)], sc)
    same, _ = repeat_to(kp, sc, 7)
    np.testing.assert_array_equal(same, kp)
    np.testing.assert_array_equal(repeat_to(kp, sc, 0)[0], kp)


def test_pipeline_rest_in_training_only_and_at_its_rate():
    """A clip whose x coordinate is its frame number: a rest shows as frames that repeat
    the first (or last) frame's x; testing never adds one."""
    n, layout = 40, get_layout("coco")
    kp = np.zeros((1, n, layout.num_joints, 2), np.float32)
    kp[..., 0] = np.arange(n, dtype=np.float32)[None, :, None]
    kp[..., 1] = np.arange(layout.num_joints, dtype=np.float32)
    sc = np.ones((1, n, layout.num_joints), np.float32)
    kw = dict(normalize=False, with_score=False, short="repeat")

    def rested(p, seed):
        x = p(kp, sc, "a", np.random.default_rng(seed))[0, :, 0, 0]
        return bool(np.sum(np.round(x) == 0) > 2 or np.sum(np.round(x) == n - 1) > 2)

    p = Pipeline(layout, 32, train=True, rest_prob=0.5, **kw)
    share = np.mean([rested(p, s) for s in range(200)])
    assert 0.3 < share < 0.6  # half the clips get a rest, most of those a visible one
    assert not any(rested(Pipeline(layout, 32, train=True, **kw), s) for s in range(50))
    assert not any(rested(Pipeline(layout, 32, train=False, rest_prob=1.0, **kw), s)
                   for s in range(5))
    with pytest.raises(SkelkdError, match="rest_prob"):
        load_config(None, ["input.rest_prob=1.5"])


def test_retime_plays_the_clip_slower_or_faster_and_keeps_missing_joints_missing():
    """A joint moving at one unit a frame, played twice as long, moves half a unit a frame
    and ends where it ended; a joint missing in a frame is never averaged with it (it
    would be pulled towards the origin), and the clip's ends are kept."""
    t, v = 11, 3
    kp = np.zeros((1, t, v, 2), np.float32)
    kp[..., 0] = np.arange(t, dtype=np.float32)[None, :, None]
    kp[..., 1] = 5.0
    sc = np.ones((1, t, v), np.float32)
    kp[0, 4, 1], sc[0, 4, 1] = 0.0, 0.0  # joint 1 missing in frame 4
    slow, slow_sc = retime(kp, sc, 2.0)
    assert slow.shape == (1, 22, v, 2) and slow_sc.shape == (1, 22, v)
    x = slow[0, :, 0, 0]
    assert x[0] == 0 and x[-1] == t - 1
    np.testing.assert_allclose(np.diff(x), (t - 1) / 21, rtol=1e-5)
    assert np.all(slow[0, :, 1, 1][slow_sc[0, :, 1] > 0] == 5.0)  # never pulled to 0
    assert np.all(slow[0, :, 1][slow_sc[0, :, 1] == 0] == 0)
    assert 0 < (slow_sc[0, :, 1] == 0).sum() <= 2
    fast, _ = retime(kp, sc, 0.5)
    assert fast.shape[1] == 6 and fast[0, -1, 0, 0] == t - 1
    same, same_sc = retime(kp, sc, 1.0)
    np.testing.assert_array_equal(same, kp)
    np.testing.assert_array_equal(same_sc, sc)
    with pytest.raises(SkelkdError, match="factor"):
        retime(kp, sc, 0.0)
