"""How much the start and end of a real clip decide the answer: each clip of a labelled
folder read as ONE input three ways, the whole clip, without its first and last 20%, and
without its first and last 30%, by the same model and BlazePose output as
``benchmarks/real_video.py`` (its manifest, its extraction cache).

    python benchmarks/real_video_ends.py FOLDER [--model RUN] [--cache DIR]

Penn Action's clips are trimmed to the action; real clips often begin and end at rest.
When cutting the ends turns wrong answers right, the model reads a still lead-in or
lead-out as part of another action. Prints one row per clip and the top-1 of each
reading; a diagnosis, not a way of predicting (it drops frames a real answer needs).
Needs the ``video`` extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_video import extraction, match_class, read_manifest  # noqa: E402

CUTS = (0.0, 0.2, 0.3)  # the share dropped at each end


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default=None,
                    help="Run folder of a student (default: the model `skelkd predict` uses)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    args = ap.parse_args()

    from skelkd.io.pack import Sample
    from skelkd.predict import default_model, predict
    from skelkd.video import to_sample

    model, cfg, _ = default_model(args.model)
    names = list(model.spec.class_names)
    frames = (cfg.input.num_frames if cfg else None) or model.spec.num_frames or 32
    print("| clip | class | " + " | ".join(f"ends cut {c:.0%}" for c in CUTS) + " |")
    print("|---|---|" + "---|" * len(CUTS))
    right = np.zeros(len(CUTS))
    clips = read_manifest(args.folder)
    for clip, label in clips:
        label = match_class(label, names, args.folder)
        s = to_sample(extraction(clip, args.cache))
        cells = []
        for k, cut in enumerate(CUTS):
            a, b = int(cut * s.num_frames), s.num_frames - int(cut * s.num_frames)
            part = Sample(s.keypoints[:, a:b], s.scores[:, a:b], s.label, s.instance_id,
                          s.layout, s.meta)
            top = predict(model, [part], frames)[0]["top"][0]
            right[k] += top["class"] == label
            cells.append(f"{top['class']} {100 * top['probability']:.0f}%"
                         + ("" if top["class"] == label else " (wrong)"))
        print(f"| {clip.relative_to(args.folder)} | {label} | " + " | ".join(cells) + " |")
    print("\none input per clip, top-1: " + ", ".join(
        f"ends cut {c:.0%} {100 * r / len(clips):.1f}%" for c, r in zip(CUTS, right,
                                                                         strict=True)))


if __name__ == "__main__":
    main()
