"""Running the protocol: the packs, each job's configuration, the runs side by side, and
the small record every finished run leaves in the results folder.

A record (``RESULTS/PROTOCOL/KEY.json``, a few KB) holds the job, its resolved
configuration and its metrics (test top-1/top-5, the validation curve, seconds, the
source commit; a teacher's part matrix E). Records are what the report reads and what
a reproduction resumes from: a job with a record is done, on any machine. Checkpoints
stay in the runs folder (out of git); a distilled student whose teacher has a record
but no checkpoint here gets the teacher trained again, with the same configuration and
seed, before it runs (its record is kept): the same recipe, not bit for bit the same
weights (float sums follow the thread count), so each student's record names its
teacher's test top-1 (``teacher_top1``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from ..config import ExperimentConfig, load_config
from ..errors import SkelkdError
from ..experiment import train_student_run, train_teacher_run
from ..io import open_pack
from ..io.files import write_text_atomic
from ..io.splits import val_split_name
from .plan import Cell, Job, Protocol, arm_mode
from .short_schedule import HETERO_LAYOUT, _worker_init, prepare_packs
from .stats import mean_last

__all__ = ["choose_recipe", "job_config", "prepare_packs", "read_record", "record_path",
           "run_cell", "run_protocol"]


def job_config(job: Job, protocol: Protocol, packs: dict) -> ExperimentConfig:
    """The shipped ``fair`` configuration with this job's data, seed, OP, loss, lr and, for
    Table 3, backbone."""

    p = packs[job.dataset]
    lq_layout = HETERO_LAYOUT if job.setting == "hetero" else open_pack(p["hq"]).layout.name
    teacher = job.kind == "teacher"
    epochs = (protocol.teacher_epochs if teacher else protocol.epochs)[job.dataset]
    own = {} if teacher else {"train.optim.lr": job.lr, "distill.mode": job.mode,
                              "train.class_aware": job.batch == "class-aware"}
    values = {"name": job.key(), "data.hq": str(p["hq"]), "data.lq": str(p[lq_layout]),
              "data.hq_fraction": job.fraction, "data.student_data": job.student_data,
              "train.epochs": epochs, "train.seed": job.seed, "input.occlusion": job.op,
              "eval.ops": [job.op], **own,
              **({"model.backbone": job.model} if job.model else {})}
    # the protocol's overrides are text (YAML); the job's values, set as they are, come
    # after them (the shipped protocols never set the same key in both)
    return load_config("fair", [*protocol.overrides,
                                *(protocol.teacher_overrides if teacher else ())], values)


def record_path(results: Path, job: Job) -> Path:
    return results / f"{job.key()}.json"


def read_record(results: Path, job: Job) -> dict | None:
    path = record_path(results, job)
    if not path.exists():
        return None
    try:
        return normalized(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise SkelkdError(f"{path}: not valid JSON ({exc}); delete it to run the job again"
                          ) from exc


def normalized(record: dict) -> dict:
    """A record with its job's every field (records written before a field existed
    carry its default)."""
    return {**record, "job": Job(**record["job"]).as_dict()}


def _small(metrics: dict) -> dict:
    """What a record keeps of a run's metrics.json: no per-class tables or confusions."""
    keep = ("top1", "top5", "samples", "occlusion")
    out = {k: v for k, v in metrics.items() if k not in ("by_op", "per_class", "confusion")}
    if "by_op" in metrics:
        out["by_op"] = {op: {k: r[k] for k in keep if k in r}
                        for op, r in metrics["by_op"].items()}
    return out


def _run_dirs(job: Job, runs: Path) -> tuple[Path, Path]:
    """(the run folder, the teacher folder) of a job under the runs folder."""
    return runs / job.key(), runs / job.teacher().key() / "teacher"


def _run_one(job: Job, protocol: Protocol, packs: dict, runs: Path, results: Path) -> dict:
    cfg = job_config(job, protocol, packs)
    run_dir, teacher_dir = _run_dirs(job, runs)
    if job.kind == "teacher":
        metrics = train_teacher_run(cfg, run_dir)
        pm = json.loads((teacher_dir / "part_matrix.json").read_text())
        metrics = {**_small(metrics), "part_matrix": pm}
    else:
        if job.mode != "none":
            ensure_teacher(job.teacher(), protocol, packs, runs, results)
        metrics = _small(train_student_run(cfg, run_dir, teacher_dir))
    record = {"job": job.as_dict(), "config": cfg.to_dict(), "metrics": metrics}
    write_text_atomic(record_path(results, job), json.dumps(record, indent=1) + "\n")
    return record


