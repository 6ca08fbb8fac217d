"""RESULTS.md and its figures, from the records alone (no data, no checkpoints): the
same records give the same document, byte for byte, on any machine with the pinned
libraries.

Everything here is read from the records or the protocol; the one piece of prose that
interprets the figures is a hand-written file beside the document
(``DOC_FOLDER/results/discussion.md``), included as it is, never generated.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from ..config import load_config
from ..distill.part_matrix import PartMatrix
from ..io.files import write_text_atomic
from .plan import Cell, Job, Protocol
from .run import choose_recipe, normalized
from .short_schedule import (
    DATASETS,
    MODE_NAMES,
    PAPER_TABLE3,
    PAPER_TABLE4,
    PAPER_TABLE5,
    _paper,
)
from .stats import Paired, fmt_p, last_quarter_gain, mean_last, mean_sd, paired

ARM_NAMES = {**MODE_NAMES, "none:paired": "no distillation, paired part only",
             "pmsc:paired": "L_pmsc, paired part only",
             "prgcn": "PR-GCN (its own network, no distillation; models/prgcn.py)"}


def load_records(results: Path) -> dict[str, dict]:
    """Every record under ``results``, by job key."""
    out = {}
    for path in sorted(results.rglob("*.json")):
        rec = json.loads(path.read_text())
        if "job" in rec and "metrics" in rec:
            rec = normalized(rec)
            out[Job(**rec["job"]).key()] = rec
    return out


class CellResult:
    """A cell's records: each arm's tuning trials, its chosen recipe (learning rate and
    batch construction, when every trial is recorded), and its test accuracy by seed at
    that recipe. ``only``: the same cell with every arm held to one batch construction
    (its trials of that construction, its best learning rate there): the robustness
    check of the report."""

    def __init__(self, cell: Cell, protocol: Protocol, records: dict[str, dict],
                 only: str | None = None):
        self.cell, self.protocol, self.only = cell, protocol, only
        self.trials = {a: [records[j.key()] for j in protocol.cell_jobs(cell, "tune")
                           if j.arm == a and j.key() in records
                           and only in (None, j.batch)] for a in cell.arms}
        need = len(protocol.grid_lr) * (1 if only else len(protocol.batches))
        self.recipe = {a: choose_recipe(protocol, t) for a, t in self.trials.items()
                       if len(t) == need}
        finals = protocol.cell_jobs(cell, "final", self.recipe)
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
        """The arms whose runs are this cell's own: the 'none' and 'pmsc' of Table 4 and of
        Table 3's first backbone are the runs of the Table 1 cell with the same dataset,
        OP and backbone, reported there."""
        shared = ()
        if self.cell.table in ("3", "4"):
            shared = next((c.arms for c in self.protocol.cells if c.table == "1"
                           and c.key() == self.cell.key()), ())
        return [a for a in self.cell.arms if a not in shared]

    @functools.cached_property
    def family(self) -> str:
        """The backbone kind of the cell's runs (``stgcn``, ``agcn``...)."""
        from ..models.spec import BACKBONES

        name = self.cell.backbone or load_config("fair").model.backbone
        return BACKBONES[name].kind

    def seconds(self, arms: list[str]) -> float:
        runs = {id(r): r for a in arms for r in self.trials[a]}
        runs |= {id(r): r for a in arms for r in self.finals[a].values()}
        return sum(r["metrics"]["seconds"] for r in runs.values())


def converged_gain(results: Path, cell: Cell, protocol: Protocol) -> str | None:
    """One line for ``cell``'s distillation-against-none comparison as the records in
    ``results`` have it (the claims table's row, in words); None while the cell is not
    complete there."""
    res = CellResult(cell, protocol, load_records(results))
    if not res.complete():
        return None
    pr = paired(res.top1("none"), res.top1("pmsc"))
    lo, hi = pr.interval()
    return (f"At convergence (docs/RESULTS.md, {_where(cell)}, every arm tuned on "
            f"validation, {pr.n} paired seeds): part-level distillation {pr.gain:+.2f} "
            f"points, 95% CI [{lo:+.2f}, {hi:+.2f}], p {fmt_p(pr.p)}: {pr.verdict}.")


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
    hq += f", {cell.backbone}" if cell.backbone else ""
    return f"{DATASETS[cell.dataset].title} ({s}{hq}), OP {cell.op:g}"


