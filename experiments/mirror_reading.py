"""Should ``skelkd predict`` also read each window's mirror image? Each student of a recipe
read on its own run's Penn Action validation clips (simulated low quality, never the test
split), as trimmed and with a synthetic rest before and after the action, once as the
clip is and once averaging the probabilities of the clip and its mirror image (left and
right swapped, ``skelkd.predict.window_probabilities(mirror=True)``); paired by student.
Then, once, the shipped model on the real clips of ``benchmarks/real_video.py``, both
ways, reported beside the validation rows and not used to choose.

    python experiments/mirror_reading.py RUN [RUN ...] [--draws 2] [--real FOLDER]
        [--doc docs/mirror_reading.md]

The students are trained with mirror images as augmentation (``input.flip_prob``), so a
mirrored clip is one they were taught to read; averaging the two readings is the
horizontal-flip test-time augmentation of image recognition. Real clips film a
left-handed player or from the other side as often as not, while Penn Action's classes
lean to one side. Confidence: ``skelkd.predict.clip_confidence`` of each reading; the
share of rested validation clips at least as confident as the shipped threshold says how
the reading moves "no known action" (the threshold itself is recalibrated by
``scripts/ship_model.py`` with the reading ``skelkd predict`` uses).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

from skelkd.evaluate.rejection import clip_readings
from skelkd.experiment import load_data, rested_val_clips
from skelkd.io.files import write_text_atomic
from skelkd.predict import default_model, predict_clip
from skelkd.reproduce.stats import fmt_p, mean_sd, paired

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_video import labelled_clips  # noqa: E402

WAYS = {"as is": False, "with its mirror": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", metavar="RUN",
                    help="student folders of one recipe (seeds)")
    ap.add_argument("--draws", type=int, default=2, help="draws of the synthetic rest")
    ap.add_argument("--real", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    shipped, _, _ = default_model()
    threshold = shipped.spec.reject_below
    measures = {"trimmed": "validation top-1, as trimmed",
                "rest": f"validation top-1, with rest ({args.draws} draws)",
                "answered": "validation clips with rest at or above the shipped threshold "
                            f"({threshold:.3f})"}
    per: dict[str, dict[str, dict[int, float]]] = {w: {m: {} for m in measures} for w in WAYS}
    for k, run in enumerate(args.runs):
        model, cfg, folder = default_model(run)
        model.eval()
        hq, lq, _, _ = load_data(cfg, folder.parent)
        trimmed = [lq[int(i)] for i in lq.split_indices(cfg.data.split, cfg.data.val_subset)]
        rested = [c for d in range(args.draws) for c in rested_val_clips(cfg, hq, lq, d)]
        for way, mirror in WAYS.items():
            _, right = clip_readings(model, trimmed, mirror=mirror)
            conf, right_rest = clip_readings(model, rested, mirror=mirror)
            per[way]["trimmed"][k] = 100 * right.mean()
            per[way]["rest"][k] = 100 * right_rest.mean()
            per[way]["answered"][k] = 100 * (conf >= threshold).mean()
            print(run, way, {m: round(per[way][m][k], 2) for m in measures}, flush=True)
    lines = ["| measure | as is | with its mirror | gain | 95% CI | p |",
             "|---|---|---|---|---|---|"]
    for key, name in measures.items():
        pr = paired(per["as is"][key], per["with its mirror"][key])
        lo, hi = pr.interval()
        lines.append(f"| {name} | {mean_sd(pr.a)} | {mean_sd(pr.b)} | {pr.gain:+.2f} | "
                     f"[{lo:+.2f}, {hi:+.2f}] | {fmt_p(pr.p)} |")
    real_lines = []
    if args.real:
        names = list(shipped.spec.class_names)
        clips = list(labelled_clips(args.real, names, args.cache))
        real_lines = ["| real clips, the shipped model | as is | with its mirror |",
                      "|---|---|---|"]
        got = {}
        for way, mirror in WAYS.items():
            top1 = top3 = 0
            for _, label, s in clips:
                ranked = [t["class"] for t in predict_clip(shipped, s, top=3,
                                                           mirror=mirror)["top"]]
                top1 += ranked[0] == label
                top3 += label in ranked
            got[way] = (100 * top1 / len(clips), 100 * top3 / len(clips))
        real_lines.append(f"| top class, the threshold aside ({len(clips)} clips) | "
                          f"{got['as is'][0]:.1f}% | {got['with its mirror'][0]:.1f}% |")
        real_lines.append(f"| top-3 | {got['as is'][1]:.1f}% | {got['with its mirror'][1]:.1f}% |")
    text = "\n".join([*lines, "", *real_lines])
    print(text)
    if args.doc:
        cmd = ("python experiments/mirror_reading.py "
               + " ".join(r.as_posix() for r in args.runs) + f" --draws {args.draws}"
               + (f" --real {args.real.as_posix()}" if args.real else "")
               + f" --doc {args.doc.as_posix()}")
        write_text_atomic(args.doc, "\n".join([
            "# Reading each window with its mirror image", "",
            f"Generated by `{cmd}` ({platform.machine()}); do not edit by hand.", "",
            f"{len(args.runs)} students of one recipe (seeds), each on its own run's Penn "
            "Action validation clips, SIMULATED low quality, read by `skelkd predict`'s "
            "windows and default reading, as is and averaging each window's probabilities "
            "with its mirror image's; paired by student (mean +- SD, the paired gain, its "
            "95% t interval and the paired t-test's p). The choice is made on these rows; "
            "the real clips are read once, both ways, after it.", "", text, ""]))


if __name__ == "__main__":
    main()
