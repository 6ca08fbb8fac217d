"""``skelkd demo``: the main job on the embedded Penn Action pack.

Implemented so far: the data part (summary, simulated low-quality twin, pairing and
occlusion, a drawing). Teacher, part matrix and students come with the method and
engine issues.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .data.dataset import PairedDataset
from .data.show import show_sample
from .data.simulate import get_preset, simulate_pack
from .data.transforms import Pipeline
from .io import embedded_pack, open_pack
from .io.info import describe, format_description


def run_demo(out: Path, preset: str = "fast", echo: Callable[[str], None] = print,
             num_frames: int = 32) -> dict:
    """Run the demo into folder ``out``; returns the figures it printed."""
    start = time.time()
    out.mkdir(parents=True, exist_ok=True)
    hq = embedded_pack()
    echo(format_description(describe(hq)).split("\n\n")[0])
    lq_path = out / f"penn_action_lq_{preset}.skpack"
    echo(f"\nsimulating low-quality skeletons (preset '{preset}', COCO layout): SIMULATED data")
    simulate_pack(hq, lq_path, get_preset(preset, target_layout="coco"), seed=0, preset=preset,
                  overwrite=True)
    lq = open_pack(lq_path)
    test = lq.split_indices("official", "test")
    figures: dict = {"simulated_missing_rate": describe(lq)["missing_joint_rate"]}
    echo(f"simulated pack {lq_path}: missing joints "
         f"{100 * figures['simulated_missing_rate']:.1f}%")
    for op in (0.0, 0.6):
        ds = PairedDataset(lq, hq, Pipeline("coco", num_frames, occlusion=op),
                           Pipeline("penn_action", num_frames), indices=test)
        zeroed = np.mean([float((ds[i]["x_lq"][..., 2] == 0).float().mean())
                          for i in range(len(ds))])
        figures[f"op{op:g}_zeroed"] = zeroed
        echo(f"test split at OP {op:g}: {len(ds)} low-quality samples, {int(ds.paired.sum())} "
             f"paired with their human-annotated twin; {100 * zeroed:.1f}% of input joints "
             "are missing")
    idx = int(test[0])
    png = show_sample(hq, out / "sample_hq_lq.png", index=idx, lq=lq, occlusion=0.6,
                      frames=(0, 8, 16, 24))
    echo(f"drew test sample {hq.instance_ids[idx]} in high and low quality: {png}")
    echo("\nnot implemented yet: training the teacher, the part matrix and the students "
         "(issues 3 and 4).")
    figures["seconds"] = time.time() - start
    echo(f"demo data part finished in {figures['seconds']:.0f} s")
    return figures