def _paper_row(cell: Cell) -> tuple[float, float] | None:
    return _paper(cell.dataset, cell.setting).get(cell.op)


def _recipe(recipe: tuple[float, str] | None) -> str:
    return "-" if recipe is None else f"{recipe[0]:g}, {recipe[1]}"


def _table_rows(res: CellResult) -> list[str]:
    rows = []
    paper = _paper_row(res.cell) if res.cell.table in ("1", "2") else None
    base = res.top1(res.cell.arms[0])
    for k, arm in enumerate(res.cell.arms):
        acc = res.top1(arm)
        lr = _recipe(res.recipe.get(arm))
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
        elif res.cell.table == "3" and (res.family, arm) in PAPER_TABLE3:
            pap = f"{PAPER_TABLE3[res.family, arm]:.2f}"
        five = f"{np.mean(res.top5(arm)):.2f}" if acc else "-"
        rows.append(f"| {ARM_NAMES.get(arm, arm)} | {lr} | {len(acc)} | "
                    f"{mean_sd(acc.values())} | {five} | {gain} | {ci} | {p} | {pap} |")
    return rows


def _tuning_rows(res: CellResult, arms: list[str]) -> list[str]:
    rows = []
    k = res.protocol.select_last
    for arm in arms:
        for r in sorted(res.trials[arm], key=lambda r: (r["job"]["batch"], -r["job"]["lr"])):
            curve = r["metrics"]["val_curve"]
            lq = last_quarter_gain(curve)
            mine = (r["job"]["lr"], r["job"]["batch"])
            chosen = "**chosen**" if res.recipe.get(arm) == mine else ""
            rows.append(f"| {_where(res.cell)} | {ARM_NAMES.get(arm, arm)} | "
                        f"{r['job']['batch']} | {r['job']['lr']:g} | {mean_last(curve, k):.2f} | "
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
                            label=f"{ARM_NAMES.get(arm, arm)} ({_recipe(res.recipe[arm])}, "
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
        elif c.table == "3":  # the first backbone's none/pmsc claim is Table 1's
            own = res.own_arms()
            if "none" in own:
                claims.append((f"distillation (L_pmsc) improves a {res.family} student",
                               where, paired(res.top1("none"), res.top1("pmsc"))))
            for peer in [a for a in own if a not in ("none", "pmsc")]:
                theirs = PAPER_TABLE3.get((res.family, peer))
                ours = PAPER_TABLE3.get((res.family, "pmsc"))
                claims.append((f"L_pmsc beats {ARM_NAMES.get(peer, peer)}", where,
                               paired(res.top1(peer), res.top1("pmsc")),
                               None if theirs is None or ours is None else ours - theirs))
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
    records = load_records(results)
    figdir = doc.parent / "results"
    cells = [CellResult(c, protocol, records) for c in protocol.cells]
    done = [r for r in cells if any(r.finals[a] for a in r.cell.arms)]
    tuning, conv, compute = [], [], []
    for res in cells:
        if not any(res.trials.values()):
            continue
        own = res.own_arms()
        tuning += _tuning_rows(res, own)
        conv += _convergence_rows(res, own)
        compute.append(f"| {_where(res.cell)} (Table {res.cell.table}) | {', '.join(own)} | "
                       f"{sum(len(res.trials[a]) for a in own)} | "
                       f"{sum(len(res.finals[a]) for a in own)} | "
                       f"{res.seconds(own) / 3600:.2f} | {'yes' if res.complete() else 'no'} |")
    by_dataset: dict[tuple[str, str], list[CellResult]] = {}
    for res in done:
        if res.cell.table in ("1", "2"):
            by_dataset.setdefault((res.cell.dataset, res.cell.setting), []).append(res)
    for group in by_dataset.values():
        group.sort(key=lambda r: r.cell.op)
    # the same cells with every arm held to one batch construction, where complete
    other = []
    for b in protocol.batches:
        alt = [CellResult(c, protocol, records, only=b) for c in protocol.cells]
        other += _claims([r for r in alt if r.complete()], batch=b)
    figures = _curve_figures(by_dataset, figdir)
    teachers, matrices = _teachers(protocol, records, figdir)
    missing = [f"{_where(r.cell)} (Table {r.cell.table}): {_runs_left(r)} runs to go"
               for r in cells if not r.complete()]
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
        "## Protocol", "", *_protocol_lines(protocol), "",
        "## The paper's claims, as they came out here", "",
        "The paper's gain is on its data (real estimator output; NTU-RGB+D and SYSU for "
        "the Kinect datasets' rows and for Table 4, at OP 0), for direction and size only.",
        "",
        "| claim | where | seeds | gain (points) | 95% CI | p | verdict | paper's gain |",
        "|---|---|---|---|---|---|---|---|", *_claims(done), "",
        *(["The same claims with every arm held to one batch construction (its best "
           "learning rate there), for the cells where that was run through: how much the "
           "verdicts depend on the batches (a robustness check; the protocol's result is "
           "the table above):", "",
           "| claim | where | seeds | gain (points) | 95% CI | p | verdict | paper's gain |",
           "|---|---|---|---|---|---|---|---|", *other, ""] if other else []),
        "## What held, what did not, and why we think so", "",
        *(discussion.read_text().rstrip("\n").splitlines() if discussion.exists()
          else ["(no discussion written yet)"]), "",
        "## Tables", "", *_cell_tables(by_dataset, done),
        "## Teachers", "",
        "| dataset | joints | epochs | validation top-1 (last 3) | last-quarter gain | "
        "converged | test top-1 | paper's teacher |", "|---|---|---|---|---|---|---|---|",
        *teachers, "",
        "## Tuning on validation (seed " f"{protocol.tune_seed})", "",
        "| cell | arm | batches | lr | validation top-1 (last "
        f"{protocol.select_last}) | best epoch's | last-quarter gain | under "
        f"{protocol.converged_points:g} (one run) | |",
        "|---|---|---|---|---|---|---|---|---|", *tuning, "",
        "## Convergence of the final runs", "",
        "An arm has converged when the mean of its seeds' validation curves gained less "
        f"than {protocol.converged_points:g} points in the last quarter; one run's own "
        "figure moves by a few validation clips either way, so it is listed, not judged.",
        "",
        "| cell | arm | seeds | last-quarter gain of the mean curve | converged | largest "
        "single run | single runs under the threshold |",
        "|---|---|---|---|---|---|---|", *conv, "",
        "## Figures", "", *figures, *matrices, "",
        "## Compute", "",
        "| cell | its own arms | tuning runs | final runs (the tuning seed's trial counts) "
        "| CPU hours | complete |",
        "|---|---|---|---|---|---|", *compute, "", _compute_summary(records), "",
        "## Cells not run yet", "",
        *([f"- {m}" for m in missing] or ["None."]), ""]
    return write_text_atomic(doc, "\n".join(text))


