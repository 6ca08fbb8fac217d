"""Malformed inputs for every reader and for packs, and the rule they must obey.

The rule: ``skelkd data import`` (or opening and reading a pack) either succeeds with a
valid pack (finite coordinates, scores in [0, 1]; NaN or infinite values inside
otherwise valid data become missing joints, docs/formats.md) or stops with exit status
2 and one ``error:`` line that names a file, without a traceback and without leaving
anything at the output path.

Each case starts from a small valid input in the reader's real format and applies one
mutation: truncation, flipped bytes, an emptied file, a field replaced by a value of
another type or shape (NaN, infinities, huge numbers, strings, null, empty or deeply
nested lists, zero-length and very long sequences, wrong joint counts, labels out of
range), a deleted field, a duplicated file (duplicate instance ids), or a wrong option
(unknown or mismatched layout). Used by ``tests/test_fuzz.py`` (hypothesis picks the
cases) and its slow test of many cases per reader, whose counts ``python -m tests.fuzz``
writes to docs/robustness.md.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.io
from click.testing import CliRunner

from skelkd.cli import main as cli
from skelkd.errors import SkelkdError
from skelkd.io import open_pack
from skelkd.io.pack import Sample, file_checksums, meta_digest, write_pack
from skelkd.layouts import get_layout

KINDS = ("truncate", "flip", "empty", "replace", "delete", "duplicate", "option")

# ----------------------------------------------------------------------------- valid inputs


def _penn(d: Path, rng) -> tuple[Path, dict]:
    src = d / "labels"
    src.mkdir(parents=True)
    for k, (action, train, t) in enumerate((("squat", 1, 6), ("bowl", -1, 5))):
        scipy.io.savemat(src / f"{k + 1:04d}.mat", {
            "action": np.array([action]), "pose": np.array(["front"]),
            "x": rng.uniform(0, 480, (t, 13)), "y": rng.uniform(0, 360, (t, 13)),
            "visibility": (rng.random((t, 13)) > 0.2).astype(np.uint8),
            "train": np.array([[train]]), "dimensions": np.array([[360, 480, t]]),
            "nframes": np.array([[t]])})
    return src, {}


def _utd(d: Path, rng) -> tuple[Path, dict]:
    src = d / "Skeleton"
    src.mkdir(parents=True)
    for a, s in ((1, 1), (27, 2)):
        scipy.io.savemat(src / f"a{a}_s{s}_t1_skeleton.mat",
                         {"d_skel": rng.normal(size=(20, 3, 7))})
    return src, {}


def _ucla(d: Path, rng) -> tuple[Path, dict]:
    src = d / "all_sqe"
    src.mkdir(parents=True)
    for name, label in (("a01_s01_e00_v01", 1), ("a12_s02_e01_v03", 10)):
        (src / f"{name}.json").write_text(json.dumps(
            {"file_name": name, "skeletons": rng.normal(size=(5, 20, 3)).tolist(),
             "label": label}))
    return src, {}


def _ntu(d: Path, rng) -> tuple[Path, dict]:
    src = d / "ntu"
    src.mkdir(parents=True)
    lines = ["3"]
    for bodies in (1, 2, 1):
        lines.append(str(bodies))
        for b in range(bodies):
            lines += [f"{111 + b} 0 1 1 1 1 0 0.1 0.2 2", "25"]
            lines += [f"{rng.normal():.4f} {rng.normal():.4f} {3 + rng.random():.4f} 1 2 "
                      f"{rng.uniform(0, 1920):.2f} {rng.uniform(0, 1080):.2f} 1 0 0 0 2"
                      for _ in range(25)]
    (src / "S001C002P003R001A050.skeleton").write_text("\n".join(lines) + "\n")
    return src, {}


def _pyskl(d: Path, rng) -> tuple[Path, dict]:
    annos = [{"frame_dir": f"v{i}", "label": i % 2, "keypoint": rng.normal(size=(1, 4, 17, 2)),
              "keypoint_score": rng.random((1, 4, 17)), "total_frames": 4} for i in range(3)]
    f = d / "anno.pkl"
    d.mkdir(parents=True, exist_ok=True)
    f.write_bytes(pickle.dumps({"split": {"xsub_train": ["v0", "v1"], "xsub_val": ["v2"]},
                                "annotations": annos}))
    return f, {"trust_pickle": True}


def _coco(d: Path, rng) -> tuple[Path, dict]:
    src = d / "coco"
    for cls, clip, frames in (("jump", "clip1", 3), ("wave", "clip2", 4)):
        (src / cls).mkdir(parents=True)
        images = [{"id": 10 + t, "file_name": f"{t:04d}.jpg", "frame_id": t}
                  for t in range(frames)]
        annos = [{"image_id": 10 + t, "score": 0.9, "keypoints": np.concatenate(
            [rng.uniform(0, 100, (17, 2)), np.full((17, 1), 2.0)], 1).ravel().tolist()}
            for t in range(frames)]
        (src / cls / f"{clip}.json").write_text(json.dumps(
            {"images": images, "annotations": annos, "categories": [{"id": 1}]}))
    return src, {}


def _pifpaf(d: Path, rng) -> tuple[Path, dict]:
    d.mkdir(parents=True, exist_ok=True)
    f = d / "video.pifpaf.jsonl"

    def pred():
        k = np.concatenate([rng.uniform(0, 50, (17, 2)), rng.uniform(0, 1, (17, 1))], 1)
        return {"keypoints": k.ravel().tolist(), "score": 0.7, "category_id": 1}

    f.write_text("\n".join(json.dumps({"frame": t, "predictions": [pred()]}) for t in range(4)))
    return f, {}


def _blazepose(d: Path, rng) -> tuple[Path, dict]:
    src = d / "clips"
    (src / "walk").mkdir(parents=True)
    xy = rng.uniform(0, 300, (6, 33, 2)).astype(np.float32)
    np.savez(src / "walk" / "clipA.npz", keypoints_xy=xy, visibility=np.full((6, 33), 0.9),
             img_shape=np.array([240, 320]), source=np.array("clipA.avi"))
    return src, {}


def _jhmdb(d: Path, rng) -> tuple[Path, dict]:
    src = d / "jhmdb"
    (src / "catch" / "clip7").mkdir(parents=True)
    scipy.io.savemat(src / "catch" / "clip7" / "joint_positions.mat",
                     {"pos_img": rng.uniform(0, 300, (2, 15, 4))})
    return src, {}


def _numpy(d: Path, rng) -> tuple[Path, dict]:
    src = d / "arrays"
    src.mkdir(parents=True)
    np.save(src / "x.npy", rng.normal(size=(6, 25, 3)))
    return src, {"layout": "ntu"}


VALID: dict[str, Callable] = {
    "penn_action": _penn, "utd_mhad": _utd, "nw_ucla": _ucla, "ntu": _ntu, "pyskl": _pyskl,
    "coco": _coco, "pifpaf": _pifpaf, "blazepose": _blazepose, "jhmdb": _jhmdb,
    "numpy": _numpy,
}

# ----------------------------------------------------------------------------- mutations


def _bad_value(rng):
    """A value of a surprising type or size."""
    choices = [float("nan"), float("inf"), -float("inf"), -1, 0, 10 ** 20, -(10 ** 20), 1e308,
               "", "x", None, True, [], {}, [[[]]], [float("nan")] * 3, "nan", 2 ** 63]
    return choices[int(rng.integers(len(choices)))]


def _bad_array(rng, like: np.ndarray | None):
    shape = tuple(like.shape) if like is not None and like.ndim else (4,)
    if like is not None and not np.issubdtype(like.dtype, np.number):
        like = None
    kind = int(rng.integers(9))
    if kind == 0:  # NaN / inf inside otherwise valid data
        out = np.array(like if like is not None else rng.normal(size=shape), dtype=np.float64)
        flat = out.reshape(-1)
        if flat.size:
            flat[rng.integers(flat.size, size=max(1, flat.size // 10))] = rng.choice(
                [np.nan, np.inf, -np.inf])
        return out
    if kind == 1:  # one dimension off by one (wrong joint count, wrong coordinate count)
        if not shape:
            return np.zeros(3)
        ax = int(rng.integers(len(shape)))
        new = list(shape)
        new[ax] = max(0, new[ax] + int(rng.choice([-1, 1])))
        return rng.normal(size=new)
    if kind == 2:  # zero-length
        return np.zeros((0,) + shape[1:])
    if kind == 3:  # a very long sequence on the last (time) or first axis
        ax = int(rng.integers(len(shape))) if shape else 0
        new = list(shape) or [1]
        new[ax] = 20000
        return rng.normal(size=new).astype(np.float32)
    if kind == 4:
        return np.array(["text"] * 3)
    if kind == 5:
        return np.array([])
    if kind == 6:  # an extra axis
        return rng.normal(size=(*shape, 2))
    if kind == 7:  # huge magnitudes
        return np.full(shape, 1e300)
    return np.array(-7)  # a scalar where an array is expected (or a label out of range)


def _files(src: Path) -> list[Path]:
    return [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())


def _mutate_json_like(obj, rng, delete: bool):
    """Replace (or delete) one randomly chosen node of a JSON-like structure."""
    path, node = [], obj
    while isinstance(node, dict | list) and node and rng.random() < 0.75:
        key = (list(node)[int(rng.integers(len(node)))] if isinstance(node, dict)
               else int(rng.integers(len(node))))
        path.append(key)
        node = node[key]
    if not path:
        return _bad_value(rng) if not delete else {}
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    if delete:
        del parent[path[-1]]
    else:
        old = parent[path[-1]]
        parent[path[-1]] = (_bad_array(rng, np.asarray(old)).tolist()
                            if isinstance(old, list) and rng.random() < 0.5 else _bad_value(rng))
    return obj


def mutate(src: Path, kind: str, rng, options: dict) -> str:
    """Apply one mutation of ``kind`` to the input at ``src`` (in place); returns a
    description. ``options`` may be changed (kind ``option``)."""
    files = _files(src)
    f = files[int(rng.integers(len(files)))]
    data = f.read_bytes()
    if kind == "truncate":
        cut = int(rng.integers(0, max(len(data), 1)))
        f.write_bytes(data[:cut])
        return f"{f.name} truncated to {cut} of {len(data)} bytes"
    if kind == "flip":
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            if buf:
                buf[int(rng.integers(len(buf)))] = int(rng.integers(256))
        f.write_bytes(bytes(buf))
        return f"{f.name}: bytes overwritten"
    if kind == "empty":
        f.write_bytes(b"")
        return f"{f.name} emptied"
    if kind == "duplicate":
        target = f.parent.parent / "dup" / f.name if f.parent != src else f.with_name(
            "copy_" + f.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
        return f"{f.name} duplicated as {target.relative_to(f.parent.parent)}"
    if kind == "option":
        if "layout" in options or rng.random() < 0.5:
            options["layout"] = str(rng.choice(["no_such_layout", "coco", "kinect_v1"]))
            return f"--layout {options['layout']}"
        options.pop("trust_pickle", None)
        return "without --trust-pickle"
    delete = kind == "delete"
    suffix = "".join(f.suffixes[-1:])
    if suffix in (".json", ".jsonl"):
        lines = data.decode().splitlines() if suffix == ".jsonl" else [data.decode()]
        k = int(rng.integers(len(lines)))
        lines[k] = json.dumps(_mutate_json_like(json.loads(lines[k]), rng, delete))
        f.write_text("\n".join(lines))
    elif suffix == ".mat":
        mat = {k: v for k, v in scipy.io.loadmat(f).items() if not k.startswith("__")}
        key = list(mat)[int(rng.integers(len(mat)))]
        if delete:
            del mat[key]
        else:
            mat[key] = _bad_array(rng, mat[key])
        scipy.io.savemat(f, mat)
    elif suffix in (".npz", ".npy"):
        arrays = dict(np.load(f, allow_pickle=False)) if suffix == ".npz" else {
            "arr": np.load(f, allow_pickle=False)}
        key = list(arrays)[int(rng.integers(len(arrays)))]
        if delete and suffix == ".npz":
            del arrays[key]
        else:
            arrays[key] = _bad_array(rng, arrays[key])
        if suffix == ".npz":
            np.savez(f, **arrays)
        else:
            np.save(f, arrays["arr"])
    elif suffix == ".pkl":
        obj = pickle.loads(data)
        f.write_bytes(pickle.dumps(_mutate_json_like(_plain(obj), rng, delete)))
    else:  # text (.skeleton): replace or delete one token
        tokens = data.decode().split("\n")
        k = int(rng.integers(len(tokens)))
        words = tokens[k].split(" ")
        w = int(rng.integers(len(words)))
        if delete:
            del words[w]
        else:
            words[w] = str(rng.choice(["nan", "inf", "-1", "abc", "1e309", "99999999999", "",
                                       "0", "-99999"]))
        tokens[k] = " ".join(words)
        f.write_text("\n".join(tokens))
    return f"{f.name}: a field {'deleted' if delete else 'replaced'}"


def _plain(obj):
    """numpy arrays inside a pyskl structure as lists (so they can be mutated like JSON)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


