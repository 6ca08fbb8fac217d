"""The ``skelkd`` command line: thin wrappers that parse options and call the API.

A user mistake (bad file, unknown name, wrong option) prints one ``error:`` line and
exits with status 2; nothing half-written is left behind.

Imports: what does not pull PyTorch in is imported here; the modules that do (training,
models, prediction, export; PyTorch and Lightning take seconds to import) are imported
inside the commands that need them, so that ``skelkd --help``, ``skelkd layouts``,
``skelkd config show`` or ``skelkd data info`` answer in well under a second (a
configuration is checked against the named backbones of :mod:`skelkd.models.spec`,
which needs no PyTorch).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import warnings
from pathlib import Path

import click
import yaml

from . import __version__
from .config import DISTILL_MODES, config_path, load_config, parse_override, shipped_configs
from .errors import LayoutWarning, RunInterrupted, SkelkdError
from .io import get_reader, import_dataset, list_readers, open_data_pack, open_pack
from .io.files import write_text_atomic
from .io.info import describe, format_description
from .io.readers import pyskl
from .layouts import PARTS, get_layout, list_layouts, load_layout_file
from .video import extract_to_pack, is_video


class _Group(click.Group):
    """A click group that turns skelkd's user errors into one line and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SkelkdError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        except OSError as exc:  # a read-only folder, a full disk, a missing permission
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            click.secho(f"error: {where}{exc.strerror or exc} (nothing half-written is left "
                        "behind; fix the folder or the disk and run the command again)",
                        fg="red", err=True)
            sys.exit(1)
        except RunInterrupted as exc:
            click.echo(f"interrupted ({exc}); the last checkpoint is intact: rerun the same "
                       "command to resume", err=True)
            sys.exit(128 + exc.signum)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skelkd")
def main() -> None:
    """skelkd: action recognition from low-quality skeletons by part-level knowledge
    distillation (Liu et al., Signal Processing).

    \b
    Start here:
      skelkd demo                      the main job on the embedded Penn Action pack
      skelkd data info                 what the embedded pack holds
      skelkd data import FORMAT SRC OUT   a raw dataset to a pack
      skelkd simulate HQ OUT           simulated low-quality skeletons
    """


# ----------------------------------------------------------------------------- layouts


def _layout_name(value: str | None) -> str | None:
    """A layout name, or the path of a layout YAML file (registered on the fly)."""

    if value is None:
        return None
    if value.endswith((".yaml", ".yml", ".json")) or Path(value).is_file():
        return load_layout_file(value).name
    return get_layout(value).name


@main.command("layouts")
@click.argument("name", required=False)
@click.option("--register", "layout_file", type=click.Path(dir_okay=False),
              help="Check a layout YAML file of your own and show it.")
def layouts_cmd(name: str | None, layout_file: str | None) -> None:
    """List the joint layouts, or show one: joints, parts, bones, left/right pairs.

    \b
    Examples:
      skelkd layouts
      skelkd layouts coco
      skelkd layouts --register my_layout.yaml
    """

    if layout_file:
        name = load_layout_file(layout_file).name
    if not name:
        for n in list_layouts():
            lay = get_layout(n)
            aliases = f"  (also: {', '.join(lay.aliases)})" if lay.aliases else ""
            click.echo(f"{n:<14} {lay.num_joints:>2} joints{aliases}")
        return
    lay = get_layout(name)
    click.echo(f"{lay.name}: {lay.description}")
    click.echo(f"centre: {lay.center}")
    for i, j in enumerate(lay.joints):
        part = PARTS[lay.part_of[i]] if lay.part_of[i] >= 0 else "(torso: no part)"
        click.echo(f"  {i:>2} {j:<20} {part}")
    click.echo("bones: " + ", ".join(f"{a}-{b}" for a, b in lay.bones))


# ----------------------------------------------------------------------------- config


@main.group("config", cls=_Group)
def config_cmd() -> None:
    """The shipped configurations, and what a configuration resolves to."""


@config_cmd.command("list")
def config_list_cmd() -> None:
    """The configurations shipped with skelkd (a name works wherever a file does, and in
    a file's ``extends:``)."""

    for name in shipped_configs():
        lines = config_path(name).read_text().splitlines()
        about = next((ln.lstrip("# ") for ln in lines if ln.startswith("#")), "")
        click.echo(f"{name:<15} {about}")


