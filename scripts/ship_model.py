"""Turn a trained student into the model shipped inside the package (what `skelkd predict`
uses when no model is given): its weights alone, its specification, and the confidence
below which it answers "no known action", calibrated on held-out data.

    python scripts/ship_model.py RUN [RUN ...]
                                 [--out src/skelkd/resources/models/penn_action.ckpt]
                                 [--coverage 0.95] [--rest-draws 3]
                                 [--unknown PACK [--exclude CLASS ...]]
                                 [--card docs/model_card.md]

RUN is a student's run folder; several RUNs (seeds of one recipe, one specification)
ship as one seed ensemble (``skelkd.models.Ensemble``: the mean of their class
probabilities), whose test accuracy is then measured here, as the ensemble, on the
first run's test split. The threshold (``spec.reject_below``) is the confidence
(``skelkd.predict.clip_confidence``) that ``coverage`` of the run's validation clips
reach (its own split's ``val`` subset, each given a synthetic rest before and after the
action ``--rest-draws`` times, read by ``skelkd.predict.predict_clip`` exactly as a video
is): held-out data of the known classes, never the test split or the real clips. The file is a
stamped skelkd checkpoint of a plain recogniser or ensemble (no optimiser state, no teacher), loaded
with ``weights_only=True`` like every checkpoint. The model card (``--card``) is written
from the run's configuration and metrics and the calibration; its real-video figures are
those of ``docs/real_video.md`` (``benchmarks/real_video.py``), quoted when present.
``--card-only`` rewrites the card from the file already shipped (what its calibration
recorded, its recipe and the command that made it) without calibrating again or needing
its runs: after ``benchmarks/real_video.py`` has measured that file, to quote it.

The file records its recipe (``shipped["recipe"]``: the first run's resolved
configuration; ``shipped["seeds"]``: every member's training seed). A file shipped before
it did so gets it with ``--attach-recipe RUN --seeds S ...``: RUN is a run of the same
command (e.g. one retrained with it), whose configuration is stored only after it gives
back the file's own calibration to the last digit (the file's weights reading the
held-out clips that configuration describes: the same threshold, answered share and
top-1), which confirms the data and the reading; the training settings are taken to be
the command's, as the check cannot see them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_video import OUT_OF_CLASS  # noqa: E402  (the line docs/real_video.md's table follows)

from skelkd.evaluate.rejection import clip_readings, coverage_threshold
from skelkd.predict import DEFAULT_READING, NO_ACTION, WINDOW_SCALES

DEFAULT_OUT = Path("src/skelkd/resources/models/penn_action.ckpt")


def held_out_confidences(model, cfg, experiment: Path, draws: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (``skelkd.predict.clip_confidence``) and correctness of every validation
    clip of the run's low-quality
    pack (``experiment``: the run folder above the student's), read as predict_clip reads
    a video (clip_seconds windows, 30 fps). With ``draws`` > 0, each clip is read that
    many times with a synthetic rest before and after the action
    (``skelkd.data.simulate.rested_twin``, the clips docs/window_reading.md chooses the
    reading on) instead of as trimmed: real clips are rarely trimmed to the action, and
    the threshold must keep answering them."""
    from skelkd.experiment import load_data, rested_val_clips

    hq, pack, _, _ = load_data(cfg, experiment)
    if not cfg.data.val_subset:
        raise SystemExit(f"{experiment}: the run has no validation subset to calibrate on")
    if draws:
        clips = [c for k in range(draws) for c in rested_val_clips(cfg, hq, pack, k)]
    else:
        clips = [pack[int(i)] for i in pack.split_indices(cfg.data.split, cfg.data.val_subset)]
    return clip_readings(model, clips, cfg.input.num_frames)


