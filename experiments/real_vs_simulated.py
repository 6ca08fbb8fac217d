"""Real BlazePose output next to the simulated low-quality skeletons the students train
on: where the simulation differs from what a real estimator gives on real video.

    python experiments/real_vs_simulated.py FOLDER [--doc docs/real_vs_simulated.md]

FOLDER is a folder of labelled real clips with ``manifest.csv`` (as for
``benchmarks/real_video.py``, whose extraction cache it shares; needs the ``video`` extra
unless every clip is cached). Every skeleton is brought to the Penn Action layout (the
shipped student's), normalised as the models see it (torso centre, torso length) and
measured the same way:

* duration in seconds (30 fps for Penn Action);
* missing joints (score 0);
* motion: the median distance a joint moves from one frame to the next, per 1/30 s;
* roughness: the median second difference of a joint's position (how much its velocity
  changes from frame to frame): estimator noise shows here, smooth motion does not;
* the mean score of the joints present;
* low scores: the share of the joints present scored below the calibration's miss
  threshold (``skelkd.data.calibrate.MISS_THRESHOLD``): the simulator makes those joints
  its misses, so it leaves none present; ``skelkd predict`` reads them as missing
  (``skelkd.video.to_sample``), the row "as skelkd predict reads them".

Sources: the real clips; Penn Action's human annotation (high quality); and the same
annotation degraded by the simulator's ``fast`` preset (what the reproduction trains on)
and by its ``blazepose`` preset (``fast`` with the errors' course in time fitted to a
real pair: docs/simulator.md, which also compares the error's roughness itself).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from real_video import extraction, read_manifest  # noqa: E402

LAYOUT = "penn_action"
PRESETS = ("fast", "blazepose")


def measure(kp: np.ndarray, sc: np.ndarray, fps: float) -> dict:
    """The statistics above for one (M, T, V, 2) sequence in the Penn Action layout."""
    from skelkd.data.calibrate import MISS_THRESHOLD
    from skelkd.data.transforms import normalize_batch
    from skelkd.layouts import get_layout

    n = normalize_batch(kp[None], sc[None], get_layout(LAYOUT))[0][0]  # (T, V, 2)
    ok = sc[0] > 0
    step = np.linalg.norm(np.diff(n, axis=0), axis=-1)[ok[1:] & ok[:-1]]
    d2 = np.linalg.norm(n[2:] - 2 * n[1:-1] + n[:-2], axis=-1)[ok[2:] & ok[1:-1] & ok[:-2]]
    return {"seconds": kp.shape[1] / fps, "missing": float(1 - ok.mean()),
            "motion": float(np.median(step)) * fps / 30 if step.size else np.nan,
            "roughness": float(np.median(d2)) * (fps / 30) ** 2 if d2.size else np.nan,
            "score": float(sc[0][ok].mean()) if ok.any() else np.nan,
            "low": float((sc[0][ok] < MISS_THRESHOLD).mean()) if ok.any() else np.nan}


COLUMNS = [("seconds", "seconds", "{:.1f}"), ("missing", "missing joints", "{:.1%}"),
           ("motion", "motion per 1/30 s", "{:.3f}"), ("roughness", "roughness", "{:.3f}"),
           ("score", "mean score", "{:.2f}"), ("low", "low scores", "{:.1%}")]


def row(label: str, stats: list[dict]) -> str:
    cells = [fmt.format(np.nanmedian([s[k] for s in stats])) for k, _, fmt in COLUMNS]
    return f"| {label} | {len(stats)} | " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    from skelkd.data.simulate import get_preset, simulate_sample
    from skelkd.io import embedded_pack
    from skelkd.layouts import get_layout
    from skelkd.layouts.mapping import map_layout

    bp, penn = get_layout("blazepose"), get_layout(LAYOUT)
    from skelkd.video import to_sample

    real: dict[str, list[dict]] = {}
    read: list[dict] = []
    for clip, label in read_manifest(args.folder):
        e = extraction(clip, args.cache)
        kp, sc = map_layout(e.keypoints[None], e.scores[None], bp, penn)
        real.setdefault(label, []).append(measure(kp, sc, e.fps))
        s = to_sample(e)
        read.append(measure(*map_layout(s.keypoints, s.scores, bp, penn), e.fps))
    hq = embedded_pack("penn_action")
    names = list(hq.class_names)
    sims = {p: get_preset(p, target_layout=LAYOUT) for p in PRESETS}
    by_class_hq: dict[str, list[dict]] = {}
    by_class_sim: dict[str, dict[str, list[dict]]] = {p: {} for p in PRESETS}
    for i in range(0, len(hq), 4):  # every 4th clip: 580 of them
        s = hq[i]
        by_class_hq.setdefault(names[s.label], []).append(measure(s.keypoints, s.scores, 30))
        for p, params in sims.items():
            lq = simulate_sample(s, hq.layout, params, seed=0)
            by_class_sim[p].setdefault(names[s.label], []).append(
                measure(lq.keypoints, lq.scores, 30))
    head = "| source | clips | " + " | ".join(c for _, c, _ in COLUMNS) + " |"
    sep = "|---|---|" + "---|" * len(COLUMNS)
    every = lambda d: [x for v in d.values() for x in v]  # noqa: E731
    lines = ["Medians over clips; distances in torso lengths.", "", head, sep,
             row("real BlazePose, the real clips", every(real)),
             row("the same, as skelkd predict reads them", read),
             row("Penn Action, human annotation (every 4th clip)", every(by_class_hq)),
             *[row(f"Penn Action, simulated `{p}` (the same clips)", every(by_class_sim[p]))
               for p in PRESETS], "",
             "Per class (real / annotation / " + " / ".join(f"`{p}`" for p in PRESETS)
             + "): duration in seconds and roughness:",
             "", "| class | real clips | seconds | roughness |", "|---|---|---|---|"]
    for c in sorted(real, key=lambda c: names.index(c) if c in names else 99):
        key = c if c in by_class_hq else next((n for n in names if c.startswith(n)), c)
        trio = [real[c], by_class_hq.get(key, []),
                *[by_class_sim[p].get(key, []) for p in PRESETS]]
        sec = " / ".join(f"{np.nanmedian([s['seconds'] for s in t]):.1f}" if t else "-"
                         for t in trio[:3])
        rough = " / ".join(f"{np.nanmedian([s['roughness'] for s in t]):.3f}" if t else "-"
                           for t in trio)
        lines.append(f"| {c} | {len(real[c])} | {sec} | {rough} |")
    text = "\n".join(lines)
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        write_text_atomic(args.doc, "\n".join([
            "# Real estimator output against the simulation", "",
            f"Generated by `python experiments/real_vs_simulated.py {args.folder.as_posix()}"
            f" --doc {args.doc.as_posix()}` on {datetime.date.today()} "
            f"({platform.machine()}); do not edit by hand. The real clips are real; the "
            "simulated skeletons are SIMULATED from Penn Action's annotation.", "", text, ""]))


if __name__ == "__main__":
    main()
