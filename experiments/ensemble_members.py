"""Would networks of another kind in the shipped ensemble make it know better when it does
not know? The shipped model is five seeds of one recipe (``skelkd.models.Ensemble``), and
its "no known action" confidence subtracts how far its members disagree
(``skelkd.predict.window_confidence``). Seeds of one recipe and one backbone may agree on
the same wrong answer for an action none of them knows; networks of another backbone, or
trained without outlier exposure, may disagree more there. This measures it on held-out
clips, SIMULATED low quality as in docs/unknown_action_score.md: the shipped run's Penn
Action validation clips with a synthetic rest (known) against a pack of other actions
(unknown; classes close to a known action left out). Never the test split; the real clips
are only read afterwards (``--real``), never to choose.

    python experiments/ensemble_members.py UNKNOWN_PACK --group NAME RUN [RUN ...]
        --group NAME RUN [RUN ...] [...] [--draws 1] [--exclude throw] [--real FOLDER]
        [--outputs DIR] [--doc docs/ensemble_members.md]

The first ``--group`` is the shipped ensemble's members; every other group, added to it,
is a candidate (as many members again: a group of the first's own recipe and backbone
is the control for "more members" alone). Each member reads every clip in the windows
``skelkd predict`` reads (``skelkd.predict.window_probabilities``); an ensemble's window
probabilities are its members' mean and its confidence ``skelkd.predict.clip_confidence``,
exactly as ``skelkd predict`` reads an ensemble. For each arm: top-1 on the known clips
(reading ``max``, the shipped reading), the area under the ROC curve (known against
unknown) and, at the threshold keeping 95% of the known clips (how
``scripts/ship_model.py`` calibrates), the share of unknown clips still answered; against
the shipped ensemble, 95% bootstrap intervals and p-values (known and unknown clips
resampled, the same draws for every arm), and the threshold's own bootstrap interval: a
threshold in a sparse tail of the known clips' confidences moves far between draws, and
the unknown clips answered with it.

Bootstrap over clips holds the trained networks fixed, so a second reading pairs training
seeds: per seed index i, the two-member ensemble {shipped i, group i} against {shipped i,
shipped i+1} (same size, same first member), the differences over the seeds with a
t-interval.

The rule, fixed before any of these arms was read: a group joins the shipped ensemble only
if, added to it, it answers fewer unknown clips (bootstrap interval below 0) with an AUROC
not below the shipped ensemble's and known top-1 not significantly lower (interval not
wholly below 0), and its paired two-member reading goes the same way (fewer unknown clips
answered, mean difference below 0). Of several that pass, the one answering the fewest
unknown clips.

Confirmation with fresh seeds (``--confirmation``; this paragraph was written on
2026-12-04, before students of seeds 5 to 9 of ``stgcn-tiny-oe`` were trained or read).
The table above compared five groups on the same clips; ``stgcn-tiny-oe`` answered the
fewest unknown clips, but with an interval too wide to pass: the threshold fell in a
sparse tail of the known clips' confidences, 5% of 253 readings. Its recipe is tested once
more, by the same rule, with five students of fresh training seeds (5 to 9) added to the
shipped five, on the same clips but with four draws of each known clip's simulation and
rest (``--draws 4``: 1012 readings, the bootstrap resampling clips with all their draws,
so the draws of one clip are not counted as independent). If it passes, those five
students join the shipped ensemble; if it does not, the shipped ensemble stays as it is
and no other group is tried on these clips.

Members' window probabilities are kept in ``--outputs`` (one .npz per member and clip
set, keyed by the member's path), so a rerun, or a group added later, reads only what is
new.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import platform
import tempfile
from pathlib import Path

import numpy as np
from unknown_action_score import (  # noqa: E402 (this folder)
    BOOTSTRAP,
    COVERAGE,
    add_unknown_arguments,
    answered,
    gap_interval,
    real_clips,
    resample_known,
    unknown_clips,
)

from skelkd.config import load_config
from skelkd.evaluate.rejection import auroc, coverage_threshold
from skelkd.experiment import load_data, rested_val_clips
from skelkd.io.files import write_bytes_atomic, write_text_atomic
from skelkd.predict import (
    clip_confidence,
    combine_windows,
    default_model,
    window_probabilities,
)
from skelkd.reproduce.stats import Paired


class Readings:
    """One member's window probabilities on a list of clips: ``prob`` (all windows of all
    clips, classes), ``counts`` (clips, window lengths) the windows of each clip per length,
    ``labels`` (clips,)."""

    def __init__(self, prob: np.ndarray, counts: np.ndarray, labels: np.ndarray):
        self.prob, self.counts, self.labels = prob, counts, labels

    @classmethod
    def read(cls, model, clips) -> Readings:
        prob, counts, labels = [], [], []
        for c in clips:
            per_scale = window_probabilities(model, c)
            prob += [p for _, p in per_scale]
            counts.append([len(w) for w, _ in per_scale])
            labels.append(-1 if c.label is None else c.label)
        return cls(np.concatenate(prob).astype(np.float32), np.array(counts),
                   np.array(labels))

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, prob=self.prob, counts=self.counts, labels=self.labels)
        write_bytes_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> Readings:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["prob"], z["counts"], z["labels"])


def member_readings(run: Path, name: str, clips, outputs: Path | None) -> Readings:
    """``run``'s readings of the clip set ``name`` (``clips``: a callable giving them), from
    ``outputs`` when kept there."""
    key = hashlib.sha1(str(run.resolve()).encode()).hexdigest()[:12]
    path = outputs / f"{name}-{key}.npz" if outputs else None
    if path is not None and path.exists():
        return Readings.load(path)
    model, _, _ = default_model(run)
    out = Readings.read(model.eval(), clips())
    print(f"  read {name} with {run}", flush=True)
    if path is not None:
        out.save(path)
    return out


def ensemble_reading(members: list[Readings]) -> tuple[np.ndarray, np.ndarray]:
    """Per clip, the ensemble's confidence (:func:`skelkd.predict.clip_confidence`) and
    answer (reading ``max``), from its members' readings of the same clips."""
    counts = members[0].counts
    if any(not np.array_equal(m.counts, counts) for m in members[1:]):
        raise ValueError("members read the clips in different windows (another clip "
                         "length or frame count): they cannot be read as one ensemble")
    prob = np.stack([m.prob for m in members])  # members, windows, classes
    conf, answer = [], []
    start = 0
    for row in counts:
        per_scale = []
        for n in row:
            per_scale.append((range(n), prob[:, start:start + n]))
            start += n
        conf.append(clip_confidence(per_scale))
        answer.append(int(combine_windows([(w, p.mean(0)) for w, p in per_scale]).argmax()))
    return np.array(conf), np.array(answer)


