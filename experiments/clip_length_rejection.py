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
simulator, so no two repetitions carry the same estimator errors), each read as
``skelkd predict`` reads a clip with the shipped model (or ``--model``). Per length: the
shares of known clips kept and unknown clips answered at the model's threshold, AUROC,
and the unknown clips answered at the threshold that keeps 95% of the known clips of that
length (how ``scripts/ship_model.py`` calibrates, there on clips as they are). Never the
test split; the real clips are not read here.

    python experiments/clip_length_rejection.py UNKNOWN_PACK [--model RUN] [--seconds 4 10]
        [--exclude throw] [--doc docs/clip_length_rejection.md]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np
from unknown_action_score import COVERAGE  # noqa: E402 (this folder)

from skelkd.config import load_config
from skelkd.data.simulate import classes_containing, get_preset, simulate_sample
from skelkd.data.transforms import hold_rest
from skelkd.evaluate.rejection import auroc, coverage_threshold
from skelkd.experiment import load_data
from skelkd.io.files import write_text_atomic
from skelkd.io.pack import Sample, open_pack
from skelkd.predict import clip_confidence, default_model, window_probabilities

FPS = 30.0  # the frame rate of clips without one (skelkd.predict reads them so)


def looped(sample: Sample, frames: int) -> Sample:
    """``sample`` played over and over until it has at least ``frames`` frames (as it is
    when it has)."""
    reps = max(1, -(-frames // sample.num_frames))
    return Sample(np.tile(sample.keypoints, (1, reps, 1, 1)),
                  np.tile(sample.scores, (1, reps, 1)), sample.label, sample.instance_id,
                  sample.layout, dict(sample.meta))


def known_clips(cfg, hq, lq, params, seconds: float):
    """The run's validation clips given a rest (draw 0, as the threshold's calibration),
    then looped to ``seconds`` and degraded by the simulator."""
    pos = {iid: k for k, iid in enumerate(hq.instance_ids)}
    for i in lq.split_indices(cfg.data.split, cfg.data.val_subset):
        twin = hq[pos[lq.instance_ids[int(i)]]]
        kp, sc = hold_rest(twin.keypoints, twin.scores, np.random.default_rng([0, int(i)]))
        rested = Sample(kp, sc, twin.label, twin.instance_id, twin.layout, dict(twin.meta))
        fps = float(twin.meta.get("fps") or FPS)
        yield simulate_sample(looped(rested, int(seconds * fps)), hq.layout, params, seed=0)


def unknown_clips(pack, params, exclude, seconds: float):
    """The pack's clips but those of ``exclude``, looped to ``seconds`` and degraded."""
    left_out = set(classes_containing(list(pack.class_names), exclude))
    for i in range(len(pack)):
        s = pack[i]
        if s.label in left_out:
            continue
        fps = float(s.meta.get("fps") or FPS)
        out = simulate_sample(looped(s, int(seconds * fps)), pack.layout, params, seed=0)
        out.meta["fps"] = fps
        yield out


def confidences(model, clips) -> np.ndarray:
    return np.array([clip_confidence(window_probabilities(model, c, members=True))
                     for c in clips])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("unknown", type=Path, help="a pack of actions the model does not know")
    ap.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--seconds", type=float, nargs="+", default=[4.0, 10.0])
    ap.add_argument("--exclude", nargs="*", default=["throw"])
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    model, _, _ = default_model(args.model)
    model.eval()
    threshold = model.spec.reject_below
    cfg = load_config("penn_video")
    pack = open_pack(args.unknown)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hq, lq, _, _ = load_data(cfg, Path(tmp))
        for seconds in [0.0, *args.seconds]:
            # as rested_val_clips and unknown_action_score.unknown_clips simulate them
            sim = cfg.data.simulate
            kparams = get_preset(sim["preset"], target_layout=sim["layout"])
            uparams = get_preset(sim["preset"], target_layout=model.spec.layout)
            known = confidences(model, known_clips(cfg, hq, lq, kparams, seconds))
            unknown = confidences(model, unknown_clips(pack, uparams, args.exclude, seconds))
            matched = coverage_threshold(known, COVERAGE)
            rows.append(f"| {'as it is' if seconds == 0 else f'at least {seconds:g} s'} | "
                        f"{100 * np.mean(known >= threshold):.1f}% | "
                        f"{100 * np.mean(unknown >= threshold):.1f}% | "
                        f"{auroc(known, unknown):.3f} | {matched:.3f} | "
                        f"{100 * np.mean(unknown >= matched):.1f}% |")
            print(rows[-1], flush=True)
    text = "\n".join([
        f"| clips | known kept at the model's threshold ({threshold:.3f}) | unknown "
        "answered there | AUROC | threshold keeping 95% of the known clips of this "
        "length | unknown answered there |", "|---|---|---|---|---|---|", *rows])
    if args.doc:
        model_arg = f" --model {args.model.as_posix()}" if args.model else ""
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
