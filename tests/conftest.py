"""Shared fixtures: tiny synthetic packs and raw files made on the fly (no external data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from skelkd.io.pack import Sample, write_pack
from skelkd.layouts import get_layout

SHARED_DATA = Path(os.environ.get("SKELKD_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


def needs_shared(*parts: str) -> Path:
    """The path under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present at {path} (set SKELKD_SHARED_DATA); this test "
                    "checks a reader against the real dataset")
    return path


def random_skeleton(rng, layout: str, m: int = 1, t: int = 20, c: int = 2, scale: float = 100.0):
    lay = get_layout(layout)
    base = rng.normal(size=(1, 1, lay.num_joints, c)) * scale
    if c == 3:
        base[..., 2] = np.abs(base[..., 2]) + 3 * scale
    kp = base + rng.normal(size=(m, t, lay.num_joints, c)) * scale * 0.05
    sc = rng.uniform(0.3, 1.0, size=(m, t, lay.num_joints))
    return kp.astype(np.float32), sc.astype(np.float32)


def make_samples(layout: str, n: int, num_classes: int, *, c: int = 2, seed: int = 0,
                 prefix: str = "inst", persons=(1, 2), frames=(5, 30)) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = int(rng.integers(persons[0], persons[1] + 1))
        t = int(rng.integers(frames[0], frames[1] + 1))
        kp, sc = random_skeleton(rng, layout, m, t, c)
        out.append(Sample(kp, sc, i % num_classes, f"{prefix}{i:03d}", layout,
                          {"subject": int(i % 3), "view": "front"}))
    return out


@pytest.fixture
def make_pack(tmp_path):
    """Factory: a small pack on disk with a train/test split."""

    def factory(layout="coco", n=12, num_classes=3, c=2, name=None, seed=0, prefix="inst",
                **kwargs):
        samples = make_samples(layout, n, num_classes, c=c, seed=seed, prefix=prefix)
        path = tmp_path / (name or f"{layout}_{seed}.skpack")
        splits = {"official": {"train": [i for i in range(n) if i % 4], "test":
                               [i for i in range(n) if i % 4 == 0]}}
        write_pack(path, samples, layout, [f"class{k}" for k in range(num_classes)], splits,
                   **kwargs)
        from skelkd.io import open_pack

        return open_pack(path)

    return factory
