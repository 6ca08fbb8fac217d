import numpy as np
import pytest
import torch

from skelkd.errors import SkelkdError
from skelkd.layouts import get_layout
from skelkd.models import (
    BACKBONES,
    Backbone,
    ModelSpec,
    Recognizer,
    backbone_config,
    part_features,
    person_mask,
)
from skelkd.models.backbones import KINDS
from skelkd.models.registry import BLOCKS, NETWORKS

TINY = {"channels": (8, 16), "strides": (1, 2)}
TINY_NETWORK = {"efficientgcn": {**TINY, "depths": (1, 1), "branch_stages": 1,
                                 "stem_channels": 8}}


def tiny(kind: str) -> dict:
    """Two narrow blocks (stages) of a family, for fast tests."""
    return TINY_NETWORK.get(kind, TINY)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout, c", [("coco", 3), ("ntu", 3), ("blazepose", 3),
                                       ("kinect_v1", 3), ("penn_action", 3)])
def test_backbone_interface_every_layout(kind, layout, c):
    name = next(n for n, cfg in BACKBONES.items() if cfg.kind == kind)
    b = Backbone(layout, c, num_persons=2, config=name, **tiny(kind))
    out = b(torch.randn(3, 2, 12, get_layout(layout).num_joints, c))
    assert out.shape == (3, 2, 16, 6, get_layout(layout).num_joints)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_registered_backbone_trains_and_exports(name, tmp_path):
    """Every named backbone of every registered family, narrowed to two blocks: the
    output's shape, a training step that moves (nearly) every parameter and leaves them
    finite, and an export whose answers match PyTorch's."""
    from skelkd.export import export_model

    torch.manual_seed(0)
    spec = ModelSpec("coco", 3, 4, backbone=name, overrides=tiny(BACKBONES[name].kind),
                     coord_dims=2)
    model = Recognizer(spec)
    x, y = torch.randn(6, 1, 16, 17, 3), torch.tensor([0, 1, 2, 3, 0, 1])
    assert model(x).shape == (6, 4)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    moved = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert len(moved) > 0.8 * len(before) and all(
        torch.isfinite(v).all() for v in model.parameters())
    model.eval()
    r = export_model(model, tmp_path / "m.onnx", "onnx", num_frames=16)
    assert r["same_top1"] and r["max_abs_diff"] < 1e-4, r