@config_cmd.command("show")
@click.argument("config", required=False)
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a configuration value, e.g. --set train.epochs=5 (repeatable).")
def config_show_cmd(config: str | None, sets: tuple[str, ...]) -> None:
    """Print the resolved configuration as YAML: CONFIG (a file or a shipped name; the
    defaults without one) after its ``extends:`` chain and every --set, checked as
    training would check it.

    \b
    Examples:
      skelkd config show penn_video
      skelkd config show my_experiment.yaml --set train.epochs=5
    """

    click.echo(yaml.safe_dump(_config(config, sets).to_dict(), sort_keys=False), nl=False)


# ----------------------------------------------------------------------------- data


@main.group("data", cls=_Group)
def data_cmd() -> None:
    """Import raw datasets into packs, and look at packs."""


@data_cmd.command("formats")
def data_formats() -> None:
    """List the raw formats ``skelkd data import`` reads."""

    for r in list_readers():
        click.echo(f"{r.name:<12} {r.summary}")




@data_cmd.command("import")
@click.argument("fmt", metavar="FORMAT")
@click.argument("src", type=click.Path())
@click.argument("out", type=click.Path())
@click.option("--trust-pickle", is_flag=True, default=None,
              help="pyskl only: allow loading a pickle (it can run code; trusted files only).")
@click.option("--layout", default=None,
              help="Layout of the data (pyskl, numpy): a name or a layout YAML file.")
@click.option("--coords", type=click.Choice(["3d", "color", "depth"]), default=None,
              help="ntu only: 3D camera coordinates, colour or depth pixels (default 3d).")
@click.option("--invisible-score", type=float, default=None,
              help="penn_action, coco: score of annotated but hidden joints (default 0.5).")
@click.option("--max-persons", type=int, default=None, help="coco, pifpaf: persons kept.")
@click.option("--label-map", type=click.Path(dir_okay=False), default=None,
              help="pyskl: class names, one per line in label order.")
@click.option("--manifest", type=click.Path(dir_okay=False), default=None,
              help="numpy: CSV or JSON of files, labels, splits and subjects (default: "
                   "SRC/manifest.csv or .json when present; docs/own_data.md).")
@click.option("--archive", is_flag=True, help="Write a single zip archive instead of a folder.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def data_import(fmt: str, src: str, out: str, archive: bool, overwrite: bool, **options) -> None:
    """Convert a raw dataset (file or folder) into a pack, keeping its official splits.

    \b
    Examples:
      skelkd data import penn_action Penn_Action/labels penn.skpack
      skelkd data import utd_mhad UTD-MHAD/Skeleton utd.skpack
      skelkd data import nw_ucla NW-UCLA/all_sqe ucla.skpack
      skelkd data import ntu nturgb+d_skeletons ntu.skpack --coords 3d
      skelkd data import pyskl ntu60_3danno.pkl ntu.skpack --trust-pickle
      skelkd data import blazepose videos/ blaze.skpack
      skelkd data import numpy my_arrays/ mine.skpack --layout coco --manifest protocol.csv
    See `skelkd data formats` for every FORMAT.
    """

    reader = get_reader(fmt)
    accepted = inspect.signature(reader.read).parameters
    options["layout"] = _layout_name(options["layout"])
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepted:
            raise SkelkdError(f"format '{fmt}' does not take --{key.replace('_', '-')}")
    with warnings.catch_warnings():  # said below, in the command's own words
        warnings.simplefilter("ignore", LayoutWarning)
        pack = import_dataset(fmt, src, out, overwrite=overwrite, archive=archive, **given)
    click.echo(f"wrote {pack.path}: {len(pack)} samples, {len(pack.class_names)} classes, "
               f"layout {pack.layout.name}")
    for split, subsets in pack.splits.items():
        click.echo(f"  split {split}: " + ", ".join(f"{k} {len(v)}" for k, v in subsets.items()))
    for note in getattr(pack, "skipped", []):
        click.echo(f"  skipped {note}")
    for note in getattr(pack, "asymmetric", []):
        click.echo(f"  warning: {note}")


def _open(path: str | None):
    """A pack path, ``embedded:NAME``, or the embedded Penn Action pack when none."""
    return open_data_pack(path or "embedded:penn_action")


@data_cmd.command("info")
@click.argument("pack", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def data_info(pack: str | None, as_json: bool) -> None:
    """Counts per split and class, layout, frame lengths and missing-joint rate of a pack
    (the embedded Penn Action pack if none is given).

    \b
    Examples:
      skelkd data info
      skelkd data info ntu.skpack --json
    """

    info = describe(_open(pack))
    click.echo(json.dumps(info, indent=1) if as_json else format_description(info))


@data_cmd.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["pyskl"]))
@click.argument("pack")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace OUT (and its label map) if it exists.")
def data_export(fmt: str, pack: str, out: str, overwrite: bool) -> None:
    """Write PACK in another tool's format: ``pyskl`` (an annotation pickle for pyskl and
    mmaction2, its splits as SPLIT_train / SPLIT_val, and a label map OUT.txt beside it).

    \b
    Examples:
      skelkd data export pyskl ucla.skpack ucla_pyskl.pkl
    """

    data = _open(pack)
    path = pyskl.write(data, out, overwrite=overwrite)
    click.echo(f"wrote {path} ({len(data)} samples) and its label map "
               f"{Path(path).with_suffix('.txt')}")


