"""RESULTS.md and its figures, from the records alone (no data, no checkpoints): the
same records give the same document, byte for byte, on any machine with the pinned
libraries.

Everything here is read from the records or the protocol; the one piece of prose that
interprets the figures is a hand-written file beside the document
(``DOC_FOLDER/results/discussion.md``), included as it is, never generated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .plan import Cell, Job, Protocol
from .run import choose_batch, choose_lr, normalized
from .short_schedule import DATASETS, MODE_NAMES, PAPER_TABLE4, PAPER_TABLE5, _paper
from .stats import Paired, fmt_p, last_quarter_gain, mean_last, mean_sd, paired

ARM_NAMES = {**MODE_NAMES, "none:paired": "no distillation, paired part only",
             "pmsc:paired": "L_pmsc, paired part only"}


def load_records(results: Path) -> dict[str, dict]:
    """Every record under ``results``, by job key."""
    out = {}
    for path in sorted(results.rglob("*.json")):
        rec = json.loads(path.read_text())
        if "job" in rec and "metrics" in rec:
            rec = normalized(rec)
            out[Job(**rec["job"]).key()] = rec
    return out


PENDING = "pending"  # a batch construction no job has: the choice is not made yet


class BatchChoice:
    """A dataset's batch-construction trials (:meth:`Protocol.batch_jobs`) and the
    construction they chose (:data:`PENDING` until every trial is recorded)."""

    def __init__(self, dataset: str, protocol: Protocol, records: dict[str, dict]):
        self.dataset, self.protocol = dataset, protocol
        jobs = protocol.batch_jobs(dataset)
        self.trials = [records[j.key()] for j in jobs if j.key() in records]
        self.complete = len(self.trials) == len(jobs)
        # until every trial is in, the dataset's cells wait (PENDING matches no record)
        self.batch = choose_batch(protocol, self.trials) if self.complete else PENDING

    def rows(self) -> list[str]:
        out, k = [], self.protocol.select_last
        scores = [mean_last(r["metrics"]["val_curve"], k) for r in self.trials]
        best = max(range(len(scores)), key=scores.__getitem__) if self.complete else -1
        for i, r in enumerate(self.trials):
            curve = r["metrics"]["val_curve"]
            chosen = f"**best: {self.batch} chosen**" if i == best else ""
            out.append(f"| {DATASETS[self.dataset].title} | {r['job']['batch']} | "
                       f"{r['job']['lr']:g} | {mean_last(curve, k):.2f} | "
                       f"{max(a for _, a in curve):.2f} | {chosen} |")
        return out

    def extra(self) -> list[dict]:
        """The trials that are no cell's: those of the constructions not chosen."""
        return [r for r in self.trials if r["job"]["batch"] != self.batch]


class CellResult:
    """A cell's records: each arm's tuning trials, its chosen learning rate (when every
    trial is recorded), and its test accuracy by seed at that rate, all with the
    dataset's batch construction."""

    def __init__(self, cell: Cell, protocol: Protocol, records: dict[str, dict],
                 batch: str | None = None):
        self.cell, self.protocol = cell, protocol
        self.batch = batch or protocol.batches[0]
        self.trials = {a: [records[j.key()] for j in
                           protocol.cell_jobs(cell, "tune", batch=self.batch)
                           if j.arm == a and j.key() in records] for a in cell.arms}
        self.lr = {a: choose_lr(protocol, t) for a, t in self.trials.items()
                   if len(t) == len(protocol.grid_lr)}
        finals = protocol.cell_jobs(cell, "final", self.lr, self.batch)
        self.finals = {a: {j.seed: records[j.key()] for j in finals
                           if j.arm == a and j.key() in records} for a in cell.arms}

    def top1(self, arm: str) -> dict[int, float]:
        return {s: r["metrics"]["top1"] for s, r in self.finals[arm].items()}

    def top5(self, arm: str) -> list[float]:
        return [r["metrics"]["top5"] for r in self.finals[arm].values()]

    def complete(self) -> bool:
        n = len(self.protocol.seeds)
        return all(len(self.finals[a]) == n for a in self.cell.arms)

    def own_arms(self) -> list[str]:
        """The arms whose runs are this cell's own: Table 4's 'none' and 'pmsc' are the
        runs of the Table 1 cell with the same dataset and OP, reported there."""
        shared = ()
        if self.cell.table == "4":
            shared = next((c.arms for c in self.protocol.cells if c.table == "1"
                           and c.key() == self.cell.key()), ())
        return [a for a in self.cell.arms if a not in shared]

    def seconds(self, arms: list[str]) -> float:
        runs = {id(r): r for a in arms for r in self.trials[a]}
        runs |= {id(r): r for a in arms for r in self.finals[a].values()}
        return sum(r["metrics"]["seconds"] for r in runs.values())