def ensure_teacher(job: Job, protocol: Protocol, packs: dict, runs: Path,
                   results: Path) -> None:
    """A checkpoint of the teacher here: trained when missing (its record is written
    only when it has none)."""

    run_dir, teacher_dir = _run_dirs(job, runs)
    if (teacher_dir / "checkpoints" / "last.ckpt").exists() and (
            teacher_dir / "metrics.json").exists():
        return
    if read_record(results, job) is None:
        _run_one(job, protocol, packs, runs, results)
    else:
        train_teacher_run(job_config(job, protocol, packs), run_dir)


def run_jobs(jobs: Iterable[Job], protocol: Protocol, packs: dict, runs: Path, results: Path,
             workers: int = 1, echo: Callable[[str], None] = print) -> list[dict]:
    """Every job without a record, ``workers`` at a time (one process each, an equal share
    of the CPU threads); returns every job's record, in the order given."""

    jobs = list(dict.fromkeys(jobs))
    todo = [j for j in jobs if read_record(results, j) is None]
    start = time.time()
    for k, job in enumerate(_finished(todo, protocol, packs, runs, results, workers), 1):
        rec = read_record(results, job)
        eta = (time.time() - start) / k * (len(todo) - k)
        echo(f"[{k}/{len(todo)}] {job.label()}: test top-1 {rec['metrics']['top1']:.2f} "
             f"({rec['metrics']['seconds']:.0f} s; about {eta / 60:.0f} min to go here)")
    return [read_record(results, j) for j in jobs]


def _finished(todo: list[Job], protocol: Protocol, packs: dict, runs: Path, results: Path,
              workers: int):
    """Runs ``todo`` and yields each job as it finishes."""

    if workers <= 1 or len(todo) <= 1:
        for job in todo:
            _run_one(job, protocol, packs, runs, results)
            yield job
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_worker_init, initargs=(threads,)) as pool:
        futures = {pool.submit(_run_one, j, protocol, packs, runs, results): j for j in todo}
        for fut in as_completed(futures):
            fut.result()
            yield futures[fut]


def choose_recipe(protocol: Protocol, records: list[dict]) -> tuple[float, str]:
    """The (learning rate, batch construction) of the trial whose validation accuracy
    ends highest (the mean of its last ``select_last`` validated epochs); on a tie the
    first in the protocol's order (batch constructions, then learning rates)."""
    scores = {(r["job"]["lr"], r["job"]["batch"]):
              mean_last(r["metrics"]["val_curve"], protocol.select_last) for r in records}
    best = max(scores.values())
    return next((lr, b) for b in protocol.batches for lr in protocol.grid_lr
                if scores.get((lr, b)) == best)


def run_cell(cell: Cell, protocol: Protocol, packs: dict, runs: Path, results: Path,
             workers: int = 1, echo: Callable[[str], None] = print) -> None:
    """Tune every arm of ``cell`` on validation, then train each arm's recipe with every
    seed (the teachers first, when an arm distils)."""
    if any(arm_mode(a) != "none" for a in cell.arms):
        teacher = Job(cell.dataset, "teacher", fraction=cell.fraction, backbone=cell.backbone)
        run_jobs([teacher], protocol, packs, runs, results, 1, echo)
        # its checkpoint here before the workers start: with a record made elsewhere,
        # every distilled job would otherwise train it again, side by side in one folder
        ensure_teacher(teacher, protocol, packs, runs, results)
    tune = protocol.cell_jobs(cell, "tune")
    records = run_jobs(tune, protocol, packs, runs, results, workers, echo)
    recipes = {arm: choose_recipe(protocol, [r for r in records if r["job"]["arm"] == arm])
               for arm in cell.arms}
    echo(f"{cell.key()}: chosen on validation: "
         + ", ".join(f"{a} lr {lr:g} {b} batches" for a, (lr, b) in recipes.items()))
    run_jobs(protocol.cell_jobs(cell, "final", recipes), protocol, packs, runs, results,
             workers, echo)


def run_protocol(protocol: Protocol, cells: Iterable[Cell], data_dir: Path, runs: Path,
                 results: Path, workers: int = 1, echo: Callable[[str], None] = print
                 ) -> None:
    cells = list(cells)
    datasets = tuple(dict.fromkeys(c.dataset for c in cells))
    packs = prepare_packs(data_dir, runs, datasets, echo)

    for paths in packs.values():
        if val_split_name("official") not in open_pack(paths["hq"]).splits:
            raise SkelkdError(f"{paths['hq']}: written before packs had validation splits; "
                              "delete it (and its simulated twins beside it) to import again")
    for cell in cells:
        run_cell(cell, protocol, packs, runs, results, workers, echo)

