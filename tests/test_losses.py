"""Each loss against a literal, loop-by-loop transcription of the paper's equations."""

import math

import numpy as np
import pytest
import torch

from skelkd.distill import (
    alpha_at,
    global_msc_loss,
    joint_relation_loss,
    kd_kl_loss,
    occlusion_error_rates,
    occlusion_probability_drops,
    pmsc_loss,
    present_part_weights,
    softmax_parts,
)


def literal_pmsc(f_lq, f_hq, y_lq, y_hq, twin, E, w=0.5, tau=1.0, rows=None):
    """Eq. 6-11 written out with Python loops, one sample and one pair at a time;
    ``rows[i]``, when given, are sample i's part weights in place of E[y_i]."""

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True)) / (
            math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    def C(i, j):  # Eq. 6 and 7
        weights = E[y_lq[i]] if rows is None else rows[i]
        phi = sum(cos(f_lq[i][p], f_hq[j][p]) * weights[p] for p in range(len(E[0])))
        return math.exp(phi / tau)

    losses = []
    for i in range(len(f_lq)):
        positives = [j for j in range(len(f_hq)) if y_hq[j] == y_lq[i] and j != twin[i]]
        negatives = [j for j in range(len(f_hq)) if y_hq[j] != y_lq[i]]
        cp = sum(C(i, j) for j in positives) / len(positives) if positives else 0.0  # Eq. 9
        cn = sum(C(i, j) for j in negatives) / len(negatives) if negatives else 0.0  # Eq. 10
        if twin[i] >= 0:  # paired, Eq. 8 first case
            num = C(i, twin[i]) + w * cp
        else:  # solitary, Eq. 8 second case
            if not positives or w == 0:
                continue  # 0 / 0 or log 0: undefined, left out of the mean (docs/design.md)
            num = w * cp
        losses.append(-math.log(num / (num + cn)))
    return sum(losses) / len(losses)  # Eq. 11


def _random_batch(seed, n=9, b=6, classes=3, c=7, relu=True):
    g = torch.Generator().manual_seed(seed)
    f_lq = torch.randn(n, 5, c, generator=g, dtype=torch.float64)
    f_hq = torch.randn(b, 5, c, generator=g, dtype=torch.float64)
    if relu:
        f_lq, f_hq = f_lq.relu() + 0.01, f_hq.relu() + 0.01
    y_hq = torch.randint(0, classes, (b,), generator=g)
    twin = torch.full((n,), -1)
    twin[:b] = torch.randperm(b, generator=g)  # the first b samples are paired
    y_lq = torch.randint(0, classes, (n,), generator=g)
    y_lq[:b] = y_hq[twin[:b]]
    E = torch.softmax(torch.rand(classes, 5, generator=g, dtype=torch.float64), dim=1)
    return f_lq, f_hq, y_lq, y_hq, twin, E


def _as_lists(*tensors):
    return [t.tolist() for t in tensors]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tau, w", [(1.0, 0.5), (0.1, 0.5), (0.5, 1.0), (1.0, 0.0)])
def test_pmsc_matches_literal_equations(seed, tau, w):
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(seed)
    got = pmsc_loss(f_lq, f_hq, y_lq, y_hq, twin, E, w=w, temperature=tau)
    want = literal_pmsc(*_as_lists(f_lq, f_hq, y_lq, y_hq, twin, E), w=w, tau=tau)
    assert got.item() == pytest.approx(want, abs=1e-5)


def test_pmsc_float32_and_all_solitary_or_all_paired():
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(3, n=6, b=6)
    want = literal_pmsc(*_as_lists(f_lq, f_hq, y_lq, y_hq, twin, E))
    got = pmsc_loss(f_lq.float(), f_hq.float(), y_lq, y_hq, twin, E.float())
    assert got.item() == pytest.approx(want, abs=1e-5)
    solo = torch.full_like(twin, -1)
    want = literal_pmsc(*_as_lists(f_lq, f_hq, y_lq, y_hq, solo, E))
    assert pmsc_loss(f_lq, f_hq, y_lq, y_hq, solo, E).item() == pytest.approx(want, abs=1e-5)


def test_pmsc_edge_cases_are_defined_and_finite():
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(1, n=4, b=2, classes=4)
    f_lq.requires_grad_(True)
    # solitary samples of a class absent from B^H: no positive, left out
    y_hq = torch.tensor([0, 0])
    y_lq = torch.tensor([0, 0, 3, 3])
    twin = torch.tensor([0, 1, -1, -1])
    loss = pmsc_loss(f_lq, f_hq, y_lq, y_hq, twin, E)
    # every B^H sample is of the same class: no negatives, the paired losses are 0
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert torch.isfinite(f_lq.grad).all()
    # nothing defined at all: zero, with a gradient path
    none = pmsc_loss(f_lq, f_hq, torch.tensor([3, 3, 3, 3]), y_hq, torch.full((4,), -1), E)
    assert none.item() == 0.0 and none.requires_grad


def test_pmsc_small_temperature_does_not_overflow():
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(2)
    loss = pmsc_loss(f_lq.float(), f_hq.float(), y_lq, y_hq, twin, E.float(), temperature=1e-3)
    assert torch.isfinite(loss)


def test_pmsc_prefers_aligned_features():
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(4, n=6, b=6)
    aligned = f_hq[twin]
    assert pmsc_loss(aligned, f_hq, y_lq, y_hq, twin, E) < pmsc_loss(f_lq, f_hq, y_lq, y_hq,
                                                                     twin, E)


def test_global_msc_is_pmsc_with_one_part_and_unit_weight():
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(5)
    g_lq, g_hq = f_lq[:, 0], f_hq[:, 0]
    want = literal_pmsc(*_as_lists(g_lq[:, None], g_hq[:, None], y_lq, y_hq, twin,
                                   torch.ones(3, 1, dtype=torch.float64)))
    assert global_msc_loss(g_lq, g_hq, y_lq, y_hq, twin).item() == pytest.approx(want, abs=1e-5)


def test_kd_kl_matches_definition():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    T = 3.0
    want = 0.0
    for i in range(5):
        p = torch.softmax(t[i] / T, 0)
        q = torch.softmax(s[i] / T, 0)
        want += float((p * (p.log() - q.log())).sum())
    assert kd_kl_loss(s, t, T).item() == pytest.approx(want / 5 * T * T, rel=1e-5)
    assert kd_kl_loss(s[:0], t[:0]).item() == 0.0


def test_part_matrix_literal_eq12_eq13():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 20)
    predicted = np.where(rng.random((20, 5)) < 0.3, (y[:, None] + 1) % 3, y[:, None])
    predicted[:, 3] = (y + 2) % 3  # always wrong without the left leg

    rates = occlusion_error_rates(y, predicted, 4)
    for c in range(3):
        for p in range(5):
            wrong = sum(1 for i in range(20) if y[i] == c and predicted[i, p] != c)
            total = sum(1 for i in range(20) if y[i] == c)
            assert rates[c, p] == pytest.approx(wrong / total)
    assert (rates[:3, 3] == 1).all()
    assert (rates[3] == 0).all()  # a class without samples
    e = softmax_parts(rates)
    for c in range(4):
        z = [math.exp(r) for r in rates[c]]
        assert e[c] == pytest.approx([v / sum(z) for v in z])
    assert softmax_parts(rates, 0.1)[0, 3] > e[0, 3]