def test_every_family_has_a_block_and_no_block_lacks_its_family():
    """The families a configuration is checked against (``spec.KINDS``, read without
    PyTorch) are the families whose blocks are registered."""
    assert set(BLOCKS) | set(NETWORKS) == set(KINDS) and not set(BLOCKS) & set(NETWORKS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_family_has_its_reference_initialisation(kind):
    """``init: reference`` starts a family from its published code's weights (its
    block's reset_parameters), different from PyTorch's defaults; ``auto`` is the
    reference except for ST-GCN, whose default stays PyTorch's (docs/design.md)."""
    name = next(n for n, c in BACKBONES.items() if c.kind == kind)
    torch.manual_seed(0)
    plain = Backbone("coco", 3, config=name, init="pytorch", **tiny(kind))
    torch.manual_seed(0)
    ref = Backbone("coco", 3, config=name, init="reference", **tiny(kind))
    torch.manual_seed(0)
    auto = Backbone("coco", 3, config=name, **tiny(kind))
    differ = [k for k, v in plain.state_dict().items()
              if v.is_floating_point() and not torch.equal(v, ref.state_dict()[k])]
    assert differ, "the reference initialisation changed nothing"
    expected = plain if kind == "stgcn" else ref
    assert all(torch.equal(v, expected.state_dict()[k]) for k, v in auto.state_dict().items())
    with pytest.raises(SkelkdError, match="init must be one of"):
        backbone_config(name, init="xavier")


def test_named_configs():
    paper = backbone_config("stgcn-paper")
    assert len(paper.channels) == 9 and paper.channels[0] == 64 and paper.channels[-1] == 256
    assert paper.strides.count(2) == 2 and paper.temporal_kernel == 9
    assert len(backbone_config("agcn-paper").channels) == 10
    ctr = backbone_config("ctrgcn-paper")
    assert ctr.channels == backbone_config("agcn-paper").channels and ctr.temporal_kernel == 5
    with pytest.raises(SkelkdError, match="backbone kind must be one of"):
        backbone_config("stgcn-small", kind="gcn")
    with pytest.raises(SkelkdError, match="unknown backbone"):
        backbone_config("resnet")
    with pytest.raises(SkelkdError, match="expects"):
        Backbone("coco", 3, config="stgcn-small", **TINY)(torch.randn(1, 1, 8, 13, 3))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("cin", [4, 1])  # 4 -> 5: linear map first; 1 -> 5: joints first
def test_graph_conv_matches_the_equation(channels_last, cin):
    """The fused graph convolution (one linear map, one batched multiply, in either
    order) against a literal loop over subsets and joints of ST-GCN's Eq. 10, values and
    gradients."""
    from skelkd.layouts.graph import spatial_partition
    from skelkd.models.stgcn import GraphConv

    torch.manual_seed(0)
    adjacency = torch.from_numpy(spatial_partition(get_layout("coco")))
    gc = GraphConv(cin, 5, adjacency, edge_importance=True).double()
    with torch.no_grad():
        gc.importance.uniform_(0.5, 1.5)
        gc.conv.bias.normal_()
    x = torch.randn(2, cin, 3, 17, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = gc(x)
    w, b, g = gc.conv.weight[:, :, 0, 0], gc.conv.bias, gc.graph()
    expect = torch.zeros(2, 5, 3, 17, dtype=torch.float64)
    for k in range(gc.k):
        wk, bk = w[k * 5:(k + 1) * 5], b[k * 5:(k + 1) * 5]
        for vi in range(17):
            y = torch.einsum("oc,nct->not", wk, x[:, :, :, vi]) + bk[None, :, None]
            for wi in range(17):
                expect[:, :, :, wi] += g[k, vi, wi] * y
    torch.testing.assert_close(out, expect)
    torch.testing.assert_close(gc.reference(x), expect)
    grads = torch.autograd.grad(out.square().sum(), [gc.conv.weight, gc.importance])
    expect_grads = torch.autograd.grad(gc.reference(x).square().sum(),
                                       [gc.conv.weight, gc.importance])
    for got, ref in zip(grads, expect_grads, strict=True):
        torch.testing.assert_close(got, ref)


def test_refined_graph_conv_matches_the_equation():
    """CTR-GC (CTR-GCN, Eq. 4-7) against a literal loop over samples, subsets, channels
    and joint pairs: the correlation of joints v and w from the time-averaged input, the
    refined topology A_k + alpha Q_k and the channel-wise aggregation; values and the
    gradients of the learned topology and alpha."""
    from skelkd.layouts.graph import spatial_partition
    from skelkd.models.ctrgcn import RefinedGraphConv

    torch.manual_seed(0)
    a = torch.from_numpy(spatial_partition(get_layout("penn_action")))
    gc = RefinedGraphConv(16, 4, a).double().eval()
    with torch.no_grad():
        gc.alpha.fill_(0.7)
        gc.topology.add_(0.1 * torch.randn_like(gc.topology))
    x = torch.randn(2, 16, 3, 13, dtype=torch.float64)
    k, r, cout, v = gc.k, gc.rel, 4, 13
    m = x.mean(2)
    w_psi, w_phi = gc.psi.weight[:, :, 0], gc.phi.weight[:, :, 0]
    w_xi, w_t = gc.xi.weight[:, :, 0, 0], gc.transform.weight[:, :, 0, 0]

    def loop():
        agg = torch.zeros(2, cout, 3, v, dtype=torch.float64)
        for n in range(2):
            for kk in range(k):
                sub = slice(kk * r, (kk + 1) * r)
                psi = w_psi[sub] @ m[n] + gc.psi.bias[sub, None]
                phi = w_phi[sub] @ m[n] + gc.phi.bias[sub, None]
                for c in range(cout):
                    o = kk * cout + c
                    for vi in range(v):
                        y = w_t[o] @ x[n, :, :, vi] + gc.transform.bias[o]
                        for wi in range(v):
                            q = w_xi[o] @ torch.tanh(psi[:, vi] - phi[:, wi]) + gc.xi.bias[o]
                            agg[n, c, :, wi] += (gc.topology[kk, vi, wi] + gc.alpha * q) * y
        return torch.relu(gc.bn(agg) + gc.residual(x))

    expect = loop()
    torch.testing.assert_close(gc(x), expect)
    params = [gc.topology, gc.alpha]
    grads = torch.autograd.grad(gc(x).square().sum(), params)
    for got, ref in zip(grads, torch.autograd.grad(expect.square().sum(), params), strict=True):
        torch.testing.assert_close(got, ref)


@pytest.mark.parametrize("stride", [1, 2])
def test_multi_scale_temporal_conv_keeps_width_and_strides_time(stride):
    from skelkd.models.ctrgcn import MultiScaleTemporalConv

    tcn = MultiScaleTemporalConv(18, stride, kernel=5)  # 4 branches of 4, the 1x1 one 6
    assert [b[-1].num_features for b in tcn.branches] == [4, 4, 4, 6]
    out = tcn(torch.randn(2, 18, 11, 7))
    assert out.shape == (2, 18, 11 if stride == 1 else 6, 7)


def test_ctrgcn_recognizer_exports(tmp_path):
    """CTR-GCN's per-sample topologies survive TorchScript tracing and ONNX export."""
    from skelkd.export import export_model

    torch.manual_seed(0)
    m = Recognizer(ModelSpec("coco", 3, 5, backbone="ctrgcn-tiny"))
    for fmt in ("torchscript", "onnx"):  # onnx is in the test extra
        r = export_model(m, tmp_path / f"m.{fmt}", fmt, num_frames=16)
        assert r["same_top1"] and r["max_abs_diff"] < 1e-4, r


def test_onnx_export_is_one_file_that_carries_what_a_deployer_needs(tmp_path):
    """The .onnx alone, copied elsewhere, loads and runs (no side file of weights), and
    its metadata names the classes, the layout's joints and the input."""
    import json
    import shutil

    import onnxruntime as ort

    from skelkd.export import example_input, export_model

    torch.manual_seed(0)
    m = Recognizer(ModelSpec("coco", 3, 4, backbone="stgcn-tiny", coord_dims=2,
                             class_names=["a", "b", "c", "d"], clip_seconds=1.5)).eval()
    export_model(m, tmp_path / "out" / "m.onnx", "onnx", num_frames=16)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m.onnx"]
    moved = tmp_path / "elsewhere" / "m.onnx"
    moved.parent.mkdir()
    shutil.copy(tmp_path / "out" / "m.onnx", moved)
    (tmp_path / "out" / "m.onnx").unlink()
    session = ort.InferenceSession(str(moved), providers=["CPUExecutionProvider"])
    x = example_input(m, 16, batch=2, seed=3)
    with torch.no_grad():
        want = m(x).numpy()
    got = session.run(None, {"skeletons": x.numpy()})[0]
    assert np.abs(got - want).max() < 1e-4
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["class_names"]) == ["a", "b", "c", "d"]
    assert meta["layout"] == "coco" and len(json.loads(meta["joint_names"])) == 17
    assert meta["num_frames"] == "16" and json.loads(meta["channels"]) == ["x", "y", "score"]
    assert meta["clip_seconds"] == "1.5" and meta["normalization"] == "torso"
    assert meta["miss_below"] == "0.5" and meta["reject_below"] == "0"  # never rejects


def test_edge_importance_is_learned_and_graph_fixed():
    b = Backbone("coco", 3, config="stgcn-small", **TINY)
    names = dict(b.named_parameters())
    assert any("importance" in n for n in names)
    assert not any("adjacency" in n for n in names)  # a buffer, not trained
    a = Backbone("coco", 3, config="agcn-small", **TINY)
    assert any("learned" in n for n in dict(a.named_parameters()))


def test_part_features_average_the_parts_joints():
    lay = get_layout("coco")
    feats = torch.randn(2, 2, 4, 5, lay.num_joints)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    out = part_features(feats, mask, lay)
    assert out.shape == (2, 5, 4)
    for p, joints in enumerate(lay.part_indices):
        want0 = feats[0].mean(dim=2)[:, :, list(joints)].mean(dim=(0, 2))
        want1 = feats[1, 0].mean(dim=1)[:, list(joints)].mean(dim=1)
        torch.testing.assert_close(out[0, p], want0)
        torch.testing.assert_close(out[1, p], want1)  # the absent person is left out


def test_person_mask_present_and_all():
    x = torch.zeros(3, 2, 4, 5, 3)
    x[0, 0, 1, 2, 0] = 1
    x[1] = 1
    m = person_mask(x)
    assert m.tolist() == [[1, 0], [1, 1], [1, 0]]  # an empty input keeps its first slot
    assert person_mask(x, "all").tolist() == [[1, 1]] * 3


def test_channel_input_norm_survives_zeroing_a_constant_channel():
    """A score that is constant for each joint in training (1 for some joints, 0.5 for
    others) must not explode when a joint is occluded at test time
    (``../shared/FINDINGS.md``); per-joint BatchNorm does. (A score constant over all
    joints is not fed at all: see test_train.py.)"""
    torch.manual_seed(0)
    outs = {}
    for norm in ("channel", "joint"):
        backbone = Backbone("penn_action", 3, config="stgcn-small", **TINY, input_norm=norm)
        x = torch.randn(64, 1, 8, 13, 3)
        x[..., 2] = 1.0
        x[..., 6:, 2] = 0.5  # each joint's score is constant
        backbone.train()
        for _ in range(100):
            backbone.normalize_input(x)  # settle the running statistics
        backbone.eval()
        occluded = x[:4].clone()
        occluded[:, :, :, [0, 1], :] = 0
        outs[norm] = backbone.normalize_input(occluded).abs().max().item()
    assert outs["channel"] < 10 and outs["joint"] > 100


def test_recognizer_features_consistent():
    m = Recognizer(ModelSpec("ntu", 3, 7, num_persons=2, backbone="agcn-small", overrides=TINY))
    m.eval()
    x = torch.randn(2, 2, 10, 25, 3)
    logits, g, parts = m.features(x)
    torch.testing.assert_close(logits, m(x))
    assert g.shape == (2, 16) and parts.shape == (2, 5, 16)
    assert np.isfinite(logits.detach().numpy()).all()


def test_efficientgcn_inputs_match_their_definitions():
    """The three inputs of EfficientGCN (joints, velocities, bones) against a literal
    loop over frames and joints: positions and positions relative to the centre; the
    change to the next frame and to the frame after; each joint minus its parent and the
    bone's angle to each axis; zero where a joint they use is missing; the score last."""
    from skelkd.models.efficientgcn import branch_inputs

    layout = get_layout("coco")
    rng = np.random.default_rng(0)
    t, v = 6, layout.num_joints
    pos = rng.normal(size=(2, t, v)).astype(np.float32)
    score = rng.uniform(0.2, 1, size=(t, v)).astype(np.float32)
    score[2, 5] = 0  # a joint missing in frame 2
    pos[:, 2, 5] = 0
    x = torch.from_numpy(np.concatenate([pos, score[None]], 0))[None]
    joints, moves, bones = (z[0].numpy() for z in branch_inputs(x, layout, 2))
    parents, centre = layout.parents, layout.center_index
    assert parents[centre] == centre
    for f in range(t):
        for j in range(v):
            ok = score[f, j] > 0
            np.testing.assert_allclose(joints[:, f, j], [*pos[:, f, j],
                                       *((pos[:, f, j] - pos[:, f, centre]) * ok),
                                       score[f, j]], atol=1e-6)
            want = []
            for lag in (1, 2):
                both = f + lag < t and ok and score[f + lag, j] > 0
                want += list(pos[:, f + lag, j] - pos[:, f, j]) if both else [0, 0]
            np.testing.assert_allclose(moves[:, f, j], [*want, score[f, j]], atol=1e-6)
            p = parents[j]
            bone = (pos[:, f, j] - pos[:, f, p]) * (ok and score[f, p] > 0)
            length = np.linalg.norm(bone)
            angle = np.arccos(np.clip(bone / length, -1, 1)) if length > 0 else [0, 0]
            np.testing.assert_allclose(bones[:, f, j], [*bone, *angle, score[f, j]],
                                       atol=1e-5)
    # every parent is one bone closer to the centre
    hops = {centre: 0}
    while len(hops) < v:
        for j in range(v):
            if j not in hops and parents[j] in hops:
                hops[j] = hops[parents[j]] + 1
    assert all(frozenset((j, parents[j])) in {frozenset(map(int, e)) for e in layout.edges}
               for j in range(v) if j != centre)


def test_efficientgcn_scaling_and_its_checks():
    """B0 and B4 from the compound scaling rule (widths x 1.2^phi to multiples of 16,
    depths x 1.35^phi), within 10% of the paper's parameter counts (0.29 M and 1.10 M on
    NTU RGB+D's 25 joints, 60 classes, 3D; ours differ in the graph partition and the
    attention's reduction, efficientgcn.py); a bad stage description is refused."""
    b0, b4 = backbone_config("efficientgcn-b0"), backbone_config("efficientgcn-b4")
    assert (b0.channels, b0.depths) == ((48, 32, 64, 128), (0, 0, 1, 1))
    assert (b4.channels, b4.depths) == ((96, 48, 128, 272), (2, 2, 3, 3))
    for name, params in (("efficientgcn-b0", 0.29), ("efficientgcn-b4", 1.10)):
        model = Recognizer(ModelSpec("ntu", 3, 60, num_persons=2, backbone=name,
                                     coord_dims=3))
        count = sum(p.numel() for p in model.parameters()) / 1e6
        assert abs(count - params) < 0.1 * params, (name, count)
    with pytest.raises(SkelkdError, match="depths needs one whole number"):
        backbone_config("efficientgcn-b0", depths=(1, 1))
    with pytest.raises(SkelkdError, match="branch_stages"):
        backbone_config("efficientgcn-b0", branch_stages=4)


def test_prgcn_refines_from_the_identity_and_fuses_its_motion_branch():
    """PR-GCN (models/prgcn.py): the motion input against a literal loop (the change to
    the next frame, zero in the last frame and where the joint is missing in either);
    a new network's refinement returns the pose unchanged; a training step makes it
    correct the pose; the motion branch reaches the output."""
    from skelkd.models.inputs import motion
    from skelkd.models.prgcn import PrGcn

    rng = np.random.default_rng(0)
    pos = torch.from_numpy(rng.normal(size=(1, 2, 5, 4)).astype(np.float32))
    present = torch.ones(1, 1, 5, 4)
    present[0, 0, 2, 1] = 0
    m = motion(pos, present)[0].numpy()
    for f in range(5):
        for j in range(4):
            both = f + 1 < 5 and present[0, 0, f, j] > 0 and present[0, 0, f + 1, j] > 0
            want = (pos[0, :, f + 1, j] - pos[0, :, f, j]).numpy() if both else [0, 0]
            np.testing.assert_allclose(m[:, f, j], want, atol=1e-6)

    torch.manual_seed(0)
    net = PrGcn(get_layout("coco"), 3, 2, backbone_config("prgcn-tiny", **TINY))
    x = torch.randn(4, 3, 12, 17)
    pos, present = x[:, :2], (x[:, 2:] > 0).float()
    torch.testing.assert_close(net.refine(pos, present), pos)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):  # the first step moves the zero offset, the second what feeds it
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    assert not torch.allclose(net.refine(pos, present), pos)
    net.eval()
    before = net(x)
    with torch.no_grad():
        net.motion[-1].tcn[-1].bias.add_(1.0)
    assert not torch.allclose(net(x), before)