# ----------------------------------------------------------------------------- the rule


def check_import(fmt: str, src: Path, out: Path, options: dict, names: set[str] = frozenset()
                 ) -> str:
    """Run ``skelkd data import`` and judge the outcome: ``"accepted"``, ``"clear
    error"`` (``"clear error (safety net)"`` when the reader's own checks missed it and
    :func:`skelkd.io.import_dataset` caught it), or ``"BAD: ..."`` (anything else). The
    error must name an input file (or one of ``names``: the option at fault)."""

    args = ["data", "import", fmt, str(src), str(out)]
    if options.get("trust_pickle"):
        args.append("--trust-pickle")
    if "layout" in options:
        args += ["--layout", options["layout"]]
    before = set(out.parent.iterdir())
    r = CliRunner().invoke(cli, args)
    text = r.output.strip()
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        return f"BAD: uncaught {type(r.exception).__name__}: {r.exception}"
    if r.exit_code == 0:
        return _valid_pack(out)
    left = set(out.parent.iterdir()) - before
    if r.exit_code != 2:
        return f"BAD: exit status {r.exit_code}: {text[-300:]}"
    if out.exists() or left:
        return f"BAD: output left behind after an error: {sorted(p.name for p in left)}"
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    if len(errors) != 1 or "Traceback" in text:
        return f"BAD: not one error line: {text[-300:]}"
    names = {p.name for p in _files(src)} | {src.name} | set(names)
    if not any(n in errors[0] for n in names):
        return f"BAD: the error names no input file: {errors[0]}"
    if "(unexpected content)" in errors[0]:
        return "clear error (safety net)"  # caught by import_dataset, not by the reader
    return "clear error"


