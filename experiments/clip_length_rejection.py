"""Does a clip's length move its "no known action" confidence? The confidence
(``skelkd.predict.clip_confidence``) is, per window length, the surest window's, and a
longer clip has more windows to be sure of: the largest of more draws is larger, for known
and unknown actions alike. The threshold is calibrated on Penn Action validation clips
with a synthetic rest (1.9 s actions, 2 to 6 s with the rest) and was checked on NW-UCLA
clips of other actions (median 1 s), while the clips people give ``skelkd predict`` last
many seconds (the real clips' median is 3.7 s, the out-of-class ones 10 s).

This measures it on SIMULATED clips, held out as in docs/unknown_action_score.md: each
known clip (validation, with its rest) and each unknown clip (a pack of other actions,
classes close to a known action left out) as it is and played over and over until it
lasts at least ``--seconds`` (the high-quality joints repeated, then degraded by the
simulator, so no two repetitions carry the same estimator errors:
``skelkd.experiment.rested_val_clips`` and ``skelkd.data.simulate.simulated_clips`` with
``seconds``), each read as
``skelkd predict`` reads a clip with the shipped model (or ``--model``). Per length: the
shares of known clips kept and unknown clips answered at the model's threshold, AUROC,
and the unknown clips answered at the threshold that keeps 95% of the known clips of that
length (how ``scripts/ship_model.py`` calibrates, there on clips as they are). Never the
test split; the real clips only with ``--real``, after the verdict below.

A confidence read over stretches (the second table). The same windows'
confidences, reduced per window length not to the surest window of the whole clip but to
the surest of each run of consecutive windows that a part of ``S`` seconds holds, averaged
over the parts (``skelkd.predict.surest_over_stretches``): what an ``S``-second part of
the clip scores on average, so a clip played over and over scores about as it does once,
and a clip no longer than ``S`` scores as before. ``S`` is the median duration of the
known clips as they are, the length the threshold is calibrated at. Each score's threshold
is calibrated as ``scripts/ship_model.py`` does, on the clips as they are (95% of the
known kept), and applied to every length. The rule, fixed before this table was read
(written 2026-12-04, after the first table and before any run of the second): the
stretched reading replaces the shipped one only if, on the clips played to at least 10 s,
(1) it answers fewer unknown clips, the 95% bootstrap interval of the difference below 0
(known and unknown clips resampled, the same draws for both readings, thresholds
recalibrated in each draw), (2) it keeps at least 93% of the known clips, and (3) on the
clips as they are its AUROC is at least the shipped reading's less 0.01. The real clips
are read only afterwards (``benchmarks/real_video.py``), never to choose.

    python experiments/clip_length_rejection.py UNKNOWN_PACK [--model RUN] [--seconds 4 10]
        [--exclude throw] [--real FOLDER] [--doc docs/clip_length_rejection.md]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np
from unknown_action_score import (  # noqa: E402 (this folder)
    BOOTSTRAP,
    COVERAGE,
    gap_interval,
    real_clips,
    unknown_clips,
)

from skelkd.config import load_config
from skelkd.evaluate.rejection import auroc, coverage_threshold
from skelkd.experiment import load_data, rested_val_clips
from skelkd.io.files import write_text_atomic
from skelkd.predict import (
    combine_windows,
    default_model,
    surest_over_stretches,
    window_confidence,
    window_probabilities,
)

READINGS = ("shipped", "stretched")


def real_rows(model, folder: Path, cache: Path, stretch: float, calibrated: dict
              ) -> list[str]:
    """The labelled real clips of ``folder`` and the video benchmark's out-of-class clips
    (``unknown_action_score.real_clips``) read with both readings, each at its threshold:
    the known clips kept and named right, and each out-of-class clip's confidence."""
    names = list(model.spec.class_names)
    labelled, rejects = real_clips(folder, names, cache)

    def read(sample):
        each = window_probabilities(model, sample, members=True)
        answer = combine_windows([(w, p.mean(0)) for w, p in each]).argmax()
        return readings_of(sample, each), answer

    known = [(read(s), names.index(c)) for _, c, s in labelled]
    right = np.array([answer == label for (_, answer), label in known])
    other = [(name, read(s)[0]) for name, s in rejects]
    rows = []
    for r, s in (("shipped", None), ("stretched", stretch)):
        conf = confidences([c for (c, _), _ in known], s)
        kept = conf >= calibrated[r]
        rows.append(f"| {r} | {calibrated[r]:.3f} | {100 * kept.mean():.1f}% | "
                    f"{100 * (kept & right).mean():.1f}% | " + " | ".join(
                        f"{confidences([c], s)[0]:.3f}" for _, c in other) + " |")
    return [f"| reading | threshold | real known clips kept | top-1 (declined counts as "
            f"wrong) | {' | '.join(f'{name}: confidence' for name, _ in other)} |",
            "|---|---|---|---|" + "---|" * len(other), *rows]


