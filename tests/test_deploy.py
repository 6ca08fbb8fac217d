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


@pytest.mark.parametrize("frames, fps, secs", [(95, 25.0, 1.0), (20, 30.0, 1.0),
                                               (300, 30.0, 0.0)])
def test_the_documented_code_predicts_what_skelkd_predicts(tmp_path, frames, fps, secs):
    import onnxruntime as ort

    from skelkd.export import export_model

    doc = _doc_code()
    torch.manual_seed(0)
    names = ["a", "b", "c", "d", "e"]
    model = Recognizer(ModelSpec("coco", 3, 5, backbone="stgcn-tiny", coord_dims=2,
                                 class_names=names, clip_seconds=secs)).eval()
    export_model(model, tmp_path / "m.onnx", "onnx", num_frames=32)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    kp, vis = _blazepose_clip(frames, seed=frames)
    sample = Sample(kp[None], vis[None], 0, "clip", "blazepose", {"fps": fps})
    want = {t["class"]: t["probability"] for t in predict_clip(model, sample, 32, top=5)["top"]}
    got = doc["classify"](session, kp, vis, fps)
    assert set(got) == set(names)
    assert max(abs(got[k] - want[k]) for k in names) < 1e-4