def _valid_pack(path: Path) -> str:

    try:
        pack = open_pack(path)
        for s in pack:
            if not (np.isfinite(s.keypoints).all() and np.isfinite(s.scores).all()):
                return "BAD: accepted with non-finite values"
            if s.scores.min() < 0 or s.scores.max() > 1:
                return "BAD: accepted with scores outside [0, 1]"
    except SkelkdError as exc:
        return f"BAD: accepted but the pack does not open: {exc}"
    return "accepted"


def fuzz_case(fmt: str, workdir: Path, seed: int, kind: str) -> tuple[str, str]:
    """One case: a valid input of ``fmt``, one mutation of ``kind``, the judgement.
    Returns (description, outcome)."""
    rng = np.random.default_rng(seed)
    src, options = VALID[fmt](workdir / "in", rng)
    options = dict(options)
    what = mutate(src, kind, rng, options)
    names = {"layout", "trust-pickle"} if kind == "option" else set()
    return what, check_import(fmt, src, workdir / "out.skpack", options, names)


# ----------------------------------------------------------------------------- packs

PACK_KINDS = ("truncate", "flip", "empty", "delete", "meta", "index", "samples", "splits")


def _valid_pack_dir(path: Path, rng) -> Path:

    v = get_layout("coco").num_joints
    samples = []
    for i in range(6):
        t = int(rng.integers(3, 9))
        samples.append(Sample(rng.uniform(0, 100, (1, t, v, 2)).astype(np.float32),
                              rng.uniform(0.1, 1, (1, t, v)).astype(np.float32), i % 2,
                              f"s{i}", "coco"))
    return write_pack(path, samples, "coco", ["a", "b"],
                      {"official": {"train": [0, 1, 2, 3], "test": [4, 5]}})


