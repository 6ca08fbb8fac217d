"""Does outlier exposure teach the shipped recipe to say "no known action"? Students of the
shipped recipe (``penn_video``) trained without and with outlier exposure
(``data.outliers``: actions of another dataset, simulated like the training data, whose
outputs are pulled towards the uniform distribution; Hendrycks et al., ICLR 2019), paired
by training seed, measured where the protocol chooses: Penn Action validation clips (as
trimmed and with a synthetic rest) and clips of actions the model does not know from a
dataset the outliers did not come from. Then, once, each arm's seeds as one ensemble on
the real clips.

    python experiments/outlier_exposure.py --without RUN [RUN ...] --with RUN [RUN ...]
        --unknown ucla.skpack [--exclude throw] [--real FOLDER] [--doc docs/outlier_exposure.md]

Per student: validation top-1 as trimmed and with a synthetic rest (one draw, the top
class); the "no known action" threshold that keeps answering 95% of the validation clips
with rest (as ``scripts/ship_model.py`` calibrates it); the share of unknown clips still
answered at it, and the area under the ROC curve of the confidence (known against
unknown). The confidence is ``skelkd.predict.clip_confidence``, the clip reading
``skelkd predict``'s.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

from skelkd.data.simulate import get_preset, simulated_clips
from skelkd.evaluate.rejection import auroc, clip_readings, coverage_threshold
from skelkd.experiment import load_data, rested_val_clips
from skelkd.io import open_pack
from skelkd.io.files import write_text_atomic
from skelkd.models import Ensemble
from skelkd.predict import NO_ACTION, default_model, predict_clip
from skelkd.reproduce.stats import fmt_p, mean_sd, paired

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from real_video import DEFAULT_REJECT, extraction, labelled_clips  # noqa: E402

COVERAGE = 0.95
METRICS = (("val_trimmed", "validation top-1, as trimmed"),
           ("val_rest", "validation top-1, with rest"),
           ("answered_rest", "validation clips with rest answered at the threshold"),
           ("unknown", "unknown clips answered at the threshold"),
           ("auroc", "AUROC, known (with rest) against unknown"))


def measure(model, data: dict) -> dict[str, float]:
    _, trimmed = clip_readings(model, data["val"])
    conf, right = clip_readings(model, data["rest"])
    unknown, _ = clip_readings(model, data["unknown"])
    thr = coverage_threshold(conf, COVERAGE)
    return {"val_trimmed": 100 * trimmed.mean(), "val_rest": 100 * right.mean(),
            "answered_rest": 100 * (conf >= thr).mean(),
            "unknown": 100 * (unknown >= thr).mean(), "auroc": 100 * auroc(conf, unknown),
            "threshold": thr}


def real(model, threshold: float, folder: Path, cache: Path, reject: list[Path]) -> dict:
    from skelkd.video import to_sample

    names = list(model.spec.class_names)
    top1 = top3 = top = 0
    n = 0
    for _, label, s in labelled_clips(folder, names, cache):
        r = predict_clip(model, s, top=3)
        ranked = [t["class"] for t in r["top"]]
        n += 1
        top += ranked[0] == label
        top1 += ranked[0] == label and r["confidence"] >= threshold
        top3 += label in ranked
    other = []
    for clip in reject:
        if clip.exists():
            r = predict_clip(model, to_sample(extraction(clip, cache)), top=1)
            answer = r["top"][0]["class"] if r["confidence"] >= threshold else NO_ACTION
            other.append(f"{clip.name}: {answer} ({r['top'][0]['class']} "
                         f"{100 * r['top'][0]['probability']:.0f}%, confidence "
                         f"{100 * r['confidence']:.0f}%)")
    return {"top1": 100 * top1 / n, "top3": 100 * top3 / n, "top": 100 * top / n,
            "other": other}


def held_out_data(cfg, folder: Path, unknown: Path, exclude: list[str]) -> dict:
    """What the arms are measured on: Penn Action's validation clips as trimmed and with a
    synthetic rest (one draw), and the clips of ``unknown`` (a high-quality pack of other
    actions, classes containing a word of ``exclude`` left out) simulated like the
    training data; ``cfg`` and ``folder`` are one student's run."""
    hq, lq, _, _ = load_data(cfg, folder.parent)
    val = lq.split_indices(cfg.data.split, cfg.data.val_subset)
    params = get_preset(cfg.data.simulate["preset"], target_layout=lq.layout.name)
    return {"val": [lq[int(i)] for i in val], "rest": list(rested_val_clips(cfg, hq, lq, 0)),
            "unknown": list(simulated_clips(open_pack(unknown), params, exclude))}


def measure_arms(arms: dict[str, list], data: dict) -> tuple[dict, dict]:
    """Every student of every arm (``default_model`` triples) measured alone, by training
    seed, and each arm's students as one ensemble: (per seed, ensembles)."""
    per_seed: dict[str, dict[int, dict]] = {}
    ensembles = {}
    for arm, models in arms.items():
        per_seed[arm] = {}
        for model, run_cfg, run in models:
            per_seed[arm][run_cfg.train.seed] = measure(model.eval(), data)
            print(arm, run, {k: round(float(v), 2) for k, v in
                             per_seed[arm][run_cfg.train.seed].items()}, flush=True)
        ens = Ensemble.of([m for m, _, _ in models]).eval()
        ensembles[arm] = (ens, measure(ens, data))
        print(arm, "ensemble", ensembles[arm][1], flush=True)
    return per_seed, ensembles