def test_an_ensemble_reads_as_the_mean_of_its_members(tmp_path):
    """ModelSpec.members > 1 builds an Ensemble: its softmax is the mean of its members'
    class probabilities; it saves, loads (weights_only) and exports like one model."""
    from skelkd.export import export_model
    from skelkd.models import Ensemble, build_model
    from skelkd.train.api import load_module
    from skelkd.train.checkpoint import stamp, write_checkpoint

    torch.manual_seed(0)
    spec = ModelSpec("coco", 3, 4, backbone="stgcn-tiny", overrides=TINY, coord_dims=2,
                     members=3)
    ens = build_model(spec).eval()
    assert isinstance(ens, Ensemble) and len(ens.members) == 3
    assert isinstance(build_model(ModelSpec("coco", 3, 4, overrides=TINY)), Recognizer)
    x = torch.randn(5, 1, 16, 17, 3)
    with torch.no_grad():
        want = torch.stack([m(x).softmax(1) for m in ens.members]).mean(0)
        torch.testing.assert_close(ens(x).softmax(1), want)
        assert not torch.allclose(ens.members[0](x), ens.members[1](x))
    state = {f"model.{k}": v for k, v in ens.state_dict().items()}
    path = write_checkpoint(stamp({"state_dict": state, "hyper_parameters": {
        "spec": ens.spec_dict(), "optim": None}}), tmp_path / "e.ckpt")
    loaded = load_module(path).model
    assert isinstance(loaded, Ensemble) and loaded.spec == spec
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ens(x))
    r = export_model(loaded, tmp_path / "e.onnx", "onnx", num_frames=16)
    assert r["same_top1"] and r["max_abs_diff"] < 1e-4, r
    with pytest.raises(ValueError, match="members"):
        build_model(ModelSpec("coco", 3, 4, members=0))
    again = Ensemble.of(list(ens.members)).eval()  # trained recognisers made one
    with torch.no_grad():
        torch.testing.assert_close(again(x), ens(x))
    other = Recognizer(ModelSpec("coco", 3, 5, overrides=TINY))
    with pytest.raises(ValueError, match="one specification"):
        Ensemble.of([ens.members[0], other])