def _parse_frames(text: str) -> list[int]:
    try:
        frames = [int(f) for f in text.split(",") if f.strip()]
    except ValueError:
        raise SkelkdError(f"--frames: expected frame numbers like 0,10,20, got '{text}'") from None
    if not frames:
        raise SkelkdError("--frames: give at least one frame number")
    return frames


@data_cmd.command("show")
@click.argument("pack", required=False)
@click.option("--index", "index", type=int, default=None, help="Sample index in PACK.")
@click.option("--instance", default=None, help="Sample instance id (instead of --index).")
@click.option("--lq", "lq_pack", default=None,
              help="A low-quality pack to draw the same instance from, below PACK's.")
@click.option("--simulate", "preset", default=None,
              help="Draw a simulated low-quality twin with this preset (good, fast, poor, "
              "blazepose).")
@click.option("--occlusion", type=click.FloatRange(0, 1), default=0.0,
              help="Occlusion probability for the "
              "low-quality row (the paper's OP; per-sequence mode).")
@click.option("--frames", default="0,10,20,30", show_default=True)
@click.option("--names", is_flag=True, help="Write joint names.")
@click.option("--out", type=click.Path(), default="sample.png", show_default=True)
def data_show(pack: str | None, index: int | None, instance: str | None, lq_pack: str | None,
              preset: str | None, occlusion: float, frames: str, names: bool, out: str) -> None:
    """Draw chosen frames of a sample to PNG, high and low quality side by side.

    \b
    Examples:
      skelkd data show --index 5 --simulate fast --out hq_lq.png
      skelkd data show penn.skpack --instance 0001 --lq penn_lq.skpack --frames 0,20,40
    """
    from .data.show import show_sample

    path = show_sample(_open(pack), out, index=index, instance=instance,
                       lq=_open(lq_pack) if lq_pack else None, preset=preset,
                       occlusion=occlusion, frames=_parse_frames(frames), names=names)
    click.echo(f"wrote {path}")


# ----------------------------------------------------------------------------- simulate


def _parse_sets(items: tuple[str, ...]) -> dict:
    """``--set KEY=VALUE`` options as a mapping, values read as YAML
    (:func:`skelkd.config.parse_override`, as configurations' overrides are)."""

    return {".".join(keys): value for keys, value in map(parse_override, items)}


@main.command("simulate")
@click.argument("hq", type=click.Path())
@click.argument("out", type=click.Path())
@click.option("--preset", default="fast", show_default=True,
              help="good, fast, poor or blazepose (fast with its errors' course in time fitted "
              "too; docs/simulator.md).")
@click.option("--layout", "target", default="coco", show_default=True,
              help="Layout of the simulated estimator's output (a name or a YAML file).")