def _claim(claim: str, where: str, pr: Paired, paper: float | None = None) -> str:
    lo, hi = pr.interval()
    ci = f"[{lo:+.2f}, {hi:+.2f}]" if pr.n > 1 else "-"
    gain = f"{pr.gain:+.2f}" if pr.n else "-"
    theirs = "-" if paper is None else f"{paper:+.2f}"
    return (f"| {claim} | {where} | {pr.n} | {gain} | {ci} | {fmt_p(pr.p)} | "
            f"{pr.verdict} | {theirs} |")


def _where(cell: Cell) -> str:
    s = "heterogeneous" if cell.setting == "hetero" else "homogeneous"
    hq = f", HQ for {cell.fraction:.0%}" if cell.fraction < 1 else ""
    return f"{DATASETS[cell.dataset].title} ({s}{hq}), OP {cell.op:g}"


def _paper_row(cell: Cell) -> tuple[float, float] | None:
    return _paper(cell.dataset, cell.setting).get(cell.op)


def _table_rows(res: CellResult) -> list[str]:
    rows = []
    paper = _paper_row(res.cell) if res.cell.table in ("1", "2") else None
    base = res.top1(res.cell.arms[0])
    for k, arm in enumerate(res.cell.arms):
        acc = res.top1(arm)
        lr = f"{res.lr[arm]:g}" if arm in res.lr else "-"
        gain = ci = p = ""
        if k:
            pr = paired(base, acc)
            if pr.n > 1:
                lo, hi = pr.interval()
                gain, ci, p = f"{pr.gain:+.2f}", f"[{lo:+.2f}, {hi:+.2f}]", fmt_p(pr.p)
        pap = ""
        if paper is not None and arm in ("none", "pmsc"):
            pap = f"{paper[0 if arm == 'none' else 1]:.2f}"
        elif res.cell.table == "4" and arm in PAPER_TABLE4:
            pap = f"{PAPER_TABLE4[arm]:.2f}"
        five = f"{np.mean(res.top5(arm)):.2f}" if acc else "-"
        rows.append(f"| {ARM_NAMES.get(arm, arm)} | {lr} | {len(acc)} | "
                    f"{mean_sd(acc.values())} | {five} | {gain} | {ci} | {p} | {pap} |")
    return rows


def _tuning_rows(res: CellResult, arms: list[str]) -> list[str]:
    rows = []
    k = res.protocol.select_last
    for arm in arms:
        for r in sorted(res.trials[arm], key=lambda r: -r["job"]["lr"]):
            curve = r["metrics"]["val_curve"]
            lq = last_quarter_gain(curve)
            chosen = "**chosen**" if res.lr.get(arm) == r["job"]["lr"] else ""
            rows.append(f"| {_where(res.cell)} | {ARM_NAMES.get(arm, arm)} | "
                        f"{r['job']['lr']:g} | {mean_last(curve, k):.2f} | "
                        f"{max(a for _, a in curve):.2f} | {lq:+.2f} | "
                        f"{'yes' if lq < res.protocol.converged_points else 'NO'} | {chosen} |")
    return rows


def _convergence_rows(res: CellResult, arms: list[str]) -> list[str]:
    rows = []
    for arm in arms:
        by_seed = res.finals[arm]
        if not by_seed:
            continue
        curves = [r["metrics"]["val_curve"] for r in by_seed.values()]
        gains = [last_quarter_gain(c) for c in curves]
        n = min(len(c) for c in curves)
        mean_curve = [[curves[0][k][0], float(np.mean([c[k][1] for c in curves]))]
                      for k in range(n)]
        arm_gain = last_quarter_gain(mean_curve)
        ok = sum(g < res.protocol.converged_points for g in gains)
        rows.append(f"| {_where(res.cell)} | {ARM_NAMES.get(arm, arm)} | {len(gains)} | "
                    f"{arm_gain:+.2f} | "
                    f"{'yes' if arm_gain < res.protocol.converged_points else 'NO'} | "
                    f"{max(gains):+.2f} | {ok} of {len(gains)} |")
    return rows