def arm_tables(per_seed: dict, ensembles: dict, names: dict[str, str]
               ) -> tuple[list[str], list[str], dict]:
    """The paired table of the students alone (mean ± SD, gain of the second arm over the
    first, 95% interval, p), the ensembles' table, and each metric's paired result; the
    arms' column titles are ``names``."""
    first, second = names
    head = f"| measure | {names[first]} | {names[second]} |"
    lines = [head + " gain | 95% CI | p |", "|---|---|---|---|---|---|"]
    results = {}
    for key, name in METRICS:
        pr = paired({s: v[key] for s, v in per_seed[first].items()},
                    {s: v[key] for s, v in per_seed[second].items()})
        results[key] = pr
        lo, hi = pr.interval()
        lines.append(f"| {name} | {mean_sd(pr.a)} | {mean_sd(pr.b)} | {pr.gain:+.2f} | "
                     f"[{lo:+.2f}, {hi:+.2f}] | {fmt_p(pr.p)} |")
    ens_lines = [head, "|---|---|---|"]
    for key, name in METRICS:
        ens_lines.append(f"| {name} | {ensembles[first][1][key]:.2f} | "
                         f"{ensembles[second][1][key]:.2f} |")
    return lines, ens_lines, results


def real_table(ensembles: dict, names: dict[str, str], folder: Path, cache: Path
               ) -> list[str]:
    """Each arm's ensemble on the real clips at its own threshold: top-1, top-3, the top
    class alone, and the out-of-class clips."""
    first, second = names
    lines = [f"| real clips | {names[first]} | {names[second]} |", "|---|---|---|"]
    got = {arm: real(ens, m["threshold"], folder, cache, DEFAULT_REJECT)
           for arm, (ens, m) in ensembles.items()}
    for key, name in (("top1", "top-1 (no known action counted wrong)"),
                      ("top3", "top-3"), ("top", "top class, threshold aside")):
        lines.append(f"| {name} | {got[first][key]:.1f}% | {got[second][key]:.1f}% |")
    for k in range(len(got[first]["other"])):
        lines.append(f"| out of class | {got[first]['other'][k]} | {got[second]['other'][k]} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--without", type=Path, nargs="+", required=True)
    ap.add_argument("--with", dest="with_", type=Path, nargs="+", required=True)
    ap.add_argument("--unknown", type=Path, required=True,
                    help="a high-quality pack of actions the model does not know, from "
                         "another dataset than the outliers")
    ap.add_argument("--exclude", nargs="*", default=["throw"])
    ap.add_argument("--real", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()

    arms = {"without": [default_model(r) for r in args.without],
            "with": [default_model(r) for r in args.with_]}
    _, cfg, folder = arms["without"][0]
    data = held_out_data(cfg, folder, args.unknown, args.exclude)
    per_seed, ensembles = measure_arms(arms, data)
    names = {"without": "without", "with": "with outlier exposure"}
    lines, ens_lines, _ = arm_tables(per_seed, ensembles, names)
    real_lines = real_table(ensembles, names, args.real, args.cache) if args.real else []
    text = "\n".join([*lines, "", *ens_lines, "", *real_lines])
    print(text)
    if args.doc:
        cmd = (f"python experiments/outlier_exposure.py --without "
               f"{' '.join(r.as_posix() for r in args.without)} --with "
               f"{' '.join(r.as_posix() for r in args.with_)} --unknown {args.unknown.name} "
               f"--exclude {' '.join(args.exclude)}"
               + (f" --real {args.real.as_posix()}" if args.real else "")
               + f" --doc {args.doc.as_posix()}")
        outliers = arms["with"][0][1].data
        write_text_atomic(args.doc, "\n".join([
            "# Outlier exposure for \"no known action\"", "",
            f"Generated by `{cmd}` ({platform.machine()}); do not edit by hand.", "",
            f"Students of the shipped recipe (`penn_video`), {len(arms['without'])} training "
            "seeds without and with outlier exposure (`data.outliers`: "
            f"{Path(str(outliers.outliers)).name}, classes containing "
            f"{', '.join(outliers.outlier_exclude) or 'nothing'} left out; "
            f"`train.outlier_weight` {arms['with'][0][1].train.outlier_weight:g}), paired by "
            "seed, one teacher. Everything SIMULATED low quality except the real clips. "
            f"Validation: Penn Action's validation clips ({len(data['val'])}), as trimmed and "
            "with a synthetic rest (one draw); the threshold keeps answering "
            f"{100 * COVERAGE:.0f}% of the clips with rest; unknown: {len(data['unknown'])} "
            f"clips of {args.unknown.name} (another dataset than the outliers; classes "
            f"containing {', '.join(args.exclude) or 'nothing'} left out). In %.", "",
            "Each student alone (mean ± SD over seeds; gain, paired t-test):", "", *lines, "",
            "Each arm's seeds as one ensemble (what `scripts/ship_model.py` ships):", "",
            *ens_lines, "",
            *(["The ensembles on the real clips (read once, after the choice; threshold as "
               "above):", "", *real_lines, ""] if real_lines else [])]))


if __name__ == "__main__":
    main()
