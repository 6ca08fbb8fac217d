"""Drawing one sample in high and low quality (``skelkd data show``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import SkelkdError
from ..io.pack import Pack
from ..layouts import get_layout
from ..viz.skeleton import draw_frames
from .simulate import get_preset, simulate_sample
from .transforms import occlude_instance


def find_instance(pack: Pack, instance: str) -> int:
    try:
        return pack.instance_ids.index(instance)
    except ValueError:
        raise SkelkdError(f"{pack.path}: no sample with instance id '{instance}'") from None


def show_sample(pack: Pack, out: str | Path, *, index: int | None = None,
                instance: str | None = None, lq: Pack | None = None, preset: str | None = None,
                occlusion: float = 0.0, occlusion_seed: int = 0,
                frames: Sequence[int] = (0, 10, 20, 30), names: bool = False) -> Path:
    """Draw ``frames`` of one sample of ``pack`` (by index or instance id), with the same
    instance from ``lq`` and/or simulated with ``preset`` below it, and the low-quality
    row again occluded with probability ``occlusion`` (per-sequence mode)."""
    if index is None:
        index = find_instance(pack, instance) if instance is not None else 0
    if not 0 <= index < len(pack):
        raise SkelkdError(f"{pack.path}: --index {index} is outside 0..{len(pack) - 1}")
    s = pack[index]
    tag = "SIMULATED " if pack.simulated else ""
    panels = [(f"{tag}{pack.layout.name}", s.keypoints, s.scores, pack.layout)]
    if lq is not None:
        t = lq[find_instance(lq, s.instance_id)]
        tag = "SIMULATED " if lq.simulated else ""
        panels.append((f"{tag}{lq.layout.name}", t.keypoints, t.scores, lq.layout))
    if preset is not None:
        sim = simulate_sample(s, pack.layout, get_preset(preset), seed=0)
        panels.append((f"SIMULATED '{preset}' {sim.layout}", sim.keypoints, sim.scores,
                       get_layout(sim.layout)))
    if occlusion > 0:
        label, kp, sc, layout = panels[-1]
        kp, sc = occlude_instance(kp, sc, occlusion, occlusion_seed, s.instance_id)
        panels.append((f"{label}, OP {occlusion:g}", kp, sc, layout))
    title = (f"instance {s.instance_id}: {pack.class_names[s.label]} "
             f"({s.num_frames} frames)")
    return draw_frames(panels, frames, out, title=title, names=names)
