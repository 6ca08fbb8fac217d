import numpy as np
import pytest

from skelkd.layouts import (
    PARTS,
    Layout,
    LayoutError,
    get_layout,
    list_layouts,
    load_layout_file,
    register_layout,
)
from skelkd.layouts.graph import hop_distance, spatial_partition
from skelkd.layouts.mapping import DERIVATIONS, joint_map, map_layout

SHIPPED = ["ntu", "kinect_v1", "kinect_v1_utd", "penn_action", "coco", "openpose", "blazepose",
           "h36m", "jhmdb"]


def test_all_required_layouts_are_shipped():
    assert set(SHIPPED) <= set(list_layouts())
    sizes = {n: get_layout(n).num_joints for n in SHIPPED}
    assert sizes == {"ntu": 25, "kinect_v1": 20, "kinect_v1_utd": 20, "penn_action": 13,
                     "coco": 17, "openpose": 18, "blazepose": 33, "h36m": 17, "jhmdb": 15}


@pytest.mark.parametrize("name", SHIPPED)
def test_each_joint_in_at_most_one_part_and_parts_nonempty(name):
    lay = get_layout(name)
    members = [j for p in PARTS for j in lay.parts[p]]
    assert len(members) == len(set(members))
    assert all(lay.parts[p] for p in PARTS)
    # the rule: only midline torso joints are in no part
    for j, part in zip(lay.joints, lay.part_of, strict=True):
        if part < 0:
            assert j in {"neck", "spine_mid", "spine_shoulder", "pelvis"}, j


@pytest.mark.parametrize("name", SHIPPED)
def test_graph_connected(name):
    lay = get_layout(name)
    assert np.isfinite(hop_distance(lay)).all()


@pytest.mark.parametrize("name", SHIPPED)
def test_left_right_pairs_symmetric(name):
    lay = get_layout(name)
    perm = lay.flip_index
    assert (perm[perm] == np.arange(lay.num_joints)).all()
    for i, j in enumerate(lay.joints):
        other = lay.joints[perm[i]]
        if j.startswith("left_"):
            assert other == "right_" + j[5:]
        elif not j.startswith("right_"):
            assert other == j
    bones = {frozenset(b) for b in lay.bones}
    mirrored = {frozenset(lay.joints[perm[lay.index(a)]] for a in b) for b in lay.bones}
    assert bones == mirrored
    for left, right in (("left_arm", "right_arm"), ("left_leg", "right_leg")):
        assert sorted(perm[lay.index(j)] for j in lay.parts[left]) == sorted(
            lay.index(j) for j in lay.parts[right])


@pytest.mark.parametrize("name", SHIPPED)
def test_spatial_partition_normalised(name):
    lay = get_layout(name)
    a = spatial_partition(lay)
    assert a.shape == (3, lay.num_joints, lay.num_joints)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0, rtol=1e-6)
    assert (np.diag(a[0]) > 0).all()  # the root itself is in the same-distance subset
    assert (np.diagonal(a[1]) == 0).all() and (np.diagonal(a[2]) == 0).all()


CHAIN = {"name": "chain5", "joints": ["head", "left_arm_j", "right_arm_j", "left_leg_j",
                                       "right_leg_j"],
         "bones": [[0, 1], [0, 2], [0, 3], [0, 4]], "center": 0,
         "parts": {"head": [0], "left_arm": [1], "right_arm": [2], "left_leg": [3],
                   "right_leg": [4]}}


def test_spatial_partition_by_hand():
    lay = Layout.from_dict(CHAIN)
    a = spatial_partition(lay)
    # the centre has itself and 4 neighbours: degree 5; each leaf: itself and the centre
    assert a[0, 0, 0] == pytest.approx(1 / 5)
    assert a[2, 1, 0] == pytest.approx(1 / 5)  # leaf -> centre root: further from centre
    assert a[1, 0, 1] == pytest.approx(1 / 2)  # centre -> leaf root: closer to centre
    assert a[0, 1, 1] == pytest.approx(1 / 2)


def test_register_from_dict_and_yaml(tmp_path):
    lay = register_layout(CHAIN, overwrite=True)
    assert get_layout("chain5") is lay
    assert lay.flip_pairs == ((1, 2), (3, 4))
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\njoints: [head, left_hand, right_hand, left_foot, right_foot]\n"
                    "bones: [[head, left_hand], [head, right_hand], [head, left_foot], "
                    "[head, right_foot]]\ncenter: head\nparts: {head: [head], left_arm: "
                    "[left_hand], right_arm: [right_hand], left_leg: [left_foot], right_leg: "
                    "[right_foot]}\n")
    assert load_layout_file(path).num_joints == 5
    assert get_layout("mine").index("right_foot") == 4


@pytest.mark.parametrize("change, message", [
    ({"bones": [[0, 1], [0, 2], [0, 3]]}, "do not connect"),
    ({"center": "nose"}, "centre 'nose'"),
    ({"parts": {**CHAIN["parts"], "head": [0, 1]}}, "is in parts"),
    ({"parts": {**CHAIN["parts"], "right_leg": []}}, "has no joint"),
    ({"joints": ["head", "left_arm_j", "right_arm_j", "left_leg_j", "left_leg_j"]}, "duplicate"),
    ({"joints": ["head", "left_arm_j", "right_x", "left_leg_j", "right_leg_j"]}, "mirror"),
    ({"bones": [[0, 9]]}, "index 9"),
])
def test_bad_layouts_rejected(change, message):
    with pytest.raises(LayoutError, match=message):
        Layout.from_dict({**CHAIN, **change})