def _refresh_checksums(pack: Path) -> None:
    """What a crafted pack would do: recompute every checksum and meta.json's own digest
    after the edit, so only the semantic checks stand between it and training."""
    meta_path = pack / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return
    if not isinstance(meta, dict):
        return
    meta["checksums"] = file_checksums(pack)
    meta["meta_sha256"] = meta_digest(meta)
    meta_path.write_text(json.dumps(meta))


def mutate_pack(pack: Path, kind: str, rng) -> str:
    members = sorted(p for p in pack.iterdir())
    f = members[int(rng.integers(len(members)))]
    if kind in ("truncate", "flip", "empty"):
        return mutate(f, kind, rng, {})
    if kind == "delete":
        f.unlink()
        return f"{f.name} deleted"
    if kind == "meta":
        meta = json.loads((pack / "meta.json").read_text())
        key = list(meta)[int(rng.integers(len(meta)))]
        if rng.random() < 0.3:
            del meta[key]
        else:
            meta[key] = _bad_value(rng) if rng.random() < 0.7 else _mutate_json_like(
                meta[key], rng, False)
        (pack / "meta.json").write_text(json.dumps(meta))
        return f"meta.json: {key} changed"
    if kind == "index":
        index = np.load(pack / "index.npy")
        r, c = int(rng.integers(index.shape[0])), int(rng.integers(4))
        index[r, c] = int(rng.choice([-1, 0, 2, 10 ** 6, -(10 ** 12), 2 ** 62]))
        np.save(pack / "index.npy", index)
        return f"index.npy[{r}, {c}] = {index[r, c]}"
    if kind == "samples":
        cols = json.loads((pack / "samples.json").read_text())
        if rng.random() < 0.5:
            cols["instance_id"][1] = cols["instance_id"][0]
            what = "a duplicate instance id"
        else:
            cols = _mutate_json_like(cols, rng, rng.random() < 0.3)
            what = "a column changed"
        (pack / "samples.json").write_text(json.dumps(cols))
        return f"samples.json: {what}"
    splits = _mutate_json_like(json.loads((pack / "splits.json").read_text()), rng,
                               rng.random() < 0.3)
    (pack / "splits.json").write_text(json.dumps(splits))
    return "splits.json changed"