def _curves_figure(results: list[CellResult], path: Path, title: str) -> Path:
    """Validation accuracy against epochs, one panel per cell: each arm's mean over its
    seeds at the chosen learning rate, the band its range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..viz.skeleton import save_figure

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.4),
                             squeeze=False)
    for ax, res in zip(axes[0], results, strict=True):
        for arm, by_seed in res.finals.items():
            if not by_seed:
                continue
            curves = [np.asarray(r["metrics"]["val_curve"], float) for r in by_seed.values()]
            n = min(len(c) for c in curves)
            acc = np.stack([c[:n, 1] for c in curves])
            ep = curves[0][:n, 0]
            line, = ax.plot(ep, acc.mean(0), lw=1.2,
                            label=f"{ARM_NAMES.get(arm, arm)} (lr {res.lr[arm]:g}, "
                                  f"{len(curves)} seeds)")
            ax.fill_between(ep, acc.min(0), acc.max(0), color=line.get_color(), alpha=0.2)
        ax.set_title(_where(res.cell), fontsize=8)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    axes[0, 0].set_ylabel("validation top-1 (%)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def _part_matrix_figure(rec: dict, path: Path, title: str) -> Path:
    from ..distill.part_matrix import PartMatrix

    pm = rec["metrics"]["part_matrix"]
    return PartMatrix(pm["class_names"], np.asarray(pm["error_rates"]),
                      pm.get("temperature", 1.0)).plot(path, title)


def _claims(done: list[CellResult], batch: str | None = None) -> list[str]:
    """The claims table's rows for these cells (Table 1/2: distillation helps, and the
    gain grows with occlusion where OP 0 and 0.6 are both there; Table 4: L_pmsc beats
    each other loss; Table 5: the paired-part claims). ``batch`` names a construction
    in the 'where' column (the robustness table)."""
    claims = []
    tag = "" if batch is None else f", {batch} batches"
    by_dataset: dict[tuple[str, str], list[CellResult]] = {}
    for res in done:
        c = res.cell
        where = _where(c) + tag
        if c.table in ("1", "2"):
            by_dataset.setdefault((c.dataset, c.setting), []).append(res)
            pap = _paper_row(c)
            claims.append(("distillation (L_pmsc) improves the student", where,
                                 paired(res.top1("none"), res.top1("pmsc")),
                                 None if pap is None else pap[1] - pap[0]))
        elif c.table == "4":  # against no distillation: Table 1's claim, not repeated
            for other in [a for a in res.own_arms() if a != "pmsc"]:
                theirs = PAPER_TABLE4.get(other)
                claims.append((f"L_pmsc beats {ARM_NAMES[other]}", where,
                                     paired(res.top1(other), res.top1("pmsc")),
                                     None if theirs is None else PAPER_TABLE4["pmsc"] - theirs))
        elif c.table == "5":
            claims.append(("solitary LQ samples still help (L_pmsc on all vs on the "
                                 "paired part)", where,
                                 paired(res.top1("pmsc:paired"), res.top1("pmsc"))))
            claims.append(("distillation helps with partial HQ (paired part)",
                                 where, paired(res.top1("none:paired"),
                                               res.top1("pmsc:paired"))))
    for (key, setting), group in by_dataset.items():
        ops = {r.cell.op: r for r in group}
        if 0.0 in ops and 0.6 in ops:  # the gain grows with occlusion, seed by seed
            pap = [_paper_row(Cell(key, setting, op)) for op in (0.0, 0.6)]
            g = {}
            for op in (0.0, 0.6):
                pr_none, pr_kd = ops[op].top1("none"), ops[op].top1("pmsc")
                g[op] = {s: pr_kd[s] - pr_none[s] for s in set(pr_none) & set(pr_kd)}
            claims.append(("the gain grows with occlusion (gain at OP 0.6 minus gain "
                                 "at OP 0)",
                                 _where(Cell(key, setting, 0.6)).rsplit(",", 1)[0] + tag,
                                 paired(g[0.0], g[0.6]),
                                 (pap[1][1] - pap[1][0]) - (pap[0][1] - pap[0][0])))
    return [_claim(*c) for c in claims if c[2].n > 0]  # a claim with no paired seed yet: left out


def write_report(protocol: Protocol, results: Path, doc: Path, command: str) -> Path:
    """The results document and its figures (``doc``'s folder / ``results``)."""
    from ..config import load_config
    from ..io.files import write_text_atomic

    records = load_records(results)
    figdir = doc.parent / "results"
    rel = figdir.name
    choices = {k: BatchChoice(k, protocol, records) for k in DATASETS
               if any(c.dataset == k for c in protocol.cells)}
    cells = [CellResult(c, protocol, records, choices[c.dataset].batch)
             for c in protocol.cells]
    done = [r for r in cells if any(r.finals[a] for a in r.cell.arms)]
    claims, body, tuning, conv, compute = [], [], [], [], []
    by_dataset: dict[tuple[str, str], list[CellResult]] = {}
    for res in cells:
        if not any(res.trials.values()):
            continue
        c, own = res.cell, res.own_arms()
        tuning += _tuning_rows(res, own)
        conv += _convergence_rows(res, own)
        compute.append(f"| {_where(c)} (Table {c.table}) | {', '.join(own)} | "
                       f"{sum(len(res.trials[a]) for a in own)} | "
                       f"{sum(len(res.finals[a]) for a in own)} | "
                       f"{res.seconds(own) / 3600:.2f} | {'yes' if res.complete() else 'no'} |")
    batch_rows = [row for ch in choices.values() for row in ch.rows()]
    for ch in choices.values():
        if ch.extra():
            hours = sum(r["metrics"]["seconds"] for r in ch.extra()) / 3600
            compute.append(f"| {DATASETS[ch.dataset].title}: the batch constructions not "
                           f"chosen | none | {len(ch.extra())} | 0 | {hours:.2f} | "
                           f"{'yes' if ch.complete else 'no'} |")
    claims = _claims(done)
    for res in done:
        if res.cell.table in ("1", "2"):
            by_dataset.setdefault((res.cell.dataset, res.cell.setting), []).append(res)
    for group in by_dataset.values():
        group.sort(key=lambda r: r.cell.op)
    # the same cells with each construction that was not chosen, where complete
    other = []
    for ch in choices.values():
        if not ch.complete:
            continue
        for b in (b for b in protocol.batches if b != ch.batch):
            alt = [CellResult(c, protocol, records, b) for c in protocol.cells
                   if c.dataset == ch.dataset]
            other += _claims([r for r in alt if r.complete()], batch=b)
    figures = []
    for (key, setting), group in by_dataset.items():
        name = f"curves_{key}_{setting}.png"
        _curves_figure(group, figdir / name, f"{DATASETS[key].title}, {setting}: mean over "
                       "seeds (band: range)")
        figures.append(f"![validation curves {key} {setting}]({rel}/{name})")
    teachers = []
    for key in DATASETS:
        rec = records.get(Job(key, "teacher").key())
        if rec is None:
            continue
        curve = rec["metrics"]["val_curve"]
        lq = last_quarter_gain(curve)
        teachers.append(f"| {DATASETS[key].title} | {DATASETS[key].hq_kind} | "
                        f"{protocol.teacher_epochs[key]} | {mean_last(curve, 3):.2f} | "
                        f"{lq:+.2f} | {'yes' if lq < protocol.converged_points else 'NO'} | "
                        f"{rec['metrics']['top1']:.2f} | "
                        f"{_paper(key, 'hetero')['teacher']:.2f} |")
        name = f"part_matrix_{key}.png"
        _part_matrix_figure(rec, figdir / name, f"Part matrix E: {DATASETS[key].title} "
                            "teacher (Eq. 12-13, training split)")
        figures.append(f"![part matrix {key}]({rel}/{name})")
    body = []
    for (key, setting), group in by_dataset.items():
        s = "heterogeneous" if setting == "hetero" else "homogeneous"
        paper = _paper(key, setting)["where"]
        body += [f"### {DATASETS[key].title}, {s}", "",
                 f"Paper's figures: {paper} (their data, real estimator output).", ""]
        for res in group:
            body += [f"OP {res.cell.op:g}:", "", *_TABLE_HEAD, *_table_rows(res), ""]
    for res in done:
        if res.cell.table in ("4", "5"):
            extra = (f"Paper's Table 5 (NTU-RGB+D, HQ for {res.cell.fraction:.0%}): "
                     + ", ".join(f"{v:.2f}" for v in PAPER_TABLE5.get(res.cell.fraction, ()))
                     if res.cell.table == "5" else "Paper's figures: Table 4, NTU-RGB+D "
                     "cross-subject, OP 0.")
            body += [f"### Table {res.cell.table} analogue: {_where(res.cell)}", "", extra, "",
                     *_TABLE_HEAD, *_table_rows(res), ""]
    missing = [f"{DATASETS[ch.dataset].title}: batch construction, "
               f"{len(protocol.batch_jobs(ch.dataset)) - len(ch.trials)} runs to go"
               for ch in choices.values() if not ch.complete]
    missing += [f"{_where(r.cell)} (Table {r.cell.table}): {_runs_left(r)} runs to go"
                for r in cells if not r.complete()]
    cfg = load_config("fair")
    seconds = sum(r["metrics"]["seconds"] for r in records.values())
    machines = sorted({str(r["metrics"].get("environment", {}).get("machine")) for r in
                       records.values()})
    commits = sorted({str(r["metrics"].get("environment", {}).get("git_commit")) for r in
                      records.values()})
    discussion = doc.parent / "results" / "discussion.md"
    text = [
        "# Results: the paper's claims under a validated protocol", "",
        f"Generated by `{command}` from the records under `{results.as_posix()}` (one small "
        "JSON file per finished run); do not edit by hand. The paper's figures are "
        "transcribed from Liu et al. (Signal Processing) and are on THEIR data, labelled "
        "as the paper's.", "",
        "## Data: what is real and what is simulated", "",
        *[f"- **{DATASETS[k].title}**: high quality = REAL {DATASETS[k].hq_kind}; low "
          "quality = SIMULATED ('fast' preset, docs/simulator.md); official test split, "
          "the official training split less a class-stratified 20% for validation "
          "(`official-val`, `skelkd.io.splits`)." for k in DATASETS], "",
        "## Protocol", "",
        f"- Every arm of a cell (a dataset, setting and OP) gets the same search on "
        f"validation: learning rate in {{{', '.join(f'{x:g}' for x in protocol.grid_lr)}}}, "
        f"seed {protocol.tune_seed}, the same schedule; its recipe is the trial with the "
        f"best mean validation top-1 over its last {protocol.select_last} epochs. "
        "Distillation settings are not tuned (tau "
        f"{cfg.distill.temperature:g}, alpha {cfg.distill.alpha:g}, w {cfg.distill.w:g}), "
        "so the undistilled arm gets as many trials as any distilled arm.",
        "- Schedule: students "
        + ", ".join(f"{DATASETS[k].title} {e}" for k, e in protocol.epochs.items())
        + f" epochs; SGD momentum {cfg.train.optim.momentum:g}, "
        f"{cfg.train.optim.warmup_epochs} warm-up epochs, the learning rate divided by 10 "
        f"at {', '.join(f'{m:.3g}' for m in cfg.train.optim.milestones)} of training (the "
        f"paper's shape); {cfg.model.backbone}, T = {cfg.input.num_frames}, one person, "
        f"batches of {cfg.train.batch_size}, class-aware ({cfg.train.per_class} clips "
        "of a class each) or uniformly shuffled: one construction per dataset, chosen on "
        "validation by the undistilled student's best trial over the learning-rate grid "
        f"with each, at OP {protocol.probe_op:g} (heterogeneous), then used by every arm "
        "and cell of that dataset (table below). Converged means the last quarter "
        f"of training added less than {protocol.converged_points:g} points of validation "
        "accuracy (the mean over the last eighth of the epochs minus the mean over the "
        "eighth before it).",
        f"- Seeds {', '.join(map(str, protocol.seeds))} for every arm's recipe (seed "
        f"{protocol.tune_seed}'s tuning trial is reused). Within a seed the arms share the "
        "initialisation, batch order and augmentation; every run shares the simulated "
        "low-quality data (simulator seed 0) and its occlusion.",
        "- The test split is read once per model, after training (the last epoch; no "
        "selection on test).",
        "- One teacher per dataset: "
        + ", ".join(f"{DATASETS[k].title} {e} epochs" for k, e in protocol.teacher_epochs.items())
        + " on the shape of the published CTR-GCN NW-UCLA schedule (`"
        + " ".join(protocol.teacher_overrides) + "`), not tuned; E (Eq. 12-13) from its "
        "errors on the training split.",
        "- Statistics: each arm's mean ± sample SD over seeds; the paired gain (seed by "
        "seed), its 95% confidence interval (t, n - 1 degrees of freedom) and the "
        "two-sided paired t-test p-value. **held** = p < 0.05 with the claimed sign; "
        "**reversed** = the interval entirely below zero; else **not shown**.", "",
        "## The paper's claims, as they came out here", "",
        "The paper's gain is on its data (real estimator output; NTU-RGB+D and SYSU for "
        "the Kinect datasets' rows and for Table 4, at OP 0), for direction and size only.",
        "",
        "| claim | where | seeds | gain (points) | 95% CI | p | verdict | paper's gain |",
        "|---|---|---|---|---|---|---|---|", *claims, "",
        *(["The same claims with the batch construction the protocol did not choose, "
           "for the cells where it was run through (a robustness check, not the "
           "protocol's result):", "",
           "| claim | where | seeds | gain (points) | 95% CI | p | verdict | paper's gain |",
           "|---|---|---|---|---|---|---|---|", *other, ""] if other else []),
        "## What held, what did not, and why we think so", "",
        *(discussion.read_text().rstrip("\n").splitlines() if discussion.exists()
          else ["(no discussion written yet)"]), "",
        "## Tables", "", *body,
        "## Teachers", "",
        "| dataset | joints | epochs | validation top-1 (last 3) | last-quarter gain | "
        "converged | test top-1 | paper's teacher |", "|---|---|---|---|---|---|---|---|",
        *teachers, "",
        "## Tuning on validation (seed " f"{protocol.tune_seed})", "",
        "Batch construction, per dataset (the undistilled student; validation top-1, mean "
        f"of the last {protocol.select_last} epochs, and the best epoch's):", "",
        "| dataset | batches | lr | validation top-1 (last "
        f"{protocol.select_last}) | best epoch's | |", "|---|---|---|---|---|---|",
        *batch_rows, "",
        "Each arm's learning rate, per cell, with the dataset's batch construction:", "",
        "| cell | arm | lr | validation top-1 (last "
        f"{protocol.select_last}) | best epoch's | last-quarter gain | under "
        f"{protocol.converged_points:g} (one run) | |",
        "|---|---|---|---|---|---|---|---|", *tuning, "",
        "## Convergence of the final runs", "",
        "An arm has converged when the mean of its seeds' validation curves gained less "
        f"than {protocol.converged_points:g} points in the last quarter; one run's own "
        "figure moves by a few validation clips either way, so it is listed, not judged.",
        "",
        "| cell | arm | seeds | last-quarter gain of the mean curve | converged | largest "
        "single run | single runs under the threshold |",
        "|---|---|---|---|---|---|---|", *conv, "",
        "## Figures", "", *figures, "",
        "## Compute", "",
        "| cell | its own arms | tuning runs | final runs (the tuning seed's trial counts) "
        "| CPU hours | complete |",
        "|---|---|---|---|---|---|", *compute, "",
        f"All records: {len(records)} runs, {seconds / 3600:.2f} CPU hours (each run single-"
        f"threaded, two side by side; machines: {', '.join(machines) or '-'}). Source "
        f"commits: {', '.join(commits) or '-'}.", "",
        "## Cells not run yet", "",
        *([f"- {m}" for m in missing] or ["None."]), ""]
    return write_text_atomic(doc, "\n".join(text))


_TABLE_HEAD = ["| arm | lr (chosen) | seeds | test top-1 | test top-5 | paired gain over "
               "the first row | 95% CI | p | paper's top-1 |",
               "|---|---|---|---|---|---|---|---|---|"]


def _runs_left(res: CellResult) -> int:
    """Student runs the cell still needs: missing tuning trials, then every arm's seeds
    (the tuning seed's trial counts for its arm's recipe)."""
    prot, own = res.protocol, res.own_arms()
    tune = sum(len(prot.grid_lr) - len(res.trials[a]) for a in own)
    finals = sum(len(prot.seeds) - 1 - sum(s != prot.tune_seed for s in res.finals[a])
                 for a in own)
    return tune + finals