def test_missing_layout_field_and_unknown_name():
    with pytest.raises(LayoutError, match="missing field"):
        Layout.from_dict({"name": "x"})
    with pytest.raises(LayoutError, match="unknown layout 'nope'"):
        get_layout("nope")


def test_alias_and_name_clash():
    assert get_layout("pifpaf").name == "coco"
    with pytest.raises(LayoutError, match="already registered"):
        register_layout({**get_layout("coco").to_dict(), "joints": list(get_layout("coco").joints),
                         "description": "other", "aliases": []})


def test_derivation_rules_are_points_on_the_body():
    # weights summing to 1 make a derived joint move with the body (translation invariant)
    for target, rules in DERIVATIONS.items():
        for rule in rules:
            assert sum(rule.values()) == pytest.approx(1.0), (target, rule)


def test_map_penn_to_coco():
    penn, coco = get_layout("penn_action"), get_layout("coco")
    w, kind = joint_map(penn, coco)
    assert kind[coco.index("left_wrist")] == 1 and kind[coco.index("nose")] == 2
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(2, 4, 13, 2)).astype(np.float32)
    sc = np.ones((2, 4, 13), np.float32)
    sc[0, 0, penn.index("head")] = 0
    out, osc = map_layout(kp, sc, penn, coco)
    np.testing.assert_allclose(out[..., coco.index("left_wrist"), :],
                               kp[..., penn.index("left_wrist"), :])
    np.testing.assert_allclose(out[1, 0, coco.index("nose")], kp[1, 0, penn.index("head")])
    assert osc[0, 0, coco.index("nose")] == 0 and osc[0, 0, coco.index("left_eye")] == 0
    assert (out[0, 0, coco.index("left_eye")] == 0).all()
    # eyes sit beside the head on the shoulder axis, towards their own side
    ls, rs = kp[1, 1, penn.index("left_shoulder")], kp[1, 1, penn.index("right_shoulder")]
    side = out[1, 1, coco.index("left_eye")] - out[1, 1, coco.index("right_eye")]
    assert np.dot(side, ls - rs) > 0


def test_map_swap_sides_and_missing_joint():
    coco, kin = get_layout("coco"), get_layout("kinect_v1")
    _, kind = joint_map(coco, kin, derive=False)
    assert kind[kin.index("head")] == 0
    w, _ = joint_map(coco, coco, swap_sides=True)
    assert w[coco.index("left_knee"), coco.index("right_knee")] == 1


def test_msr_action3d_has_its_own_order_and_kinect_v1_no_longer_claims_it():
    from skelkd.layouts import get_layout

    msr = get_layout("msr_action3d")
    assert msr.num_joints == 20 and msr.joints[0] == "left_shoulder"
    assert msr.joints[2] == "spine_shoulder" and msr.joints[6] == "pelvis"
    assert msr.joints[19] == "head" and msr.joints[17:19] == ("left_foot", "right_foot")
    assert "msr_action3d" not in get_layout("kinect_v1").aliases
    assert len(msr.mirror_bones) == len(get_layout("kinect_v1").mirror_bones) == 8


def test_import_warns_when_left_and_right_bones_disagree(tmp_path):
    """Real joints (the embedded Penn Action pack) written as arrays: imported in their
    own layout, no warning; with the left arm's and left leg's joints swapped (a wrong
    order), the import names the bones whose twins differ."""
    import warnings

    from click.testing import CliRunner

    from skelkd.cli import main
    from skelkd.errors import LayoutWarning
    from skelkd.io import embedded_pack, import_dataset

    pack = embedded_pack()
    lay = pack.layout
    swap = np.arange(lay.num_joints)
    for a, b in (("left_elbow", "left_knee"), ("left_wrist", "left_ankle")):
        swap[lay.index(a)], swap[lay.index(b)] = lay.index(b), lay.index(a)
    for name, order in (("good", np.arange(lay.num_joints)), ("scrambled", swap)):
        folder = tmp_path / name / pack.class_names[0]
        folder.mkdir(parents=True)
        for i in range(0, len(pack), 40):
            s = pack[i]
            np.save(folder / f"{i}.npy", s.keypoints[0][:, order])
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        good = import_dataset("numpy", tmp_path / "good", tmp_path / "good.skpack",
                              layout="penn_action", progress=False)
    assert good.asymmetric == []
    with pytest.warns(LayoutWarning, match="left_shoulder-left_elbow"):
        import_dataset("numpy", tmp_path / "scrambled", tmp_path / "bad.skpack",
                       layout="penn_action", progress=False)
    r = CliRunner().invoke(main, ["data", "import", "numpy", str(tmp_path / "scrambled"),
                                  str(tmp_path / "bad2.skpack"), "--layout", "penn_action"])
    assert r.exit_code == 0 and "warning: bone left_shoulder-left_elbow" in r.output
    assert "left and right swapped" in r.output