@click.option("--params", "params_file", type=click.Path(dir_okay=False), default=None,
              help="YAML of simulator parameters (overrides the preset's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override one parameter, e.g. --set jitter=0.05 (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True)
def simulate_cmd(hq: str, out: str, preset: str, target: str, params_file: str | None,
                 sets: tuple[str, ...], seed: int, overwrite: bool) -> None:
    """Make the SIMULATED low-quality pack a fast 2D pose estimator would give for the
    high-quality pack HQ (same instance ids, splits and classes).

    \b
    Examples:
      skelkd simulate ucla.skpack ucla_lq.skpack --preset fast --layout coco
      skelkd simulate penn.skpack penn_lq.skpack --preset poor --set swap_rate=0.05
    """

    from .data.simulate import get_preset, simulate_pack

    overrides: dict = {"target_layout": _layout_name(target)}
    if params_file:
        try:
            loaded = yaml.safe_load(Path(params_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SkelkdError(f"{params_file}: cannot read simulator parameters: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SkelkdError(f"{params_file}: expected a mapping of simulator parameters")
        overrides.update(loaded)
    overrides.update(_parse_sets(sets))
    try:
        params = get_preset(preset, **overrides)
    except TypeError as exc:
        raise SkelkdError(f"simulator parameters: {exc}") from exc
    path = simulate_pack(open_pack(hq), out, params, seed=seed, preset=preset,
                         overwrite=overwrite)
    click.echo(f"wrote {path} (SIMULATED, preset {preset}, layout {params.target_layout}, "
               f"seed {seed})")


# ----------------------------------------------------------------------------- training


@main.command("calibrate")
@click.argument("hq", type=click.Path())
@click.argument("lq", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), default="simulator_params.yaml",
              show_default=True, help="Fitted simulator parameters (for `skelkd simulate "
                                      "--params`).")
@click.option("--match", type=click.Choice(["auto", "id", "order"]), default="auto",
              show_default=True, help="Pair samples by instance id, or by position (auto: by "
                                      "id when the packs share any).")
@click.option("--sides", type=click.Choice(["auto", "same", "swapped"]), default="auto",
              show_default=True, help="Left/right convention of LQ relative to HQ (auto: "
                                      "try both, keep the better fit).")
@click.option("--seeds", type=int, default=8, show_default=True,
              help="Simulator runs averaged per pair.")
@click.option("--doc", type=click.Path(dir_okay=False), default=None,
              help="Also write the table as Markdown here.")
def calibrate_cmd(hq: str, lq: str, out: str, match: str, sides: str, seeds: int,
                  doc: str | None) -> None:
    """Measure a low-quality estimator (pack LQ) against high-quality joints of the same
    instances (pack HQ): error per joint group relative to body height, miss rates and
    swap rate; fit simulator parameters that reproduce them; and show the statistics of
    data simulated with the fitted parameters beside the real ones.

    HQ may be 3D (a perspective projection to LQ's pixels is fitted) or 2D (used as is,
    or through a fitted 2D affine map when its coordinates differ), in any layout that
    shares joint names with LQ.

    \b
    Examples:
      skelkd calibrate kinect.skpack blazepose.skpack --out my_estimator.yaml
      skelkd simulate hq.skpack lq_sim.skpack --params my_estimator.yaml
    """

    from .data.calibrate import calibrate_packs

    swap = {"auto": None, "same": False, "swapped": True}[sides]
    cal = calibrate_packs(open_pack(hq), open_pack(lq), match=match, swap_sides=swap,
                          seeds=tuple(range(seeds)))
    for p in cal.pairs:
        tried = ", ".join(f"{'swapped' if s else 'same'} sides {r:.1f} px"
                          for s, r in p["residual_px"].items())
        click.echo(f"{p['name']}: {p['hq2d'].shape[0]} frames, projection {p['projection']}, "
                   f"median residual {tried}; kept {'swapped' if p['swap_sides'] else 'same'}")
    lines = cal.table()
    click.echo("\n".join(lines))
    text = ("# Simulator parameters fitted by `skelkd calibrate` "
            f"({Path(hq).name} vs {Path(lq).name})\n"
            + yaml.safe_dump(cal.params.to_yaml(), sort_keys=True))
    write_text_atomic(Path(out), text)
    if doc:
        write_text_atomic(Path(doc), "\n".join([f"# Calibration of {lq} against {hq}", "",
                                          "Errors are distances over body height; misses: "
                                          "score below 0.5 where the high-quality joint "
                                          "exists.", "", *lines, ""]))
    click.echo(f"wrote {out}" + (f" and {doc}" if doc else ""))


def _config(config: str | None, sets: tuple[str, ...], **fixed):
    """The configuration, its ``--set`` overrides, then the values of dedicated options
    (``--op``, ``--distill``: keys with dots, None when not given) as they are."""

    return load_config(config, sets, {k: v for k, v in fixed.items() if v is not None})


_config_options = [
    click.argument("config", required=False),
    click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
                 help="Override a configuration value, e.g. --set train.epochs=5 (repeatable)."),
    click.option("--runs", type=click.Path(file_okay=False), default="runs", show_default=True,
                 help="Folder of run folders; this run goes to RUNS/<name>."),
]


def config_options(fn):
    for deco in reversed(_config_options):
        fn = deco(fn)
    return fn


def _run_dir(runs: str, cfg) -> Path:
    path = Path(runs) / cfg.name
    path.mkdir(parents=True, exist_ok=True)
    cfg.save(path / "config.yaml")
    return path


@main.group("train", cls=_Group)
def train_cmd() -> None:
    """Train a teacher on high-quality skeletons, or a student on low-quality ones."""


@train_cmd.command("teacher", short_help="Train the teacher on high-quality skeletons, then E.")
@config_options
def train_teacher_cmd(config: str | None, sets: tuple[str, ...], runs: str) -> None:
    """Train the teacher (cross-entropy, Eq. 2) on the high-quality training split,
    evaluate it, and compute the part matrix E (Eq. 12-13). Resumes an interrupted run
    from its last checkpoint.

    \b
    Examples:
      skelkd train teacher penn_small
      skelkd train teacher my_experiment.yaml --set train.epochs=5 --set name=quick
    """
    from .experiment import train_teacher_run

    cfg = _config(config, sets)
    report = train_teacher_run(cfg, _run_dir(runs, cfg))
    click.echo(f"teacher {cfg.name}: top-1 {report['top1']:.2f}, top-5 {report['top5']:.2f} "
               f"on {report['samples']} high-quality test samples ({report['seconds']:.0f} s)")
    click.echo(f"part matrix: {Path(runs) / cfg.name / 'teacher' / 'part_matrix.png'}")


@train_cmd.command("student", short_help="Train a student on low-quality skeletons.")
@config_options
@click.option("--distill", type=click.Choice(DISTILL_MODES), default=None,
              help="Distillation (default: the configuration's distill.mode).")
@click.option("--op", type=click.FloatRange(0, 1), default=None,
              help="Occlusion probability of the low-quality data (input.occlusion).")
@click.option("--teacher", "teacher_dirs", type=click.Path(file_okay=False), multiple=True,
              help="Teacher folder (default: RUNS/<name>/teacher). Given again: a teacher "
                   "ensemble, the further folders its distill.extra_teachers.")
def train_student_cmd(config: str | None, sets: tuple[str, ...], runs: str,
                      distill: str | None, op: float | None,
                      teacher_dirs: tuple[str, ...]) -> None:
    """Train a student on low-quality skeletons, L_c + alpha * L_kd (Eq. 4), and evaluate
    it at every OP of eval.ops.

    \b
    Examples:
      skelkd train student penn_small --distill none --op 0.6
      skelkd train student penn_small --distill pmsc --op 0.6
      skelkd train student my_experiment.yaml --distill kl --set distill.kd_temperature=2
      skelkd train student penn_small --teacher runs/a/teacher --teacher runs/b/teacher
    """
    from .experiment import train_student_run

    cfg = _config(config, sets, **{"distill.mode": distill, "input.occlusion": op,
                                   "distill.extra_teachers": list(teacher_dirs[1:]) or None})
    report = train_student_run(cfg, _run_dir(runs, cfg), Path(teacher_dirs[0]) if teacher_dirs
                               else None)
    click.echo(f"student {cfg.distill.mode} trained at OP {cfg.input.occlusion:g}:")
    for key, r in report["by_op"].items():
        click.echo(f"  OP {key}: top-1 {r['top1']:.2f}, top-5 {r['top5']:.2f}")


@main.command("part-matrix")
@click.argument("teacher_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--temperature", type=float, default=None,
              help="Redraw E with this softmax temperature (Eq. 13; 1 = the paper).")
@click.option("--subset", default=None,
              help="Compute E again from the teacher on the run's high-quality samples of "
                   "this subset of its split (e.g. 'val', data the teacher did not fit) "
                   "and save it for the students.")
def part_matrix_cmd(teacher_dir: str, temperature: float | None, subset: str | None) -> None:
    """Show the part matrix E of a trained teacher and redraw its heat map. A row whose
    error rates are all equal (the teacher never wrong with any part removed) gives
    every part the same weight: the count of such flat rows is printed.

    \b
    Examples:
      skelkd part-matrix runs/penn_small/teacher --temperature 0.2
      skelkd part-matrix runs/penn_small/teacher --subset val
    """
    from .distill.part_matrix import PartMatrix

    path = Path(teacher_dir) / "part_matrix.json"
    if subset is not None:
        from .experiment import part_matrix_on

        pm = part_matrix_on(Path(teacher_dir), subset)
    else:
        pm = PartMatrix.load(path)
    if temperature is not None:
        pm = pm.with_temperature(temperature)
    if subset is not None or temperature is not None:
        pm.save(path)
    png = pm.plot(Path(teacher_dir) / "part_matrix.png")
    click.echo(f"{'class':<28}" + "".join(f"{p:>10}" for p in PARTS))
    for name, row in zip(pm.class_names, pm.matrix, strict=True):
        click.echo(f"{name[:28]:<28}" + "".join(f"{v:>10.3f}" for v in row))
    flat = sum(max(row) == min(row) for row in pm.rates.tolist())
    click.echo(f"flat rows (every part weighted alike): {flat} of {len(pm.rates)}")
    if pm.drops is not None:
        flat = sum(max(row) == min(row) for row in pm.drops.tolist())
        click.echo(f"flat rows with E from the probability drops (distill.part_matrix_source "
                   f"drop): {flat} of {len(pm.drops)}")
    click.echo(f"heat map: {png}")


@main.command("reproduce")
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--quick", is_flag=True,
              help="The machinery on a tiny plan (one cell, 2 epochs, 2 seeds): not evidence.")
@click.option("--runs", type=click.Path(file_okay=False), default=None,
              help="Folder of the runs' checkpoints and logs (default: runs/fair, "
                   "runs/quick).")
@click.option("--results", type=click.Path(file_okay=False), default="results",
              show_default=True,
              help="Folder of the runs' records (RESULTS/PROTOCOL/...json): commit it; "
                   "a reproduction resumes from it on any machine.")
@click.option("--doc", type=click.Path(dir_okay=False), default=None,
              help="Where to write the results (default: RESULTS/PROTOCOL/RESULTS.md); "
                   "figures go to the folder 'results' beside it.")
@click.option("--dataset", "datasets", multiple=True, type=click.Choice(["penn", "ucla", "utd"]),
              help="Only the cells of these datasets (repeatable; default: all three).")
@click.option("--table", "tables", multiple=True,
              type=click.Choice(["1", "2", "3", "4", "5"]),
              help="Only the cells of these tables of the paper (repeatable; default: all).")
@click.option("--workers", type=int, default=None,
              help="Runs side by side, each in its own process (default: one per CPU core, "
                   "at most 8).")
@click.option("--report-only", is_flag=True, help="Train nothing: rebuild the document from "
                                                  "the records.")
def reproduce_cmd(data_dir: str, quick: bool, runs: str | None, results: str, doc: str | None,
                  datasets: tuple[str, ...], tables: tuple[str, ...], workers: int | None,
                  report_only: bool) -> None:
    """Reproduce the paper's experiments (Tables 1, 2, 4, 5) on the real datasets in
    DATA_DIR (penn_action/labels, nw_ucla/all_sqe, utd_mhad/Skeleton) with SIMULATED
    low-quality skeletons, under a validated protocol: every arm tuned alike on a
    validation split, trained to convergence, five paired seeds; then write RESULTS.md
    with its figures from the records. Recorded runs are skipped, so an interrupted
    reproduction resumes.

    \b
    Examples:
      skelkd reproduce DATA --quick
      skelkd reproduce DATA --dataset penn --doc docs/RESULTS.md
      skelkd reproduce DATA --doc docs/RESULTS.md --report-only
    """
    from .reproduce import reproduce

    protocol = "quick" if quick else "fair"
    if not report_only and not Path(data_dir).is_dir():
        raise SkelkdError(f"{data_dir}: not a folder; DATA_DIR must hold the raw datasets")
    runs = runs or f"runs/{protocol}"
    workers = workers or min(os.cpu_count() or 1, 8)
    command = ("skelkd reproduce DATA_DIR" + (" --quick" if quick else "")
               + (f" --doc {doc}" if doc else "") + " --report-only")
    reproduce(data_dir, runs, results, doc, protocol, tuple(datasets), tuple(tables),
              report_only, workers, command, echo=click.echo)


@main.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True,
                                                                    file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the table to this markdown file.")
def report_cmd(run_dirs: tuple[str, ...], out: str | None) -> None:
    """Compare runs: a table of every teacher and student under the given run folders,
    mean and standard deviation over seeds.

    \b
    Examples:
      skelkd report runs/penn_seed0 runs/penn_seed1 runs/penn_seed2
      skelkd report runs/* --out comparison.md
    """
    from .evaluate.report import comparison_table

    table = comparison_table([Path(r) for r in run_dirs],
                             warn=lambda msg: click.echo(f"warning: {msg}", err=True))
    click.echo(table)
    if out:
        write_text_atomic(out, table + "\n")


# ----------------------------------------------------------------------------- models


@main.command("evaluate")
@click.argument("model_dir")
@click.option("--pack", default=None, help="Pack to test on (default: the run's test data: "
              "high quality for a teacher, low quality for a student).")
@click.option("--split", default=None, help="Split name (default: the run's).")
@click.option("--subset", default=None, help="Subset (default: the run's test subset).")
@click.option("--ops", default="0,0.3,0.6", show_default=True,
              help="Occlusion probabilities to test at.")
def evaluate_cmd(model_dir: str, pack: str | None, split: str | None, subset: str | None,
                 ops: str) -> None:
    """Evaluate a trained model at several occlusion probabilities (the same occluded test
    data for every model); writes MODEL_DIR/eval.json and prints a table.

    \b
    Examples:
      skelkd evaluate runs/penn_small/student-pmsc-op0.6
      skelkd evaluate runs/penn_small/teacher --ops 0,0.6
    """
    from .config import ExperimentConfig
    from .experiment import load_data
    from .predict import run_of
    from .train.api import evaluate_at, load_module, write_json
    from .train.modules import StudentModule

    try:
        op_list = [float(v) for v in ops.split(",") if v.strip()]
    except ValueError:
        raise SkelkdError(f"--ops: expected numbers like 0,0.3,0.6, got '{ops}'") from None
    if not op_list or not all(0 <= op <= 1 for op in op_list):
        raise SkelkdError(f"--ops: expected occlusion probabilities in [0, 1], got '{ops}'")
    module = load_module(model_dir)
    model, (cfg, folder) = module.model, run_of(model_dir)
    if pack:
        data = open_data_pack(pack)
    elif cfg is not None:
        hq, lq, _, _ = load_data(cfg, folder.parent)
        # a student (its checkpoint carries distillation settings, mode none included)
        # is tested on the low-quality pack, a teacher on the high-quality one
        data = lq if isinstance(module, StudentModule) else hq
    else:
        raise SkelkdError(f"{model_dir}: no config.yaml beside the model; pass --pack")
    split = split or (cfg.data.split if cfg else None)
    subset = subset or (cfg.data.test_subset if cfg else None)
    idx = data.split_indices(split, subset)
    run = cfg or ExperimentConfig()
    results = {f"{op:g}": evaluate_at(model, data, idx, run, op) for op in op_list}
    write_json(folder / "eval.json", {"pack": str(data.path), "split": split, "subset": subset,
                                      "by_op": results})
    click.echo(f"{model_dir} on {data.path} ({split}/{subset}, {len(idx)} samples)")
    click.echo("| OP | top-1 | top-5 |\n|---|---|---|")
    for op, r in results.items():
        click.echo(f"| {op} | {r['top1']:.2f} | {r['top5']:.2f} |")


@main.command("predict")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--model", "model_path", default=None,
              help="Run folder or checkpoint of the model (default: the first INPUT when it "
                   "is one, else the student shipped with skelkd, docs/model_card.md).")