def _protocol_lines(protocol: Protocol) -> list[str]:
    """The protocol section, from the protocol and the shipped ``fair`` configuration."""
    cfg = load_config("fair")
    return [
        f"- Every arm of a cell (a dataset, setting and OP) gets the same search on "
        f"validation: learning rate in {{{', '.join(f'{x:g}' for x in protocol.grid_lr)}}} "
        f"times batch construction in {{{', '.join(protocol.batches)}}} (class-aware: "
        f"{cfg.train.batch_size // cfg.train.per_class} classes of {cfg.train.per_class} "
        "clips each, which gives the contrastive losses same-class positives; uniform: "
        f"shuffled), seed {protocol.tune_seed}, the same schedule; its recipe is the trial "
        "with the "
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
        f"batches of {cfg.train.batch_size}. Converged means the last quarter "
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
        "**reversed** = the interval entirely below zero; else **not shown**."]


def _curve_figures(by_dataset: dict, figdir: Path) -> list[str]:
    """Each dataset and setting's validation curves, drawn; their Markdown links."""
    out = []
    for (key, setting), group in by_dataset.items():
        name = f"curves_{key}_{setting}.png"
        _curves_figure(group, figdir / name, f"{DATASETS[key].title}, {setting}: mean over "
                       "seeds (band: range)")
        out.append(f"![validation curves {key} {setting}]({figdir.name}/{name})")
    return out