def unknown_confidences(model, cfg, pack_path: Path, exclude: list[str]) -> np.ndarray:
    """Confidence of every clip of a pack of actions the model does not know (a
    high-quality pack, e.g. NW-UCLA's Kinect joints), simulated like the training data
    (projected to 2D when 3D, the same preset, in the model's layout) and read as
    predict_clip reads a video, at 30 fps; clips of the classes in ``exclude`` (close to a
    known action: NW-UCLA's 'throw' and Penn Action's baseball pitch) left out."""
    from skelkd.data.simulate import get_preset, simulated_clips
    from skelkd.io import open_pack

    sim = cfg.data.simulate or {}
    params = get_preset(sim.get("preset", "fast"), target_layout=model.spec.layout)
    return clip_readings(model, simulated_clips(open_pack(pack_path), params, exclude),
                         cfg.input.num_frames)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="*", metavar="RUN")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--coverage", type=float, default=0.95,
                    help="share of held-out clips of known classes to keep answering")
    ap.add_argument("--rest-draws", type=int, default=3,
                    help="calibrate on the validation clips with this many draws of a "
                         "synthetic rest each (0: as trimmed)")
    ap.add_argument("--unknown", type=Path, default=None,
                    help="a high-quality pack of actions the model does not know (e.g. "
                         "NW-UCLA): the card says how many of its clips, simulated like the "
                         "training data, the threshold lets through")
    ap.add_argument("--exclude", nargs="*", default=["throw"],
                    help="classes of --unknown close to a known action, left out")
    ap.add_argument("--card", type=Path, default=None, help="also write this model card")
    ap.add_argument("--card-only", action="store_true",
                    help="only rewrite --card from the model already at --out (what its "
                         "calibration recorded; e.g. to quote a new docs/real_video.md)")
    ap.add_argument("--attach-recipe", type=Path, default=None, metavar="RUN",
                    help="record in the model at --out, shipped before files recorded "
                         "their recipe, RUN's configuration (a run of the same command), "
                         "once it gives back the file's calibration")
    ap.add_argument("--seeds", type=int, nargs="*", default=None,
                    help="with --attach-recipe: the training seed of every member")
    args = ap.parse_args()
    from skelkd.models import ModelSpec
    from skelkd.train.checkpoint import read_checkpoint, stamp, write_checkpoint

    if args.attach_recipe:
        attach_recipe(args.out, args.attach_recipe, args.seeds)
        return
    if args.card_only:
        if not args.card:
            raise SystemExit("--card-only needs --card")
        shipped_file = read_checkpoint(args.out)
        shipped = shipped_file["shipped"]
        cfg, seeds = recorded_recipe(args.out, shipped, args.runs)
        spec = ModelSpec(**shipped_file["hyper_parameters"]["spec"])
        write_card(args.card, cfg, seeds, args.out, spec, shipped)
        return
    if not args.runs:
        raise SystemExit("give the run folder of every student to ship")
    model, cfg, folder, seeds = assemble(args.runs)
    model.eval()
    threshold, figures = calibration(model, cfg, folder.parent, args.rest_draws,
                                     args.coverage)
    spec = dataclasses.replace(model.spec, reject_below=round(threshold, 4),
                               num_frames=cfg.input.num_frames)
    state = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    ckpt = stamp({"state_dict": state,
                  "hyper_parameters": {"spec": dataclasses.asdict(spec), "optim": None},
                  "shipped": {"command": shlex.join(["python", "scripts/ship_model.py",
                                                     *sys.argv[1:]]),
                              "source_runs": [r.as_posix() for r in args.runs],
                              "recipe": cfg.to_dict(),
                              "seeds": seeds,
                              "coverage": args.coverage,
                              "test_by_op": test_accuracy(model, cfg, folder, args.runs),
                              "rest_draws": args.rest_draws, **figures}})
    if args.unknown:
        out = unknown_confidences(model, cfg, args.unknown, args.exclude)
        ckpt["shipped"]["unknown"] = {
            "pack": args.unknown.name, "excluded": args.exclude, "clips": int(len(out)),
            "answered": float(100 * (out >= threshold).mean()),
            "above_half": float(100 * (out > 0.5).mean())}
    write_checkpoint(ckpt, args.out)
    print(json.dumps({"out": str(args.out), "reject_below": spec.reject_below,
                      **{k: v for k, v in ckpt["shipped"].items() if k != "recipe"}},
                     indent=1))
    if args.card:
        write_card(args.card, cfg, seeds, args.out, spec, ckpt["shipped"])