def check_pack(path: Path) -> str:
    """Open a pack, read every sample and verify it: ``"accepted"`` (valid data),
    ``"clear error"`` (a skelkd error naming the pack), or ``"BAD: ..."``."""

    try:
        pack = open_pack(path)
        pack.verify()
        for s in pack:
            if not (np.isfinite(s.keypoints).all() and np.isfinite(s.scores).all()):
                return "BAD: non-finite values read without an error"
        pack.split_indices()
    except SkelkdError as exc:
        return "clear error" if path.name in str(exc) else f"BAD: error without the pack: {exc}"
    except Exception as exc:
        return f"BAD: uncaught {type(exc).__name__}: {exc}"
    return "accepted"


def fuzz_pack_case(workdir: Path, seed: int, kind: str) -> tuple[str, str]:
    """One pack case: a valid pack, one mutation (with checksums recomputed for every
    other seed, as a crafted file would have), the judgement."""
    rng = np.random.default_rng(seed)
    pack = _valid_pack_dir(workdir / "p.skpack", rng)
    what = mutate_pack(pack, kind, rng)
    if seed % 2:
        _refresh_checksums(pack)
        what += " (checksums recomputed)"
    return what, check_pack(pack)


# ----------------------------------------------------------------------------- many cases

OUTCOMES = ("accepted", "clear error", "clear error (safety net)")