def readings_of(sample, per_scale) -> tuple[float, list]:
    """A clip's frame rate and, per window length, its windows and their confidences, from
    its windows' probabilities ``per_scale`` (``window_probabilities``, members kept)."""
    return sample.fps, [(w, window_confidence(p)) for w, p in per_scale]


def readings(model, clips) -> list[tuple[float, list]]:
    """Each clip's frame rate and, per window length, its windows and their confidences
    (``skelkd.predict.window_confidence``)."""
    return [readings_of(c, window_probabilities(model, c, members=True)) for c in clips]


def confidences(clips: list[tuple[float, list]], stretch: float | None) -> np.ndarray:
    """``skelkd.predict.clip_confidence`` of each clip, over parts of ``stretch`` seconds
    (None: the whole clip)."""
    return np.array([np.mean([surest_over_stretches(
        conf, w, round(stretch * fps) if stretch else None) for w, conf in scales])
        for fps, scales in clips])


def bootstrap_gap(base: dict, longer: dict, seed: int = 0) -> tuple[float, float, float]:
    """The stretched reading's share of unknown clips answered on ``longer`` clips less
    the shipped one's, each at its threshold keeping 95% of ``base``'s known clips (the
    clips as they are): 95% interval and two-sided p over paired bootstrap draws of the
    known and the unknown clips (a clip brings its readings at every length)."""
    rng = np.random.default_rng(seed)
    nk, nu = len(base["known"]["shipped"]), len(base["unknown"]["shipped"])
    gaps = []
    for _ in range(BOOTSTRAP):
        ik, iu = rng.integers(0, nk, nk), rng.integers(0, nu, nu)
        share = {r: np.mean(longer["unknown"][r][iu] >= coverage_threshold(
            base["known"][r][ik], COVERAGE)) for r in READINGS}
        gaps.append(share["stretched"] - share["shipped"])
    return gap_interval(gaps)


