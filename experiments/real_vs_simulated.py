"""Real BlazePose output next to the simulated low-quality skeletons the students train
on: where the simulation differs from what a real estimator gives on real video.

    python experiments/real_vs_simulated.py FOLDER [--data ../shared/data]
                                          [--doc docs/real_vs_simulated.md]

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
annotation degraded by the simulator's ``fast`` preset (what the reproduction and the
shipped student train on). With ``--data``, also the one real pair whose high-quality
side is smooth enough to measure how the estimator's error changes over time (NTU RGB+D
Kinect V2 joints beside BlazePose): the error's roughness over its size, real against the
simulator at its temporal correlation (``jitter_rho``) and at 0.99.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))  # calibrate_simulator
from real_video import extraction, read_manifest  # noqa: E402

LAYOUT = "penn_action"


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


def pair_rows(data: Path) -> list[str]:
    """The NTU pair: the error's roughness over its median size, real and simulated."""
    from calibrate_simulator import load_pairs

    from skelkd.data.calibrate import body_height, common_joints, match_lq
    from skelkd.data.simulate import degrade, get_preset
    from skelkd.data.transforms import sample_rng
    from skelkd.layouts import get_layout
    from skelkd.layouts.mapping import map_layout

    bp, coco = get_layout("blazepose"), get_layout("coco")
    pairs, _ = load_pairs(data)
    name, hq, hsc, lay, lq, lsc, swap = next(p for p in pairs if p[0].startswith("NTU"))
    idx = [lay.index(j) for j in common_joints(lay, bp)]
    h = body_height(hq[None], hsc[None])

    def ratio(lq2, lsc2) -> float:
        e = (lq2[:, idx] - hq[:, idx]) / h
        ok = (hsc[:, idx] > 0) & (lsc2[:, idx] >= 0.5)
        d2 = np.linalg.norm(e[2:] - 2 * e[1:-1] + e[:-2], axis=-1)[ok[2:] & ok[1:-1] & ok[:-2]]
        return float(np.median(d2) / np.median(np.linalg.norm(e, axis=-1)[ok]))

    m, msc = match_lq(lq, lsc, bp, lay, swap_sides=swap)
    rows = [f"| real BlazePose | {ratio(m, msc):.3f} |"]
    fast = get_preset("fast")
    kp, sc = map_layout(hq[None], hsc[None], lay, coco)
    for rho in (fast.jitter_rho, 0.99):
        runs = []
        for seed in range(8):
            out, osc = degrade(kp, sc, coco, fast.replace(jitter_rho=rho),
                               sample_rng(seed, name, "roughness"))
            runs.append(ratio(*match_lq(out[0], osc[0], coco, lay)))
        rows.append(f"| simulated `fast`, jitter_rho {rho:g} (8 seeds) | {np.mean(runs):.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--data", type=Path, default=None, help="../shared/data, for the NTU pair")
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
    fast = get_preset("fast", target_layout=LAYOUT)
    by_class_hq: dict[str, list[dict]] = {}
    by_class_sim: dict[str, list[dict]] = {}
    for i in range(0, len(hq), 4):  # every 4th clip: 580 of them
        s = hq[i]
        by_class_hq.setdefault(names[s.label], []).append(measure(s.keypoints, s.scores, 30))
        lq = simulate_sample(s, hq.layout, fast, seed=0)
        by_class_sim.setdefault(names[s.label], []).append(
            measure(lq.keypoints, lq.scores, 30))
    head = "| source | clips | " + " | ".join(c for _, c, _ in COLUMNS) + " |"
    sep = "|---|---|" + "---|" * len(COLUMNS)
    every = lambda d: [x for v in d.values() for x in v]  # noqa: E731
    lines = ["Medians over clips; distances in torso lengths.", "", head, sep,
             row("real BlazePose, the real clips", every(real)),
             row("the same, as skelkd predict reads them", read),
             row("Penn Action, human annotation (every 4th clip)", every(by_class_hq)),
             row("Penn Action, simulated `fast` (the same clips)", every(by_class_sim)), "",
             "Per class (real / annotation / simulated): duration in seconds and roughness:",
             "", "| class | real clips | seconds | roughness |", "|---|---|---|---|"]
    for c in sorted(real, key=lambda c: names.index(c) if c in names else 99):
        key = c if c in by_class_hq else next((n for n in names if c.startswith(n)), c)
        trio = [real[c], by_class_hq.get(key, []), by_class_sim.get(key, [])]
        sec = " / ".join(f"{np.nanmedian([s['seconds'] for s in t]):.1f}" if t else "-"
                         for t in trio)
        rough = " / ".join(f"{np.nanmedian([s['roughness'] for s in t]):.3f}" if t else "-"
                           for t in trio)
        lines.append(f"| {c} | {len(real[c])} | {sec} | {rough} |")
    if args.data:
        lines += ["", "How fast the estimator's error changes (NTU RGB+D pair, Kinect V2 joints "
                  "projected beside BlazePose): the median second difference of the error over "
                  "its median size; white jitter gives about 1.4 at jitter_rho 0.7, an error "
                  "that drifts slowly gives much less:", "",
                  "| source | error roughness / error size |", "|---|---|", *pair_rows(args.data)]
    text = "\n".join(lines)
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        data = f" --data {args.data.as_posix()}" if args.data else ""
        write_text_atomic(args.doc, "\n".join([
            "# Real estimator output against the simulation", "",
            f"Generated by `python experiments/real_vs_simulated.py {args.folder.as_posix()}"
            f"{data} --doc {args.doc.as_posix()}` on {datetime.date.today()} "
            f"({platform.machine()}); do not edit by hand. The real clips are real; the "
            "simulated skeletons are SIMULATED from Penn Action's annotation.", "", text, ""]))


if __name__ == "__main__":
    main()