@click.option("--format", "fmt", default=None,
              help="Reader of raw INPUTS (see `skelkd data formats`); packs and videos need "
                   "none.")
@click.option("--layout", default=None, help="Layout of numpy inputs.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--window", type=click.IntRange(min=1), default=64, show_default=True,
              help="Videos: frames per sliding window.")
@click.option("--stride", type=click.IntRange(min=1), default=32, show_default=True,
              help="Videos: frames between window starts.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Videos: folder for the annotated PNG strips.")
@click.option("--reading", default=None,
              help="Videos: how the clip's windows are combined: 'max' (per window length "
                   "the window the model is surest of; the default), 'confident' (weighted "
                   "by each window's top probability), 'mean', or 'best' (the surest window "
                   "of any length) (docs/window_reading.md, window_reading_students.md).")
@click.option("--reject-below", type=click.FloatRange(0, 1), default=None,
              help="Videos: answer 'no known action' when the clip's confidence is below "
                   "this (default: the model's own threshold, calibrated on held-out data: "
                   "docs/model_card.md; 0: always name a class).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def predict_cmd(inputs: tuple[str, ...], model_path: str | None, fmt: str | None,
                layout: str | None, top: int, window: int, stride: int, out_dir: str,
                reading: str | None, reject_below: float | None, as_json: bool) -> None:
    """Top actions for skeleton files, packs or videos, with class names and
    probabilities. Inputs in another layout than the model's are mapped by landmark
    names. A video (or a directory of frames) is run through BlazePose first (the
    `video` extra); its actions are given over the clip and over sliding windows, and an
    annotated PNG strip (skeleton on frames, predictions written on them) is saved.

    \b
    Examples:
      skelkd predict clip.mp4                       (the shipped student)
      skelkd predict runs/penn_small/student-pmsc-op0.6 clip_blazepose.npz
      skelkd predict --model runs/x/student-pmsc-op0 penn.skpack --json
    """
    from .predict import (
        DEFAULT_READING,
        check_reading,
        default_model,
        input_frames,
        is_model,
        predict,
        predict_video,
        read_samples,
    )

    reading = reading or DEFAULT_READING
    check_reading(reading, "--reading")  # before a video's extraction, which takes a while

    if model_path is None and len(inputs) > 1 and is_model(inputs[0]):
        model_path, inputs = inputs[0], inputs[1:]
    model, cfg, _ = default_model(model_path)
    frames = input_frames(model, cfg)
    options = {"layout": _layout_name(layout)} if layout else {}
    results = []
    for item in inputs:
        if is_video(item):
            results.append(predict_video(model, item, frames, top, window, stride,
                                         Path(out_dir), reading, reject_below))
        else:
            results += predict(model, read_samples(item, fmt, **options), frames, top)
    if as_json:
        click.echo(json.dumps(results, indent=1))
        return
    for r in results:
        click.echo(f"{r['instance_id']} ({r['frames']} frames)")
        if "decision" in r:  # a video: the answer over the whole clip
            below = model.spec.reject_below if reject_below is None else reject_below
            sure = (f" (confidence {100 * r['confidence']:.0f}%; no known action below "
                    f"{100 * below:.0f}%)" if "confidence" in r and below > 0 else "")
            click.echo(f"  answer: {r['decision']}{sure}")
        for k, t in enumerate(r["top"], 1):
            click.echo(f"  {k}. {t['class']:<32} {100 * t['probability']:6.2f}%")
        for w in r.get("windows", []):
            best = w["top"][0]
            click.echo(f"    frames {w['start']:>4}-{w['end']:<4} {best['class']:<32} "
                       f"{100 * best['probability']:6.2f}%")
        if "annotated" in r:
            click.echo(f"  annotated: {r['annotated']} (BlazePose at {r['extract_fps']:.1f} "
                       "frames/s)")


