"""Real video in, the right action out: a folder of labelled clips through the whole video
path of ``skelkd predict`` (BlazePose extraction, the model's clip-level prediction).

    python benchmarks/real_video.py FOLDER [--model RUN] [--reject CLIP ...]
                                    [--cache DIR] [--doc docs/real_video.md]

FOLDER holds ``manifest.csv`` with at least the columns ``file`` (a clip, relative to
FOLDER) and ``class`` (one of the model's class names); other columns are ignored, so any
folder with the same manifest columns works. ``--reject`` names clips of actions the model
does not know (default: ../shared/data/videos/skateboarding.mp4, ta_chi.mp4 and
demo_skeleton.mp4, two people hugging in an NTU RGB+D room, when present): for these
the benchmark reports what the model says and whether it declines.
Needs the ``video`` extra. BlazePose output is cached by the clip's content
(``--cache``, default ~/.cache/skelkd/extractions) so a rerun with another model skips
the extraction; the cache holds skeletons only, never frames.

Prints top-1 and top-3 per class and overall, the confusion matrix and the out-of-class
clips, then one line ``overall: top-1 X%, top-3 Y%`` for scripts to read.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import platform
import sys
from pathlib import Path

import numpy as np

OUT_OF_CLASS = "Out-of-class clips (actions the model does not know):"
"""The line above the table of the ``--reject`` clips (``scripts/ship_model.py`` quotes
that table in the model card)."""

DEFAULT_REJECT = [Path("../shared/data/videos") / n
                  for n in ("skateboarding.mp4", "ta_chi.mp4", "demo_skeleton.mp4")]


def read_manifest(folder: Path) -> list[tuple[Path, str]]:
    path = folder / "manifest.csv"
    if not path.exists():
        sys.exit(f"{path}: no manifest (expected a CSV with columns 'file' and 'class')")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"file", "class"} - set(reader.fieldnames or ())
        if missing:
            sys.exit(f"{path}: missing column(s) {', '.join(sorted(missing))} (expected "
                     "'file' and 'class')")
        rows = []
        for k, row in enumerate(reader, 2):
            clip = folder / row["file"]
            if not clip.exists():
                sys.exit(f"{path}, line {k}: field 'file': {clip} does not exist")
            rows.append((clip, row["class"].strip()))
    if not rows:
        sys.exit(f"{path}: no clips listed")
    return rows


def match_class(label: str, names: list[str], folder: Path) -> str:
    """The model's class a manifest's label names: the same name up to case, spaces and
    hyphens, or the one class name it starts or that starts it ('bowling' -> 'bowl')."""
    def norm(x: str) -> str:
        return x.strip().lower().replace(" ", "_").replace("-", "_")

    by_norm = {norm(n): n for n in names}
    if norm(label) in by_norm:
        return by_norm[norm(label)]
    want = norm(label)
    close = [n for k, n in by_norm.items() if want.startswith(k) or k.startswith(want)]
    if len(close) == 1:
        return close[0]
    sys.exit(f"{folder / 'manifest.csv'}: field 'class': {label!r} is not one of the model's "
             f"classes ({', '.join(names)})")


def extraction(clip: Path, cache: Path):
    """BlazePose output of ``clip`` (:func:`skelkd.video.extract`), from the cache when
    this content was extracted before by the same estimator."""
    from skelkd.io.files import write_bytes_atomic
    from skelkd.video import ESTIMATOR, EXTRACTION_REVISION, Extraction, extract

    tag = f"{ESTIMATOR} {EXTRACTION_REVISION}".encode()
    digest = hashlib.sha256(clip.read_bytes() + tag).hexdigest()[:24]
    path = cache / f"{digest}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return Extraction(clip, z["keypoints"], z["scores"], float(z["fps"]),
                              tuple(int(x) for x in z["size"]), float(z["seconds"]))
    e = extract(clip, progress=False)
    import io

    buf = io.BytesIO()
    np.savez(buf, keypoints=e.keypoints, scores=e.scores, fps=e.fps, size=np.asarray(e.size),
             seconds=e.seconds)
    cache.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return e


def labelled_clips(folder: Path, names: list[str], cache: Path):
    """Each clip of ``folder``'s manifest as (clip, its class among ``names``, the sample
    ``skelkd predict`` reads from it: :func:`extraction`, then
    :func:`skelkd.video.to_sample`), in the manifest's order."""
    from skelkd.video import to_sample

    for clip, label in read_manifest(folder):
        yield clip, match_class(label, names, folder), to_sample(extraction(clip, cache))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default=None,
                    help="Run folder of a student (default: the model `skelkd predict` uses)")
    ap.add_argument("--reject", type=Path, nargs="*", default=None,
                    help="Clips of actions outside the model's classes")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None, help="Also write this Markdown file")
    args = ap.parse_args()

    from skelkd.predict import NO_ACTION, default_model, predict_clip
    from skelkd.video import to_sample

    model, cfg, where = default_model(args.model)
    names = list(model.spec.class_names)
    clips = [(clip, match_class(label, names, args.folder)) for clip, label in
             read_manifest(args.folder)]
    reject = [p for p in (DEFAULT_REJECT if args.reject is None else args.reject)
              if p.exists()]
    results = []
    for clip, label in clips:
        e = extraction(clip, args.cache)
        r = predict_clip(model, to_sample(e), _frames(cfg))
        ranked = [r["decision"], *(t["class"] for t in r["top"])]  # [answer, classes...]
        results.append((clip, label, ranked, r))
        print(f"{clip.relative_to(args.folder)}: {label} -> {r['decision']} "
              f"({r['top'][0]['class']} {100 * r['top'][0]['probability']:.0f}%)",
              file=sys.stderr)
    lines = _tables(args.folder, names, results)
    lines += ["", OUT_OF_CLASS, "",
              "| clip | answer | top class | its probability | confidence |",
              "|---|---|---|---|---|"]
    for clip in reject:
        r = predict_clip(model, to_sample(extraction(clip, args.cache)), _frames(cfg))
        t = r["top"][0]
        lines.append(f"| {clip.name} | {r['decision']} | {t['class']} | "
                     f"{100 * t['probability']:.0f}% | {100 * r['confidence']:.0f}% |")
    top1 = np.mean([lab == rk[0] for _, lab, rk, _ in results])
    top3 = np.mean([lab in rk[1:4] for _, lab, rk, _ in results])
    declined = np.mean([rk[0] == NO_ACTION for _, _, rk, _ in results])
    top_class = np.mean([lab == rk[1] for _, lab, rk, _ in results])
    lines += ["", f"Known-action clips answered \"{NO_ACTION}\": {100 * declined:.1f}% "
              "(counted as wrong in top-1; top-3 ranks the classes regardless). The top "
              f"class alone, the threshold ignored, is right for {100 * top_class:.1f}%."]
    overall = f"overall: top-1 {100 * top1:.1f}%, top-3 {100 * top3:.1f}%"
    text = "\n".join(lines)
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        penn = _test_accuracy(args.model)
        model_arg = f" --model {args.model}" if args.model else ""
        head = ["# Real video in, actions out", "",
                f"Generated by `python benchmarks/real_video.py {args.folder.as_posix()}"
                f"{model_arg}` ({platform.machine()}); do not edit by hand. The clips are "
                "real and were never used for training; the model was trained on Penn Action "
                "with SIMULATED low-quality skeletons (docs/model_card.md says how the "
                "clips informed its recipe).", "",
                f"Model: {f'`{args.model}`' if args.model else 'the shipped one'}; its Penn "
                f"Action test accuracy (simulated low quality): {penn}.", ""]
        write_text_atomic(args.doc, "\n".join([*head, text, "", overall, ""]))
    print(overall)