def test_probability_drops_match_a_literal_loop():
    rng = np.random.default_rng(1)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    full, occluded = rng.random(10), rng.random((10, 5))
    drops = occlusion_probability_drops(y, full, occluded, 4)
    for c in range(3):
        idx = [i for i in range(10) if y[i] == c]
        for p in range(5):
            total = sum(max(0.0, full[i] - occluded[i, p]) for i in idx)
            assert drops[c, p] == pytest.approx(total / len(idx))
    assert (drops[3] == 0).all() and (drops >= 0).all()
    assert 0 < drops.max() <= 1


def test_joint_relation_loss_matches_its_definition():
    """The SKD-style joint-level loss against a literal loop: per paired sample, the
    cosine similarity of every two shared joints' features, student against teacher,
    squared differences averaged over samples and joint pairs; widths may differ; no
    pair gives 0."""
    rng = np.random.default_rng(0)
    p, j = 3, 5
    f_lq, f_hq = rng.normal(size=(p, j, 8)), rng.normal(size=(p, j, 6))

    def cos(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    total = 0.0
    for i in range(p):
        for a in range(j):
            for b in range(j):
                total += (cos(f_lq[i, a], f_lq[i, b]) - cos(f_hq[i, a], f_hq[i, b])) ** 2
    got = joint_relation_loss(torch.tensor(f_lq), torch.tensor(f_hq))
    assert float(got) == pytest.approx(total / (p * j * j), rel=1e-6)
    empty = joint_relation_loss(torch.zeros(0, j, 8), torch.zeros(0, j, 6))
    assert float(empty) == 0.0
    same = torch.tensor(f_lq)
    assert float(joint_relation_loss(same, 2 * same)) == pytest.approx(0.0, abs=1e-12)


def test_absent_parts_leave_phi_as_a_literal_loop_says():
    """distill.absent_parts: drop: a part missing from a low-quality sample gets weight 0
    in its phi (Eq. 7) and its present parts share the row's weight in proportion to E; a
    sample with no part present keeps E's row; with every part present, the paper's."""
    f_lq, f_hq, y_lq, y_hq, twin, E = _random_batch(3)
    g = torch.Generator().manual_seed(1)
    present = torch.rand(len(f_lq), 5, generator=g) > 0.4
    present[0] = False
    present[1] = True
    weights = present_part_weights(E[y_lq], present)
    for i in range(len(f_lq)):
        row = E[y_lq[i]].tolist()
        kept = [row[p] if present[i, p] else 0.0 for p in range(5)]
        want = row if sum(kept) == 0 else [k * sum(row) / sum(kept) for k in kept]
        assert weights[i].tolist() == pytest.approx(want)
    # the loss with those weights is the literal equations with each sample's own row
    got = pmsc_loss(f_lq, f_hq, y_lq, y_hq, twin, E, temperature=0.1, present=present)
    want = literal_pmsc(*_as_lists(f_lq, f_hq, y_lq, y_hq, twin, E), tau=0.1,
                        rows=weights.tolist())
    assert got.item() == pytest.approx(want, abs=1e-5)
    all_there = torch.ones_like(present)
    assert pmsc_loss(f_lq, f_hq, y_lq, y_hq, twin, E, present=all_there).item() == \
        pytest.approx(pmsc_loss(f_lq, f_hq, y_lq, y_hq, twin, E).item())



def test_alpha_schedules_as_written():
    """distill.alpha_schedule: constant; warmup, linear over the first quarter of the
    epochs (rounded up); decay, linear from alpha to alpha / epochs."""
    assert [alpha_at(2.0, "constant", e, 8) for e in range(8)] == [2.0] * 8
    assert [alpha_at(2.0, "warmup", e, 8) for e in range(8)] == [1.0] + [2.0] * 7
    assert [alpha_at(1.0, "warmup", e, 12) for e in range(4)] == pytest.approx(
        [1 / 3, 2 / 3, 1.0, 1.0])
    assert [alpha_at(1.0, "decay", e, 4) for e in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert alpha_at(1.0, "warmup", 0, 1) == 1.0 and alpha_at(1.0, "decay", 5, 4) == 0.25
    with pytest.raises(ValueError, match="alpha_schedule"):
        alpha_at(1.0, "cosine", 0, 4)
    from skelkd.config import load_config
    from skelkd.errors import SkelkdError

    assert load_config(None, ["distill.alpha_schedule=warmup"]).distill.alpha_schedule == \
        "warmup"
    for bad, key in (("distill.alpha_schedule=cosine", "alpha_schedule"),
                     ("distill.kl_weight=-1", "kl_weight"),
                     ("distill.global_weight=-0.5", "global_weight"),
                     ("train.outlier_weight=-1", "outlier_weight")):
        with pytest.raises(SkelkdError, match=key):
            load_config(None, [bad])