class Arm:
    """An ensemble's readings: confidence and answers on the known clips, confidence on
    the unknown ones."""

    def __init__(self, name: str, known: list[Readings], unknown: list[Readings]):
        self.name = name
        self.members = len(known)
        self.kconf, ans = ensemble_reading(known)
        self.right = ans == known[0].labels
        self.uconf, _ = ensemble_reading(unknown)

    def figures(self, ik=None, iu=None) -> tuple[float, float]:
        """Known top-1 and unknown answered (shares), on resampled clips if given."""
        ik = slice(None) if ik is None else ik
        iu = slice(None) if iu is None else iu
        return float(self.right[ik].mean()), answered(self.kconf[ik], self.uconf[iu])

    def threshold(self, ik=None) -> float:
        return coverage_threshold(self.kconf[slice(None) if ik is None else ik], COVERAGE)


def bootstrap(arm: Arm, base: Arm, draws: int = 1, seed: int = 0
              ) -> tuple[list[tuple[float, float, float]], tuple[float, float]]:
    """95% intervals and two-sided p-values of ``arm`` less ``base``: known top-1, unknown
    answered; the clips resampled, the same draws for every arm (a known clip with all its
    ``draws``: ``unknown_action_score.resample_known``). Also the 95% interval of
    ``arm``'s threshold over the bootstrap draws: how firmly the known clips place it."""
    rng = np.random.default_rng(seed)
    nk, nu = len(base.kconf), len(base.uconf)
    gaps, thr = [], []
    for _ in range(BOOTSTRAP):
        ik = resample_known(rng, nk, draws)
        iu = rng.integers(0, nu, nu)
        gaps.append(np.subtract(arm.figures(ik, iu), base.figures(ik, iu)))
        thr.append(arm.threshold(ik))
    return ([gap_interval(g) for g in np.array(gaps).T],
            (float(np.quantile(thr, 0.025)), float(np.quantile(thr, 0.975))))