def label(seconds: float) -> str:
    return "as it is" if seconds == 0 else f"at least {seconds:g} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("unknown", type=Path, help="a pack of actions the model does not know")
    ap.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--seconds", type=float, nargs="+", default=[4.0, 10.0])
    ap.add_argument("--exclude", nargs="*", default=["throw"])
    ap.add_argument("--real", type=Path, default=None,
                    help="a folder of labelled real clips read after the verdict, not for "
                         "it (benchmarks/real_video.py's manifest); needs the video extra")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    model, _, _ = default_model(args.model)
    threshold = model.spec.reject_below
    cfg = load_config("penn_video")
    rows, by_length, stretch = [], {}, None
    with tempfile.TemporaryDirectory() as tmp:
        hq, lq, _, _ = load_data(cfg, Path(tmp))
        for seconds in [0.0, *args.seconds]:
            # draw 0 of the rest and the simulation, as the threshold's calibration
            known_clips = list(rested_val_clips(cfg, hq, lq, 0, seconds=seconds))
            if stretch is None:
                stretch = float(np.median([c.num_frames / c.fps
                                           for c in known_clips]))
            read = {"known": readings(model, known_clips),
                    "unknown": readings(model, unknown_clips(
                        args.unknown, model.spec.layout, args.exclude, seconds))}
            by_length[seconds] = {k: {"shipped": confidences(v, None),
                                      "stretched": confidences(v, stretch)}
                                  for k, v in read.items()}
            known, unknown = (by_length[seconds][k]["shipped"] for k in ("known", "unknown"))
            matched = coverage_threshold(known, COVERAGE)
            rows.append(f"| {label(seconds)} | "
                        f"{100 * np.mean(known >= threshold):.1f}% | "
                        f"{100 * np.mean(unknown >= threshold):.1f}% | "
                        f"{auroc(known, unknown):.3f} | {matched:.3f} | "
                        f"{100 * np.mean(unknown >= matched):.1f}% |")
            print(rows[-1], flush=True)
    base = by_length[0.0]
    calibrated = {r: coverage_threshold(base["known"][r], COVERAGE) for r in READINGS}
    compared, intervals = [], {}
    for seconds, read in by_length.items():
        cells = []
        for r in READINGS:
            k, u = read["known"][r], read["unknown"][r]
            cells += [f"{100 * np.mean(k >= calibrated[r]):.1f}%",
                      f"{100 * np.mean(u >= calibrated[r]):.1f}%", f"{auroc(k, u):.3f}"]
        gap = ""
        if seconds:
            lo, hi, p = intervals[seconds] = bootstrap_gap(base, read)
            diff = np.mean([read["unknown"][r] >= calibrated[r] for r in READINGS], axis=1)
            gap = f"{100 * (diff[1] - diff[0]):+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}], p {p:.3f}"
        compared.append(f"| {label(seconds)} | {' | '.join(cells)} | {gap} |")
        print(compared[-1], flush=True)
    longest = by_length[max(by_length)]
    hi = intervals[max(by_length)][1]
    kept = np.mean(longest["known"]["stretched"] >= calibrated["stretched"])
    areas = {r: auroc(base["known"][r], base["unknown"][r]) for r in READINGS}
    tests = [(max(by_length) >= 10 and hi < 0, f"(1) the upper end of the interval on clips of "
              f"{label(max(by_length))}: {100 * hi:+.1f}"),
             (kept >= 0.93, f"(2) known kept there: {100 * kept:.1f}%"),
             (areas["stretched"] >= areas["shipped"] - 0.01, "(3) AUROC as they are: "
              f"{areas['stretched']:.3f} against {areas['shipped']:.3f}")]
    passed = all(ok for ok, _ in tests)
    verdict = (f"By the rule, the reading over {stretch:.2f}-second parts "
               f"{'replaces' if passed else 'does not replace'} the shipped one. "
               + "; ".join(f"{what} ({'met' if ok else 'NOT met'})" for ok, what in tests)
               + ".")
    print(verdict)
    real = []
    if args.real:
        real = ["", "## The real clips, read after", "", "Read once the verdict above was "
                f"written, not to reach it: the labelled real clips of {args.real.name}/ "
                "and the out-of-class clips of docs/real_video.md (BlazePose output, "
                "benchmarks/real_video.py's extraction), each reading at its threshold "
                "above (calibrated here on one draw of the rest, so the shipped reading's "
                "differs a little from the shipped model's).", "",
                *real_rows(model, args.real, args.cache, stretch, calibrated)]
        print("\n".join(real))
    text = "\n".join([
        f"| clips | known kept at the model's threshold ({threshold:.3f}) | unknown "
        "answered there | AUROC | threshold keeping 95% of the known clips of this "
        "length | unknown answered there |", "|---|---|---|---|---|---|", *rows, "",
        "## A confidence read over stretches", "",
        f"Per window length the surest window of each {stretch:.2f}-second part of the "
        "clip (the median known clip's duration as it is), averaged over the parts, "
        "against the shipped reading, the surest window of the whole clip (the "
        "script's docstring defines it and gives the rule, fixed before this table was "
        "read). Each reading's threshold keeps 95% of the known clips as they are "
        f"(shipped {calibrated['shipped']:.3f}, stretched {calibrated['stretched']:.3f}) "
        f"and is applied at every length. Intervals: {BOOTSTRAP} bootstrap draws of the "
        "known and unknown clips, thresholds recalibrated in each.", "",
        "| clips | shipped: known kept | unknown answered | AUROC | stretched: known kept "
        "| unknown answered | AUROC | unknown answered, stretched less shipped [95% CI], "
        "p |", "|---|---|---|---|---|---|---|---|", *compared, "", verdict, *real])
    if args.doc:
        model_arg = f" --model {args.model.as_posix()}" if args.model else ""
        model_arg += f" --real {args.real.as_posix()}" if args.real else ""
        write_text_atomic(args.doc, "\n".join([
            "# A clip's length and the \"no known action\" threshold", "",
            f"Generated by `python experiments/clip_length_rejection.py {args.unknown.name}"
            f"{model_arg} --seconds {' '.join(f'{s:g}' for s in args.seconds)} --exclude "
            f"{' '.join(args.exclude)} --doc {args.doc.as_posix()}` ({platform.machine()}); "
            f"do not edit by hand. {args.unknown.name}: a pack of actions the model does "
            "not know (made by `skelkd data import`). Model: "
            f"{'the shipped one' if args.model is None else args.model.as_posix()} "
            f"({model.spec.backbone}, {model.spec.members} member(s)). Known: the Penn "
            "Action validation clips with a synthetic rest; unknown: the pack's clips; "
            "both SIMULATED low quality (`penn_video`'s preset), as they are and played "
            "over and over to the length of each row (the script's docstring says how).",
            "", text, ""]))


if __name__ == "__main__":
    main()
