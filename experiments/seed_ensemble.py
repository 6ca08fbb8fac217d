"""Are the shipped student's mistakes on real video its seed's, or every seed's? The
students of ``experiments/simulator_preset.py`` (the shipped recipe, five seeds, each
simulation preset) read every real clip one by one and as a seed ensemble (the mean of
their class probabilities): if the seeds err on different clips, an ensemble shipped in
one file would fix some; if they err on the same clips, what is wrong is what every seed
learned from the simulated data, and more seeds cannot fix it. The ensemble's own
validation reading (Penn Action validation clips, never the test split) stands beside
the single students' mean, so a choice to ship one would be made there.

    python experiments/seed_ensemble.py --runs DIR [--seeds 0 1 2 3 4] [--draws 3]
        --real FOLDER [--doc docs/seed_ensemble.md]

``DIR`` is the folder of ``simulator_preset.py``'s students (it trains the missing ones
given ``--teacher``; this script only reads them).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from simulator_preset import PRESETS, add_student_arguments  # noqa: E402 (this folder)
from window_reading import validation_rows  # noqa: E402 (this folder)

from skelkd.config import load_config
from skelkd.experiment import student_dir
from skelkd.io.files import write_text_atomic
from skelkd.models import Ensemble
from skelkd.predict import (
    DEFAULT_READING,
    READINGS,
    combine_windows,
    default_model,
    window_probabilities,
)


def members(preset: str, args) -> tuple[list[torch.nn.Module], object]:
    cfg = load_config("penn_video", values={"data.simulate.preset": preset})
    out = []
    for s in args.seeds:
        run_cfg = load_config("penn_video", values={"data.simulate.preset": preset,
                                                    "train.seed": s})
        folder = student_dir(args.runs / f"{preset}-seed{s}", run_cfg)
        if not (folder / "metrics.json").exists():
            sys.exit(f"{folder}: no trained student; run experiments/simulator_preset.py")
        model, _, _ = default_model(folder)
        out.append(model.eval())
    return out, cfg


def ensemble(models: list[torch.nn.Module]) -> Ensemble:
    """The students as one model (``skelkd.models.Ensemble``, what ``scripts/ship_model.py``
    ships for several runs): the mean of their class probabilities."""
    return Ensemble.of(models).eval()


def real_answers(model, clips, folder: Path, cache: Path) -> list[bool]:
    """Per real clip, whether the top class (the default reading, the no-action
    threshold aside) is the clip's class."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from real_video import extraction, match_class

    from skelkd.video import to_sample

    names = list(model.spec.class_names)
    right = []
    for clip, label in clips:
        s = to_sample(extraction(clip, cache))
        top = names[int(combine_windows(window_probabilities(model, s), DEFAULT_READING)
                        .argmax())]
        right.append(top == match_class(label, names, folder))
    return right


def validation(model, cfg, draws: int) -> tuple[float, float]:
    rows = validation_rows(model, draws, cfg)
    r = READINGS.index(DEFAULT_READING)
    return rows["as trimmed"][r], float(np.mean([v[r] for k, v in rows.items()
                                                 if k != "as trimmed"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_student_arguments(ap)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from real_video import read_manifest

    clips = read_manifest(args.real)
    per_clip, table = {}, ["| trained on | models | validation, as trimmed | "
                           "validation, with rest | real clips, top class |",
                           "|---|---|---|---|---|"]
    for preset in PRESETS:
        models, cfg = members(preset, args)
        singles = [real_answers(m, clips, args.real, args.cache) for m in models]
        ens = ensemble(models)
        together = real_answers(ens, clips, args.real, args.cache)
        per_clip[preset] = (np.array(singles), np.array(together))
        vals = np.array([validation(m, cfg, args.draws) for m in models])
        ens_val = validation(ens, cfg, args.draws)
        real = 100 * np.array(singles).mean(1)
        table.append(f"| `{preset}` | each seed alone (mean ± SD over {len(models)}) | "
                     f"{vals[:, 0].mean():.2f} ± {vals[:, 0].std(ddof=1):.2f} | "
                     f"{vals[:, 1].mean():.2f} ± {vals[:, 1].std(ddof=1):.2f} | "
                     f"{real.mean():.2f} ± {real.std(ddof=1):.2f} |")
        table.append(f"| `{preset}` | the {len(models)} seeds as one ensemble | "
                     f"{ens_val[0]:.2f} | {ens_val[1]:.2f} | {100 * np.mean(together):.2f} |")
        print(table[-2], table[-1], sep="\n", flush=True)
    every = np.concatenate([s for s, _ in per_clip.values()])
    n = every.shape[0]
    counts = every.sum(0)
    spread = ["| students right on a clip (of "
              f"{n}) | clips |", "|---|---|"]
    for k in range(n, -1, -1):
        if (counts == k).any():
            spread.append(f"| {k} | {int((counts == k).sum())} |")
    wrong = [f"| {clip.relative_to(args.real).as_posix()} | {label} | {int(c)} of {n} | "
             + " | ".join("right" if t[i] else "wrong" for _, t in per_clip.values()) + " |"
             for i, ((clip, label), c) in enumerate(zip(clips, counts, strict=True)) if c < n]
    text = "\n".join([*table, "", *spread, "",
                      "| clip | class | students right | "
                      + " | ".join(f"`{p}` ensemble" for p in per_clip) + " |",
                      "|---|---|---|" + "---|" * len(per_clip), *wrong])
    print(text)
    if args.doc:
        seeds = " ".join(str(s) for s in args.seeds)
        write_text_atomic(args.doc, "\n".join([
            "# Seed ensembles on real video", "",
            f"Generated by `python experiments/seed_ensemble.py --runs "
            f"{args.runs.as_posix()} --seeds {seeds} --draws {args.draws} --real "
            f"{args.real.as_posix()} --doc {args.doc.as_posix()}` ({platform.machine()}); "
            "do not edit by hand.", "",
            "The students of docs/simulator_preset.md (the shipped recipe `penn_video`, "
            "trained on SIMULATED low-quality Penn Action by each preset, one teacher), "
            "each alone and the seeds of a preset as one ensemble (the mean of their class "
            "probabilities). Top-1 in %, the default reading "
            f"(`{DEFAULT_READING}`): Penn Action validation clips simulated as each student "
            f"was trained, as trimmed and with a synthetic rest (mean of {args.draws} "
            "draws); the real clips, the top class with the no-action threshold aside. "
            "Then, per real clip, how many of all the students name it right, and every "
            "clip some student gets wrong.", "", text, ""]))


if __name__ == "__main__":
    main()