CALIBRATION = ("val_clips", "val_top1", "answered", "answered_top1")
"""What :func:`calibration` reports beside the threshold, as the shipped file records it."""


def calibration(model, cfg, experiment: Path, draws: int, coverage: float
                ) -> tuple[float, dict]:
    """The "no known action" threshold that ``coverage`` of the held-out clips reach
    (:func:`held_out_confidences`) and what it does on them: the clips, top-1 on all of
    them, the share answered and top-1 on those (in %)."""
    top, right = held_out_confidences(model, cfg, experiment, draws)
    threshold = coverage_threshold(top, coverage)
    kept = top >= threshold
    return threshold, {"val_clips": int(len(top) // max(1, draws)),
                       "val_top1": float(100 * right.mean()),
                       "answered": float(100 * kept.mean()),
                       "answered_top1": float(100 * right[kept].mean())}


def recorded_recipe(out: Path, shipped: dict, runs: list[Path]) -> tuple:
    """The configuration and member seeds of the model shipped at ``out``: those its file
    records, else (a file shipped before it recorded them) those of ``runs``, the runs it
    was made from."""
    from skelkd.config import ExperimentConfig

    if "recipe" in shipped:
        return (ExperimentConfig.from_dict(shipped["recipe"], f"{out}: its recipe"),
                shipped["seeds"])
    if not runs:
        raise SystemExit(f"{out} does not record its recipe (shipped before files did): "
                         "pass the runs it was made from, or record it with "
                         "--attach-recipe RUN --seeds ...")
    if shipped.get("source_runs") != [r.as_posix() for r in runs]:
        raise SystemExit(f"{out} was made from {shipped.get('source_runs')}, not from the "
                         "runs given")
    configs = run_configs(runs)
    return configs[0], [c.train.seed for c in configs]


def attach_recipe(out: Path, run: Path, seeds: list[int] | None) -> None:
    """Record RUN's configuration and the members' ``seeds`` in the model shipped at
    ``out`` (made before files recorded their recipe), once the configuration gives back
    the file's own calibration to the last digit (the module docstring says what that
    confirms); else stop, the file untouched."""
    from skelkd.models import ModelSpec
    from skelkd.train import load_module
    from skelkd.train.checkpoint import read_checkpoint, write_checkpoint

    ckpt = read_checkpoint(out)
    shipped = ckpt["shipped"]
    spec = ModelSpec(**ckpt["hyper_parameters"]["spec"])
    if "recipe" in shipped:
        raise SystemExit(f"{out} already records its recipe")
    if seeds is None or len(seeds) != spec.members:
        raise SystemExit(f"--attach-recipe needs --seeds: one per member, {spec.members} "
                         f"for {out}")
    cfg = run_configs([run])[0]
    model = load_module(out).model.eval()
    threshold, figures = calibration(model, cfg, run.parent, shipped["rest_draws"],
                                     shipped["coverage"])
    got = {"reject_below": round(threshold, 4), **figures}
    want = {"reject_below": spec.reject_below, **{k: shipped[k] for k in CALIBRATION}}
    differ = [f"{k} {got[k]!r} (the file: {want[k]!r})" for k in want if got[k] != want[k]]
    if differ:
        raise SystemExit(f"{run}: its configuration does not give back {out}'s calibration: "
                         + "; ".join(differ) + "; nothing written")
    shipped.update(recipe=cfg.to_dict(), seeds=list(seeds),
                   recipe_attached={"from": run.as_posix(), "checked": sorted(want)})
    write_checkpoint(ckpt, out)
    print(f"{out}: recipe of {run} recorded (it gives back " + ", ".join(
        f"{k} {v:g}" for k, v in got.items()) + ")")


def run_configs(runs: list[Path]) -> list:
    """Each run's configuration (its folder's config.yaml), without loading its model."""
    from skelkd.predict import run_of

    configs = [run_of(r)[0] for r in runs]
    for r, c in zip(runs, configs, strict=True):
        if c is None:
            raise SystemExit(f"{r}: no config.yaml: pass a run folder")
    return configs


def assemble(runs: list[Path]):
    """The model to ship, its run configuration (the first run's), the first run's folder
    and every run's training seed: the one trained student, or the runs' students as one
    seed ensemble (each checked to have the same specification)."""
    from skelkd.models import Ensemble
    from skelkd.predict import load_model

    run_configs(runs)
    loaded = [load_model(r) for r in runs]
    model, cfg, folder = loaded[0]
    seeds = [c.train.seed for _, c, _ in loaded]
    if len(loaded) == 1:
        return model, cfg, folder, seeds
    for r, (m, _, _) in zip(runs[1:], loaded[1:], strict=True):
        if m.spec != model.spec:
            raise SystemExit(f"{r}: its model's specification differs from {runs[0]}'s; an "
                             "ensemble needs seeds of one recipe")
    return Ensemble.of([m for m, _, _ in loaded]), cfg, folder, seeds


def test_accuracy(model, cfg, folder: Path, runs: list[Path]) -> dict:
    """Top-1 and top-5 on the test split at every OP of the run: the one student's, as
    its run measured them (metrics.json); an ensemble's, measured here on the first
    run's test split."""
    if len(runs) == 1:
        metrics = json.loads((runs[0] / "metrics.json").read_text())
        return {op: {k: r[k] for k in ("top1", "top5")} for op, r in metrics["by_op"].items()}
    from skelkd.experiment import load_data
    from skelkd.train.api import evaluate_at

    _, lq, _, test = load_data(cfg, folder.parent)
    return {f"{op:g}": {k: evaluate_at(model, lq, test, cfg, float(op))[k]
                        for k in ("top1", "top5")} for op in cfg.eval.ops}


def _spoken(values) -> str:
    """(0.5, 1.0, 2.0) -> '0.5, 1 and 2'."""
    words = [f"{v:g}" for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def real_video_quotes(real: Path) -> tuple[list[str], list[tuple[str, str, str]]]:
    """What the card quotes of ``real`` (docs/real_video.md, ``benchmarks/real_video.py``'s
    output), nothing when it does not exist: its summary lines, and per out-of-class clip
    (clip, answer, confidence) from its table of them."""
    if not real.exists():
        return [], []
    lines = real.read_text().splitlines()
    summary = [x for x in lines if x.startswith(("overall:", "Known-action clips"))]
    outside = []
    if OUT_OF_CLASS in lines:
        for row in lines[lines.index(OUT_OF_CLASS) + 1:]:
            if outside and not row.startswith("|"):
                break
            cells = [c.strip() for c in row.strip("|").split("|")]
            if row.startswith("|") and cells[0] not in ("clip", "---"):
                outside.append((cells[0], cells[1], cells[-1]))
    return summary, outside


def write_card(card: Path, cfg, seeds: list[int], out: Path, spec, shipped: dict) -> None:
    """The model card of the file at ``out`` (``spec``, its calibration ``shipped``) made
    from its recipe ``cfg`` (the first run's configuration) and its members' ``seeds``."""
    from skelkd.io.files import write_text_atomic
    from skelkd.layouts import get_layout

    sim = cfg.data.simulate or {}
    layout = get_layout(spec.layout)
    attached = shipped.get("recipe_attached")
    seeds = ", ".join(str(s) for s in seeds)
    quoted, outside = real_video_quotes(Path("docs/real_video.md"))
    tests = "; ".join(f"OP {op}: top-1 {r['top1']:.2f}, top-5 {r['top5']:.2f}"
                      for op, r in shipped["test_by_op"].items())
    size = out.stat().st_size / 1e6
    lines = [
        "# Model card: the shipped Penn Action student", "",
        f"Generated by `{shlex.join(['python', 'scripts/ship_model.py', *sys.argv[1:]])}`"
        + (f" from the model that `{shipped['command']}` made" if "--card-only" in sys.argv
           else "") + f"; do not edit by hand. File: `{out.as_posix()}` ({size:.1f} MB), "
        "what `skelkd predict` uses when no model is given."
        + (f" The file was shipped before files recorded their recipe; the recipe below is "
           f"that of `{attached['from']}`, a run of the same command, recorded after it "
           "gave back the file's calibration to the last digit (`--attach-recipe`: it "
           "confirms the data and the reading, not the training settings)."
           if attached else ""), "",
        "## What it is", "",
        f"- Task: the {len(spec.class_names)} actions of Penn Action: "
        f"{', '.join(spec.class_names)}.",
        f"- Input: one person's {layout.num_joints} joints of the `{layout.name}` layout "
        f"({', '.join(layout.joints)}; {spec.in_channels} channels: "
        f"{'x, y and the joint score' if spec.in_channels == 3 else 'coordinates'}), "
        f"{spec.num_frames} frames per window; BlazePose's 33 landmarks map to it by name "
        "(`skelkd predict` and `docs/deploy.md` do it).",
        f"- Backbone: {spec.backbone}; trained as a student of part-level distillation "
        f"(`{cfg.distill.mode}`) from a teacher on Penn Action's human-annotated joints"
        + (f"; {spec.members} such students (training seeds {seeds}) read as one, the "
           "mean of their class probabilities (`skelkd.models.Ensemble`, "
           "docs/seed_ensemble.md)." if spec.members > 1 else "."),
        f"- Training data: Penn Action's official training split less its validation part "
        f"(`{cfg.data.split}`), as SIMULATED low-quality skeletons: the high-quality "
        f"annotation degraded by skelkd's estimator simulator (preset "
        f"`{sim.get('preset', 'see the run')}`, docs/simulator.md), training occlusion "
        f"{cfg.input.occlusion:g}; augmentation: rotation ±{cfg.input.rotate_deg:g}°, "
        f"scale {list(cfg.input.scale_range)}, flip {cfg.input.flip_prob:g}, temporal crop "
        f"{list(cfg.input.crop_range)}"
        + (f", a still rest before and after the action for {cfg.input.rest_prob:.0%} of "
           "the clips (`input.rest_prob`, docs/rest_augmentation.md)"
           if cfg.input.rest_prob else "")
        + f"; {cfg.train.epochs} epochs, seed{'s' if spec.members > 1 else ''} {seeds}."
        + (f" Outlier exposure (Hendrycks et al., ICLR 2019; not in the paper): clips of "
           f"other actions ({Path(str(cfg.data.outliers)).name}, simulated alike; classes "
           f"containing {', '.join(cfg.data.outlier_exclude) or 'nothing'} left out) "
           f"trained towards uniform outputs, weight {cfg.train.outlier_weight:g} "
           "(docs/outlier_exposure.md)." if cfg.data.outliers else ""),
        f"- Reading a clip: windows of {_spoken(WINDOW_SCALES)} times "
        f"{spec.clip_seconds:.2f} s (the median duration of its training clips); at each "
        "length the window it is surest of, then the lengths averaged "
        "(`skelkd.predict.predict_clip`, reading "
        f"`{DEFAULT_READING}`, docs/window_reading.md).", "",
        "## How well", "",
        f"- Penn Action test split, simulated low quality (one input per clip, the whole "
        f"clip; OP = the paper's synthetic occlusion): {tests}"
        + (" (the ensemble's)." if spec.members > 1 else "."),
        "- Real video (`docs/real_video.md`: real clips of its classes through `skelkd "
        "predict`'s path, BlazePose then this model): "
        + (" ".join(quoted) if quoted else "not measured yet."), "",
        "## No known action", "",
        f"It answers \"no known action\" when its confidence (per window length the "
        "window it is surest of, by the top probability less the disagreement of its "
        "networks, averaged over the lengths: `skelkd.predict.clip_confidence`, chosen on "
        "held-out data in docs/unknown_action_score.md) is below "
        f"{spec.reject_below:.3f}: the level {100 * shipped['coverage']:.0f}% of the "
        f"{shipped['val_clips']} held-out validation clips of its known classes reach (the "
        "validation part of Penn Action's training split, simulated like its training data"
        + (f", each read {shipped['rest_draws']} times with a synthetic rest before and "
           "after the action, as real clips are rarely trimmed to it: docs/window_reading.md"
           if shipped.get("rest_draws") else "") + "). "
        f"On them it answers {shipped['answered']:.1f}% of the clips, with top-1 "
        f"{shipped['answered_top1']:.1f}% on those (all clips: {shipped['val_top1']:.1f}%).",
        *([f"On {u['clips']} clips of actions it does not know ({u['pack']}'s Kinect "
           "joints, simulated like its training data; classes close to a known action "
           f"left out: {', '.join(u['excluded']) or 'none'}) it answers a known action for "
           f"{u['answered']:.1f}% (with more than 50% confidence for "
           f"{u['above_half']:.1f}%), so read \"no known action\" as a hint, not a "
           "guarantee."] if (u := shipped.get("unknown")) else []),
        *(["On the real clips of actions it does not know (docs/real_video.md: BlazePose "
           "on real video) it answered " + "; ".join(
               f"{clip}: {answer} (confidence {conf})" for clip, answer, conf in outside)
           + f"; it named a known action for {sum(a != NO_ACTION for _, a, _ in outside)} "
           f"of {len(outside)}."] if outside else []),
        "`skelkd predict clip.mp4 --reject-below X` reads with another level (0: always "
        "name a class; docs/real_video.md gives the real clips' top class alone, the level "
        "0, beside the calibrated one's answers).",
        "", "## How its recipe was chosen", "",
        "- Learning rate, schedule and batches: the reproduction's protocol's choices on "
        "Penn Action validation for ST-GCN-tiny (docs/RESULTS.md); the teacher: the "
        "reproduction's recipe, with the student's backbone.",
        *([f"- The backbone (`{spec.backbone}`): chosen on the validation clips, read as "
           "below as trimmed and with a synthetic rest, five paired seeds of this recipe "
           "(without outlier exposure) against ST-GCN-tiny, which the choices below were "
           "made with and carried over from (docs/student_backbone.md); its learning rate "
           "and batches are those chosen for ST-GCN-tiny: the ones its own Table 3 cell "
           "chose read the validation clips worse there (the `-t3` rows). The real clips "
           "were read for every seed after the choice, not to make it."]
          if spec.backbone != "stgcn-tiny" else []),
        "- The joint layout (Penn Action's 13 joints, not COCO-17 with its five face points, "
        "which Penn Action's annotation does not have and training would have to invent), "
        "the augmentation and reading a clip in windows were compared on the real clips of "
        "docs/real_video.md, two training seeds each, by hand: those clips informed this "
        "recipe and are not an untouched test of it. The differences were a few clips, "
        "within the spread between seeds; the choices rest as much on the reasons given "
        "in `configs/penn_video.yaml` and `skelkd.predict.predict_clip`. Real clips that "
        "played no part are the honest measure.",
        *(["- Outlier exposure: chosen on validation, five paired seeds without and with "
           "it (docs/outlier_exposure.md): the unknown clips (from another dataset than the "
           "outliers) answered at the threshold fell and validation top-1 did not (the "
           "figures are there); the real clips were read once afterwards. More varied "
           "outliers (NW-UCLA's actions added) were measured by a rule fixed beforehand "
           "and not adopted (docs/outlier_diversity.md)."]
          if cfg.data.outliers else []),
        f"- How the windows are combined (`{DEFAULT_READING}`): chosen on the validation "
        "clips with a synthetic rest before and after the action; the real clips were read "
        "once with each reading afterwards (docs/window_reading.md). Its threshold is "
        "calibrated with that reading. The reading `best` (the surest window of any "
        "length), tried after the real clips had shown that their short clips are read "
        "whole at the longer window lengths, names more real clips right, but over ten "
        "students it loses on the trimmed validation clips and ties with a rest "
        "(docs/window_reading_students.md), so it is an option (`skelkd predict "
        "--reading best`), not the default.",
        *(["- Several seeds as one: the ensemble reads the validation clips better than "
           "its seeds alone do, most with a synthetic rest (docs/seed_ensemble.md, where "
           "it was chosen, the real clips read once afterwards); the real clips it gets "
           "wrong are mostly wrong for every seed, which more seeds cannot fix. Networks "
           "of another kind added to them (ST-GCN-tiny students of the same recipe, or "
           "students without outlier exposure) passed no test of the rule fixed for them "
           "on held-out clips (docs/ensemble_members.md), so the members are seeds of one "
           "recipe."]
          if spec.members > 1 else []),
        *(["- A still rest in training (`input.rest_prob`): chosen on the same validation "
           "clips, five paired seeds (docs/rest_augmentation.md)."] if cfg.input.rest_prob
          else ["- A still rest in training (`input.rest_prob`) is NOT used, against the "
                "validation clips with a synthetic rest, on which it gained (five paired "
                "seeds, docs/rest_augmentation.md): that validation rest is of the same "
                "kind as the training rest, so it favours it, and the real clips, read "
                "once afterwards, went the other way. That decision was informed by the "
                "real clips."]),
        "- BlazePose's hidden landmarks (visibility below 0.5) are read as missing joints "
        "(`skelkd.video.to_sample`): not a tuned choice but the rule the simulator's "
        "calibration counts misses by, so that the model reads real output as its "
        "training data was made (docs/real_vs_simulated.md: the simulation leaves no "
        "present joint scored that low, BlazePose many).",
        f"- The simulation (preset `{cfg.data.simulate['preset']}`): `blazepose`, whose "
        "errors drift in time as real BlazePose's do (fitted to a real pair, "
        "docs/simulator.md), was chosen by that calibration before any student trained "
        "on it was measured. Measured afterwards against the per-frame `fast` preset, "
        "five paired seeds each (docs/simulator_preset.md): no difference five seeds "
        "establish on validation clips simulated either way, nor on the real clips, "
        "which were read for every seed and show how far one seed moves them for the "
        "same recipe. The `fast` student shipped before the `blazepose` ones (seed 0) "
        "was the best of its five seeds on the real clips, so its figures there were "
        "higher than its recipe's." if cfg.data.simulate["preset"]
        == "blazepose" else f"- The simulation (preset `{cfg.data.simulate['preset']}`): "
        "docs/simulator.md, docs/simulator_preset.md.",
        "", "## Limits", "",
        "- Trained on simulated low-quality skeletons of one dataset's videos: sports "
        "broadcasts and amateur clips of 2009; other camera angles, other styles of the "
        "same action and real estimator errors move its answers (docs/real_video.md).",
        "- Trimmed training clips: Penn Action's clips start and end on the action, real "
        "clips often do not, and what comes before and after the action moves the answer "
        "(docs/real_video_ends.md: the real clips read whole against the same clips with "
        "their ends cut). A short clip that opens with a few still frames can read as the "
        "start of a serve or a pitch, which open that way in Penn Action "
        "(docs/window_reading.md: the first windows of the real clips)"
        + ("; the rest added in training is simulated, not real footage of people "
           "waiting." if cfg.input.rest_prob else "."),
        "- One person: BlazePose (the legacy solution) tracks a single person; in a clip "
        "with several people it may follow another one than the actor.",
        "- 2D only, so an action seen from an angle that hides its motion (a serve filmed "
        "from behind) is harder; the threshold is calibrated on simulated data of its "
        "known classes, not on real out-of-class video; real clips of its known actions "
        "can read less confident than simulated ones, so it declines some of them (the "
        "share is in docs/real_video.md).",
        "- The threshold is calibrated on validation clips a few seconds long (each action "
        "with a synthetic rest of up to twice its length). A clip's confidence is "
        "its surest window's, and a long clip has more windows to be sure of: on simulated "
        "clips played over and over to 10 seconds, the threshold keeps more of the known "
        "clips and answers many more of the unknown ones than on clips as they are "
        "(docs/clip_length_rejection.md).", ""]
    write_text_atomic(card, "\n".join(lines))


if __name__ == "__main__":
    main()