@main.command("extract")
@click.argument("videos", nargs=-1, required=True)
@click.argument("out", type=click.Path())
@click.option("--label", default=None, help="Class name of the clips (default: unlabelled).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def extract_cmd(videos: tuple[str, ...], out: str, label: str | None, overwrite: bool) -> None:
    """Run BlazePose (MediaPipe 0.10.21, offline; the `video` extra) on each video (or
    directory of frames) and write one pack: BlazePose layout, 33 joints, pixel
    coordinates with scores; a frame without a person is all zeros with score 0.

    \b
    Examples:
      skelkd extract clip.mp4 clips.skpack
      skelkd extract videos/*.mp4 frames_dir/ clips.skpack --label walking
    """

    path, results = extract_to_pack(videos, out, label=label, overwrite=overwrite,
                                    echo=click.echo)
    frames = sum(len(e.scores) for e in results)
    seconds = sum(e.seconds for e in results)
    click.echo(f"wrote {path}: {len(results)} clips, {frames} frames, "
               f"{frames / max(seconds, 1e-9):.1f} frames/s overall")


@main.command("export")
@click.argument("model_dir")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx",
              show_default=True)
@click.option("--frames", type=click.IntRange(min=1), default=None,
              help="Input length T (default: the run's input.num_frames).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def export_cmd(model_dir: str, out: str, fmt: str, frames: int | None,
               overwrite: bool) -> None:
    """Export a trained model to ONNX or TorchScript and check it: the exported model is
    run beside PyTorch on the same input and the largest difference printed.

    \b
    Examples:
      skelkd export runs/penn_small/student-pmsc-op0.6 student.onnx
      skelkd export runs/penn_small/teacher teacher.pt --format torchscript
    """
    from .export import export_model
    from .predict import input_frames, load_model

    if Path(out).exists() and not overwrite:
        raise SkelkdError(f"{out}: already exists (pass --overwrite to replace it)")
    model, cfg, _ = load_model(model_dir)
    t = frames or input_frames(model, cfg)
    r = export_model(model, Path(out), fmt, t)
    v = model.layout.num_joints
    click.echo(f"wrote {r['path']} ({fmt}, input (N, {model.spec.num_persons}, {t}, {v}, "
               f"{model.spec.in_channels})); checked against PyTorch: max |difference| "
               f"{r['max_abs_diff']:.2e} (logits up to {r['max_abs_logit']:.2f}), same top-1: "
               f"{r['same_top1']}")


# ----------------------------------------------------------------------------- demo


@main.command("demo")
@click.option("--out", type=click.Path(file_okay=False), default="skelkd-demo", show_default=True,
              help="Report folder (summary.md and figures); the run folder goes inside.")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override the demo configuration, e.g. --set train.epochs=3.")
def demo_cmd(out: str, sets: tuple[str, ...]) -> None:
    """The main job, on the embedded Penn Action pack: a teacher on human-annotated
    joints, the part matrix, a student without and one with part-level distillation on
    SIMULATED low-quality skeletons, a table like the paper's Table 1 and a report folder.

    \b
    Examples:
      skelkd demo
      skelkd demo --out my-demo --set train.epochs=3
    """
    from .demo import run_demo

    run_demo(Path(out), tuple(sets), echo=click.echo)


if __name__ == "__main__":
    main()