def _frames(cfg) -> int | None:
    return cfg.input.num_frames if cfg is not None else None


def _test_accuracy(run: str | None) -> str:
    """The model's Penn Action test top-1: from its run's metrics.json, or from the
    shipped checkpoint's record of it."""
    import json

    if run is None:
        from skelkd.predict import SHIPPED_MODEL
        from skelkd.train.checkpoint import read_checkpoint

        by_op = read_checkpoint(SHIPPED_MODEL).get("shipped", {}).get("test_by_op", {})
        return "; ".join(f"OP {op}: top-1 {r['top1']:.2f}" for op, r in by_op.items()) or "-"
    path = Path(run) / "metrics.json"
    if not path.exists():
        return "-"
    m = json.loads(path.read_text())
    return f"top-1 {m['top1']:.2f}" if "top1" in m else "-"


def _tables(folder: Path, names: list[str], results: list) -> list[str]:
    classes = [c for c in names if any(lab == c for _, lab, _, _ in results)]
    lines = ["| class | clips | top-1 | top-3 | answers (top class and its probability) |",
             "|---|---|---|---|---|"]
    for c in classes:
        mine = [(rk, r) for _, lab, rk, r in results if lab == c]
        t1 = np.mean([rk[0] == c for rk, _ in mine])
        t3 = np.mean([c in rk[1:4] for rk, _ in mine])
        said = ", ".join(f"{rk[0]} ({rk[1]} {100 * r['top'][0]['probability']:.0f}%)"
                         if rk[0] != rk[1] else f"{rk[0]} {100 * r['top'][0]['probability']:.0f}%"
                         for rk, r in mine)
        lines.append(f"| {c} | {len(mine)} | {100 * t1:.0f}% | {100 * t3:.0f}% | {said} |")
    order = [*names, "no known action"]
    predicted = sorted({rk[0] for _, _, rk, _ in results}, key=order.index)
    lines += ["", "Confusion (rows: true class, columns: the answer; empty columns left out):",
              "",
              "| true \\ predicted | " + " | ".join(predicted) + " |",
              "|---|" + "---|" * len(predicted)]
    for c in classes:
        counts = [sum(lab == c and rk[0] == p for _, lab, rk, _ in results) for p in predicted]
        lines.append(f"| {c} | " + " | ".join(str(n) if n else "" for n in counts) + " |")
    return lines


if __name__ == "__main__":
    main()