NEAR = (0.93, 0.94, 0.95, 0.96, 0.97)
"""Shares of the known clips kept at which the unknown clips answered are shown beside the
rule's 95% (``COVERAGE``)."""


def pct(v: float) -> str:
    return f"{100 * v:+.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_unknown_arguments(ap)
    ap.add_argument("--group", nargs="+", action="append", required=True,
                    metavar=("NAME", "RUN"),
                    help="a name and its members' run folders; the first group is the "
                         "shipped ensemble's")
    ap.add_argument("--later", nargs="*", default=[], metavar="NAME",
                    help="groups chosen after the tables without them had been read: "
                         "marked so in the doc")
    ap.add_argument("--confirmation", action="store_true",
                    help="the confirmation with fresh seeds that the docstring fixes: said "
                         "so in the doc")
    ap.add_argument("--outputs", type=Path, default=None,
                    help="a folder keeping each member's readings for reruns")
    args = ap.parse_args()
    if len(args.group) < 2 or any(len(g) < 2 for g in args.group):
        ap.error("give at least two --group NAME RUN [RUN ...]")
    groups = {g[0]: [Path(r) for r in g[1:]] for g in args.group}
    if set(args.later) - set(list(groups)[1:]):
        ap.error("--later names groups given by --group, not the first")
    if args.outputs:
        args.outputs.mkdir(parents=True, exist_ok=True)
    cfg = load_config("penn_video")
    first, _, _ = default_model(next(iter(groups.values()))[0])
    with tempfile.TemporaryDirectory() as tmp:
        hq, lq, _, _ = load_data(cfg, Path(tmp))

        def known():
            return [c for k in range(args.draws) for c in rested_val_clips(cfg, hq, lq, k)]

        def unknown():
            return list(unknown_clips(args.unknown, first.spec.layout, args.exclude))

        reads = {name: [(member_readings(r, f"known{args.draws}", known, args.outputs),
                         member_readings(r, "unknown-" + "-".join(args.exclude), unknown,
                                         args.outputs)) for r in runs]
                 for name, runs in groups.items()}
    base_name = next(iter(groups))
    base_reads = reads[base_name]
    arms = [Arm(base_name, *zip(*base_reads, strict=True))]
    for name, rs in list(reads.items())[1:]:
        arms.append(Arm(f"{base_name} + {name}", *zip(*(base_reads + rs), strict=True)))
    base = arms[0]
    b_top1, b_ans = base.figures()
    b_auc = auroc(base.kconf, base.uconf)
    lines = ["| ensemble | members | known top-1 | AUROC | threshold keeping 95% of known "
             "[95% CI] | unknown answered there | top-1 less shipped's [95% CI], p | "
             "unknown answered less shipped's [95% CI], p |", "|---|---|---|---|---|---|---|---|"]
    passed = {}
    for arm in arms:
        top1, ans = arm.figures()
        auc = auroc(arm.kconf, arm.uconf)
        ((tl, th, tp), (ul, uh, up)), (thl, thh) = bootstrap(arm, base, args.draws)
        cells = ["", ""]
        if arm is not base:
            cells = [f"{pct(top1 - b_top1)} [{pct(tl)}, {pct(th)}], p {tp:.3f}",
                     f"{pct(ans - b_ans)} [{pct(ul)}, {pct(uh)}], p {up:.3f}"]
            if uh < 0 and auc >= b_auc and th >= 0:
                passed[arm.name] = ans
        lines.append(f"| {arm.name} | {arm.members} | {100 * top1:.2f} | {auc:.3f} | "
                     f"{arm.threshold():.3f} [{thl:.3f}, {thh:.3f}] | {100 * ans:.1f}% | "
                     f"{cells[0]} | {cells[1]} |")
    paired = ["| group | pairs | known top-1: {shipped i, group i} less {shipped i, shipped "
              "i+1} [95% CI], p | unknown answered, the same [95% CI], p |", "|---|---|---|---|"]
    n = len(base_reads)
    for name, rs in list(reads.items())[1:]:
        k = min(n, len(rs))
        same = [Arm("", *zip(base_reads[i], base_reads[(i + 1) % n], strict=True)).figures()
                for i in range(k)]
        other = [Arm("", *zip(base_reads[i], rs[i], strict=True)).figures() for i in range(k)]
        cmps = [Paired(tuple(f[j] for f in same), tuple(f[j] for f in other))
                for j in range(2)]  # known top-1, unknown answered
        cells = [f"{pct(c.gain)} [{pct(c.interval()[0])}, {pct(c.interval()[1])}], "
                 f"p {c.p:.3f}" for c in cmps]
        um = cmps[1].gain
        paired.append(f"| {name} | {k} | {cells[0]} | {cells[1]} |")
        arm_name = f"{base_name} + {name}"
        if arm_name in passed and not um < 0:
            del passed[arm_name]
    near = ["| ensemble | " + " | ".join(f"{100 * c:.0f}% of known kept" for c in NEAR)
            + " |", "|---|" + "---|" * len(NEAR)]
    near += [f"| {arm.name} | " + " | ".join(
        f"{100 * np.mean(arm.uconf >= coverage_threshold(arm.kconf, c)):.1f}%" for c in NEAR)
        + " |" for arm in arms]
    chosen = min(passed, key=passed.get) if passed else None
    verdict = (f"By the rule, `{chosen}` replaces `{base_name}`." if chosen else
               f"By the rule, no group joins `{base_name}`: none answers significantly fewer "
               "unknown clips, at an AUROC at least its own and known top-1 not "
               "significantly lower, with its paired two-member reading the same way.")
    text = "\n".join([*(f"- `{k}`: {describe(v)}"
                        + (" (added later: see below)" if k in args.later else "")
                        for k, v in groups.items()), "", *lines, "", *paired, "",
                     "Unknown clips answered at thresholds near the rule's (descriptive, not "
                     "part of the rule): where an ensemble's unknown clips crowd around its "
                     "threshold, a small move of the threshold moves this share far.", "",
                     *near])
    print(text)
    print(verdict)
    real_text = real_section(args, groups, arms) if args.real else []
    if args.doc:
        group_args = " ".join(f"--group {k} " + " ".join(r.as_posix() for r in v)
                              for k, v in groups.items())
        real_arg = f" --real {args.real.as_posix()}" if args.real else ""
        later_arg = f" --later {' '.join(args.later)}" if args.later else ""
        later = ([f"Added later: {', '.join(f'`{k}`' for k in args.later)}, chosen after "
                  "the tables without them had been read (and the real clips after them). "
                  "The rule is the same, but the choice of these groups is not blind to "
                  "those readings, and every group added is one more comparison with the "
                  "same clips.", ""] if args.later else [])
        confirmation = (["The confirmation fixed in the script's docstring before its "
                         "students were trained: the recipe that led in "
                         "docs/ensemble_members.md, with students of fresh training seeds, "
                         "by the same rule, with more draws of each known clip.", ""]
                        if args.confirmation else [])
        write_text_atomic(args.doc, "\n".join([
            "# Networks of another kind in the shipped ensemble"
            + (": confirmation with fresh seeds" if args.confirmation else ""), "",
            f"Generated by `python experiments/ensemble_members.py {args.unknown.name} "
            f"{group_args}{later_arg}{' --confirmation' if args.confirmation else ''} "
            f"--draws {args.draws} --exclude "
            f"{' '.join(args.exclude)}{real_arg} --doc {args.doc.as_posix()}` "
            f"({platform.machine()}); do not edit "
            f"by hand. {args.unknown.name} is a pack of actions the models do not know "
            "(made by `skelkd data import`); classes left out as close to a known action: "
            f"{', '.join(args.exclude) or 'none'}.", "",
            f"Known: {len(base.kconf)} readings of the Penn Action validation clips with a "
            f"synthetic rest ({args.draws} draw(s) each); unknown: {len(base.uconf)} clips; "
            "both SIMULATED low quality (`penn_video`'s preset). The question, the arms "
            "and the rule (fixed before any arm was read) are in the script's docstring. "
            f"Bootstrap intervals: {BOOTSTRAP} draws of the known and unknown clips; the "
            "paired table: per training seed, two-member ensembles of the same size and "
            "first member, t-intervals over the seeds.", "", *confirmation, *later, text, "",
            verdict, "", *real_text]))