def _teachers(protocol: Protocol, records: dict, figdir: Path) -> tuple[list[str], list[str]]:
    """The teachers table's rows, and each teacher's part matrix E drawn (its links)."""
    rows, links = [], []
    teachers = [(c.dataset, c.backbone) for c in protocol.cells]
    for key, bb in sorted(dict.fromkeys(teachers), key=lambda t: (list(DATASETS).index(t[0]),
                                                                  t[1])):
        rec = records.get(Job(key, "teacher", backbone=bb).key())
        if rec is None:
            continue
        curve = rec["metrics"]["val_curve"]
        lq = last_quarter_gain(curve)
        title = DATASETS[key].title + (f", {bb}" if bb else "")
        paper = "-" if bb else f"{_paper(key, 'hetero')['teacher']:.2f}"
        rows.append(f"| {title} | {DATASETS[key].hq_kind} | "
                    f"{protocol.teacher_epochs[key]} | {mean_last(curve, 3):.2f} | "
                    f"{lq:+.2f} | {'yes' if lq < protocol.converged_points else 'NO'} | "
                    f"{rec['metrics']['top1']:.2f} | {paper} |")
        name = f"part_matrix_{key}{'_' + bb if bb else ''}.png"
        _part_matrix_figure(rec, figdir / name, f"Part matrix E: {title} "
                            "teacher (Eq. 12-13, training split)")
        links.append(f"![part matrix {key}{' ' + bb if bb else ''}]({figdir.name}/{name})")
    return rows, links


def _cell_tables(by_dataset: dict, done: list[CellResult]) -> list[str]:
    """Each cell's table: Tables 1 and 2 per dataset and setting, then Tables 3, 4 and 5."""
    body = []
    for (key, setting), group in by_dataset.items():
        s = "heterogeneous" if setting == "hetero" else "homogeneous"
        paper = _paper(key, setting)["where"]
        body += [f"### {DATASETS[key].title}, {s}", "",
                 f"Paper's figures: {paper} (their data, real estimator output).", ""]
        for res in group:
            body += [f"OP {res.cell.op:g}:", "", *_TABLE_HEAD, *_table_rows(res), ""]
    extras = {"3": "Paper's figures: Table 3, Penn Action (PifPaf-ResNet152 skeletons), "
                   "its ST-GCN, Js-AGCN and EfficientGCN-B4 rows; ours are CPU-sized "
                   "backbones of the same families.",
              "4": "Paper's figures: Table 4, NTU-RGB+D cross-subject, OP 0."}
    for res in sorted(done, key=lambda r: r.cell.table):
        if res.cell.table in ("3", "4", "5"):
            extra = (f"Paper's Table 5 (NTU-RGB+D, HQ for {res.cell.fraction:.0%}): "
                     + ", ".join(f"{v:.2f}" for v in PAPER_TABLE5.get(res.cell.fraction, ()))
                     if res.cell.table == "5" else extras[res.cell.table])
            body += [f"### Table {res.cell.table} analogue: {_where(res.cell)}", "", extra, "",
                     *_TABLE_HEAD, *_table_rows(res), ""]
    return body


def _compute_summary(records: dict) -> str:
    """All records' runs and CPU hours, the machines and source commits they came from."""
    seconds = sum(r["metrics"]["seconds"] for r in records.values())
    machines = sorted({str(r["metrics"].get("environment", {}).get("machine")) for r in
                       records.values()})
    commits = sorted({str(r["metrics"].get("environment", {}).get("git_commit")) for r in
                      records.values()})
    return (f"All records: {len(records)} runs, {seconds / 3600:.2f} CPU hours (each run "
            f"single-threaded, two side by side; machines: {', '.join(machines) or '-'}). "
            f"Source commits: {', '.join(commits) or '-'}.")


_TABLE_HEAD = ["| arm | recipe (lr, batches) | seeds | test top-1 | test top-5 | paired gain over "
               "the first row | 95% CI | p | paper's top-1 |",
               "|---|---|---|---|---|---|---|---|---|"]


def _runs_left(res: CellResult) -> int:
    """Student runs the cell still needs: missing tuning trials, then every arm's seeds
    (the tuning seed's trial counts for its arm's recipe)."""
    prot, own = res.protocol, res.own_arms()
    tune = sum(len(prot.grid_lr) * len(prot.batches) - len(res.trials[a]) for a in own)
    finals = sum(len(prot.seeds) - 1 - sum(s != prot.tune_seed for s in res.finals[a])
                 for a in own)
    return tune + finals