def count_outcomes(cases: int, pack_cases: int, echo=print) -> tuple[list[str], list[str]]:
    """``cases`` cases per reader and ``pack_cases`` for packs, cycling through every kind
    of mutation: one table row per input (its counts per outcome, 'other' last) and one
    line per case that broke the rule."""
    rows: list[str] = []
    failures: list[str] = []

    def run(name: str, n: int, kinds, case):
        counts: Counter = Counter()
        for seed in range(n):
            kind = kinds[seed % len(kinds)]
            with tempfile.TemporaryDirectory() as d:
                what, outcome = case(Path(d), seed, kind)
            counts[outcome if outcome in OUTCOMES else "other"] += 1
            if outcome not in OUTCOMES:
                failures.append(f"{name}, seed {seed}, {what}: {outcome}")
        rows.append(f"| {name} | {n} | " + " | ".join(str(counts[o]) for o in OUTCOMES)
                    + f" | {counts['other']} |")
        echo(rows[-1])

    for fmt in sorted(VALID):
        run(fmt, cases, KINDS, lambda d, s, k, fmt=fmt: fuzz_case(fmt, d, s, k))
    run("pack (open, read, verify)", pack_cases, PACK_KINDS, fuzz_pack_case)
    return rows, failures


def write_doc() -> None:
    """``python -m tests.fuzz [--cases 300] [--pack-cases 800] [--doc docs/robustness.md]``
    (from the repository's root): the counts, written to the doc."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300, help="cases per reader")
    ap.add_argument("--pack-cases", type=int, default=800)
    ap.add_argument("--doc", default="docs/robustness.md")
    args = ap.parse_args()
    rows, failures = count_outcomes(args.cases, args.pack_cases)
    lines = ["# Robustness: malformed inputs", "",
             f"Generated by `python -m tests.fuzz --cases {args.cases} --pack-cases "
             f"{args.pack_cases}`; do not edit by hand. Each case is a small valid input in the "
             "reader's real format with one mutation, cycling through: "
             + ", ".join(KINDS) + " (readers); " + ", ".join(PACK_KINDS)
             + " (packs; every other case with the checksums recomputed, as a crafted file "
             "would have them). 'accepted': a valid pack came out (NaN or infinite values "
             "became missing joints); 'clear error': exit status 2, one `error:` line naming "
             "the file (or the option) and field, nothing left at the output path; 'safety "
             "net': the same, caught by `import_dataset` rather than by the reader's own "
             "checks; 'other': anything else (a traceback, a crash, output left behind).", "",
             "| input | cases | accepted | clear error | clear error (safety net) | other |",
             "|---|---|---|---|---|---|", *rows, ""]
    if failures:
        lines += ["Cases that broke the rule:", "", *[f"- {f}" for f in failures], ""]
    doc = Path(args.doc)
    doc.write_text("\n".join(lines))
    print(f"wrote {doc}; {len(failures)} case(s) broke the rule")


if __name__ == "__main__":
    write_doc()