def real_section(args, groups: dict[str, list[Path]], arms: list[Arm]) -> list[str]:
    """Each arm on the real clips, read once the table was written: top-1 at the arm's own
    threshold (95% of its known clips; declined counts as wrong), the top class alone, and
    the out-of-class clips' confidence."""
    first, _, _ = default_model(next(iter(groups.values()))[0])
    names = list(first.spec.class_names)
    labelled, rejects = real_clips(args.real, names, args.cache)
    runs = {r for rs in groups.values() for r in rs}
    real = {r: member_readings(r, "real clips", lambda: [s for _, _, s in labelled], None)
            for r in sorted(runs)}
    out = {r: member_readings(r, "out-of-class clips", lambda: [s for _, s in rejects], None)
           for r in sorted(runs)}
    base_runs = next(iter(groups.values()))
    others = [n for n, _ in rejects]
    lines = ["## The real clips, read after", "",
             f"Read once the tables above were written, not to choose: the {len(labelled)} "
             f"labelled real clips of {args.real.name}/ and the out-of-class clips of "
             "docs/real_video.md (BlazePose output, benchmarks/real_video.py's "
             "extraction), each ensemble at its own threshold (95% of its simulated known "
             "clips).", "",
             "| ensemble | threshold | real top-1 (declined counts wrong) | top class alone | "
             + " | ".join(f"{n}: confidence" for n in others) + " |",
             "|---|---|---|---|---|" + "---|" * len(others)]
    for arm, rs in zip(arms, [base_runs] + [base_runs + v for v in list(groups.values())[1:]],
                       strict=True):
        thr = arm.threshold()
        conf, ans = ensemble_reading([real[r] for r in rs])
        right = ans == np.array([names.index(lab) for _, lab, _ in labelled])
        oconf, _ = ensemble_reading([out[r] for r in rs])
        lines.append(f"| {arm.name} | {thr:.3f} | {100 * np.mean(right & (conf >= thr)):.1f}% "
                     f"| {100 * right.mean():.1f}% | "
                     + " | ".join(f"{100 * c:.0f}%" + ("" if c >= thr else " (declined)")
                                  for c in oconf) + " |")
    print("\n".join(lines))
    return lines + [""]


def describe(runs: list[Path]) -> str:
    """A group's recipe, from its first run's configuration: backbone, outlier exposure."""
    cfg = load_config(runs[0] / "config.yaml")
    oe = (f"outlier exposure on {Path(cfg.data.outliers).name}" if cfg.data.outliers
          else "no outlier exposure")
    return (f"{len(runs)} student(s) of `{cfg.name}`, backbone {cfg.model.backbone}, {oe}, "
            f"seeds {', '.join(str(load_config(r / 'config.yaml').train.seed) for r in runs)}")


if __name__ == "__main__":
    main()
