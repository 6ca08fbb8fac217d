"""What a pack holds, in numbers (``skelkd data info``)."""

from __future__ import annotations

import numpy as np

from .pack import Pack


def describe(pack: Pack, chunk_rows: int = 1 << 20) -> dict:
    """Counts per split and class, layout, frame-length range, missing-joint rate and
    empty frames (a person's frame with no joint at all: an estimator that lost the
    body; one row of the pack's arrays).

    Reads the scores in chunks, so a memory-mapped pack of any size fits in memory.
    """
    labels = pack.labels
    missing = empty = 0
    for start in range(0, len(pack.scores), chunk_rows):
        stop = min(start + chunk_rows, len(pack.scores))
        absent = pack.read_rows("scores", start, stop) <= 0
        missing += int(absent.sum())
        empty += int(absent.all(axis=-1).sum())
    total = len(pack.scores) * pack.layout.num_joints
    frames = pack.num_frames
    per_class = np.bincount(labels, minlength=len(pack.class_names))
    splits = {}
    for split, subsets in pack.splits.items():
        splits[split] = {}
        for subset, idx in subsets.items():
            splits[split][subset] = {
                "samples": len(idx),
                "per_class": np.bincount(labels[idx], minlength=len(pack.class_names)).tolist()}
    return {
        "path": str(pack.path), "samples": len(pack), "layout": pack.layout.name,
        "joints": pack.layout.num_joints, "coord_dims": pack.coord_dims,
        "classes": len(pack.class_names), "class_names": pack.class_names,
        "per_class": per_class.tolist(), "splits": splits,
        "frames_min": int(frames.min()) if len(frames) else 0,
        "frames_median": float(np.median(frames)) if len(frames) else 0.0,
        "frames_max": int(frames.max()) if len(frames) else 0,
        "persons_max": int(pack.num_persons.max()) if len(frames) else 0,
        "missing_joint_rate": missing / total if total else 0.0,
        "empty_frames": empty, "person_frames": len(pack.scores),
        "description": pack.meta.get("description", ""),
        "simulated": pack.simulated is not None,
    }


def format_description(info: dict) -> str:
    """A human-readable table of :func:`describe`'s result."""
    lines = [f"pack      {info['path']}",
             f"about     {info['description']}" + ("  [SIMULATED]" if info["simulated"] else ""),
             f"samples   {info['samples']}",
             f"layout    {info['layout']} ({info['joints']} joints, {info['coord_dims']}D)",
             f"frames    {info['frames_min']} to {info['frames_max']} "
             f"(median {info['frames_median']:g}); up to {info['persons_max']} person(s)",
             f"missing   {100 * info['missing_joint_rate']:.2f}% of joints have score 0",
             f"empty     {info['empty_frames']} of {info['person_frames']} person-frames have "
             "no joint at all",
             f"classes   {info['classes']}"]
    subsets = [(s, sub) for s, d in info["splits"].items() for sub in d]
    head = f"  {'class':<32} {'all':>6}" + "".join(f" {s + '/' + sub:>14}" for s, sub in subsets)
    lines += ["", head]
    for c, name in enumerate(info["class_names"]):
        row = f"  {name[:32]:<32} {info['per_class'][c]:>6}"
        row += "".join(f" {info['splits'][s][sub]['per_class'][c]:>14}" for s, sub in subsets)
        lines.append(row)
    total = f"  {'total':<32} {info['samples']:>6}"
    total += "".join(f" {info['splits'][s][sub]['samples']:>14}" for s, sub in subsets)
    lines.append(total)
    return "\n".join(lines)
