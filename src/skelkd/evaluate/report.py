"""Comparison tables across runs (``skelkd report``): mean and standard deviation over
the run folders given (typically one per seed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import load_config
from ..errors import SkelkdError
from ..experiment import distill_label


def collect(run_dirs: list[Path], warn=None) -> dict[tuple, list[dict]]:
    """(model, distillation, trained at OP, evaluated at OP) -> the metrics of each run.

    Each folder given is a run folder (its ``teacher/`` and ``student-*/`` folders) or a
    folder of run folders (``runs``). A student's teacher counts where it lies, also
    outside the folders given (``skelkd train student --teacher DIR``), once. A folder
    without finished runs (still training, failed, not a run folder) or with an
    unreadable metrics.json is an error, or, with ``warn``, reported through it and
    skipped; an error still when no folder has any."""
    groups: dict[tuple, list[dict]] = {}
    teachers: set[Path] = set()

    def problem(msg: str) -> None:
        if warn is None:
            raise SkelkdError(msg)
        warn(f"{msg}; skipped")

    def read(metrics: Path) -> dict | None:
        try:
            return json.loads(metrics.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            problem(f"{metrics}: not readable JSON ({exc})")
            return None

    def add_teacher(folder: Path, m: dict | None = None) -> None:
        if folder.resolve() in teachers:
            return
        m = m if m is not None else read(folder / "metrics.json")
        if m is not None:
            teachers.add(folder.resolve())
            groups.setdefault(("teacher", "-", "-", 0.0), []).append(m)

    for run in map(Path, run_dirs):
        if not run.is_dir():
            problem(f"{run}: not a run folder")
            continue
        found = False
        for sub in _model_folders(run):
            m = read(sub / "metrics.json")
            if m is None:
                continue
            found = True
            if "distill" not in m:  # a teacher: students carry their distillation
                add_teacher(sub, m)
                continue
            if "teacher" in m and (sub / m["teacher"] / "metrics.json").is_file():
                add_teacher(sub / m["teacher"])
            label = _label(sub) or m.get("distill", "?")
            for op, r in m.get("by_op", {}).items():
                key = ("student", label, m.get("train_occlusion", 0.0), float(op))
                groups.setdefault(key, []).append(r)
        if not found:
            problem(f"{run}: no teacher/ or student-*/ folder with metrics.json, here or one "
                    "level down")
    if not groups:
        raise SkelkdError("none of the folders given holds a finished run")
    return groups


def _model_folders(run: Path) -> list[Path]:
    """The folders with a finished model's metrics.json in ``run`` (a run folder), or in
    its subfolders when it has none itself (a folder of run folders)."""
    own = [sub for sub in sorted(run.iterdir()) if (sub / "metrics.json").is_file()]
    if own:
        return own
    return [sub for child in sorted(run.iterdir()) if child.is_dir()
            for sub in sorted(child.iterdir()) if (sub / "metrics.json").is_file()]


def _label(folder: Path) -> str | None:
    """The distillation label from the run's saved configuration (explicit about every
    setting that matters), when the folder has one."""

    cfg = folder / "config.yaml"
    return distill_label(load_config(cfg)) if cfg.exists() else None


def comparison_table(run_dirs: list[Path], warn=None) -> str:
    groups = collect(run_dirs, warn)
    lines = ["| model | distillation | trained at OP | tested at OP | top-1 | top-5 | runs |",
             "|---|---|---|---|---|---|---|"]

    def fmt(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0]:.2f}"
        return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"

    order = sorted(groups, key=lambda k: (k[0] != "teacher", str(k[2]), k[3], k[1]))
    for key in order:
        rows = groups[key]
        kind, mode, train_op, test_op = key
        lines.append(f"| {kind} | {mode} | {train_op} | {test_op:g} | "
                     f"{fmt([r['top1'] for r in rows])} | {fmt([r['top5'] for r in rows])} | "
                     f"{len(rows)} |")
    return "\n".join(lines)
