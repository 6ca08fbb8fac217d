"""Draw one real frame in every shipped layout, bones coloured by side, to check joint
orders and left/right labels by eye. Writes docs/layouts/<layout>.png and docs/layouts.md.

    python scripts/layout_gallery.py [--data ../shared/data] [--out docs/layouts]

Sources (all real): Penn Action labels, UTD-MHAD and NW-UCLA Kinect V1, an NTU RGB+D
.skeleton file, the JHMDB clip of real_pairs with its puppet joints and BlazePose
output drawn over the video frame. COCO and OpenPose frames are BlazePose's landmarks
on that clip mapped by name (OpenPose's neck is derived); Human3.6M is the NTU frame
mapped by name (nose and head top derived, hollow markers); MSR Action3D is the NW-UCLA
frame in MSR Action3D's order (no file of that dataset was at hand).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skelkd.io.readers import blazepose, jhmdb, ntu, nw_ucla, penn_action, utd_mhad  # noqa: E402
from skelkd.layouts import PARTS, get_layout  # noqa: E402
from skelkd.layouts import layout as layout_module
from skelkd.layouts.mapping import DERIVATIONS, joint_map, map_layout  # noqa: E402
from skelkd.viz.skeleton import draw_skeleton, frame_limits, image_plane, save_figure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="docs/layouts")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    pair = data / "real_pairs" / "jhmdb_catch"
    frame_no = 20
    frame = plt.imread(pair / "frames" / f"{frame_no + 1:05d}.png")
    bp_kp, bp_sc, _ = blazepose.read_npz(pair / "blazepose_full.npz")
    jh_kp = jhmdb.read_file(pair / "joint_positions.mat")
    penn, _ = penn_action.read_clip(data / "penn_action" / "labels" / "0001.mat")
    utd, _ = utd_mhad.read_file(data / "utd_mhad" / "Skeleton" / "a3_s1_t1_skeleton.mat")
    ucla, _ = nw_ucla.read_file(data / "nw_ucla" / "all_sqe" / "a01_s01_e00_v01.json")
    ntu_s, _ = ntu.read_file(data / "ntu_samples" / "S001C001P001R001A011.skeleton")

    def one(kp, sc, layout, t):
        return kp[0, t], sc[0, t], layout

    bpf = one(bp_kp, bp_sc, "blazepose", frame_no)
    examples = {
        "penn_action": (*one(penn.keypoints, penn.scores, "penn_action", 40), None,
                        "Penn Action 0001 (baseball pitch), frame 40"),
        "kinect_v1_utd": (*one(utd.keypoints, utd.scores, "kinect_v1_utd", 30), None,
                          "UTD-MHAD a3 'right hand wave', frame 30"),
        "kinect_v1": (*one(ucla.keypoints, ucla.scores, "kinect_v1", 20), None,
                      "NW-UCLA a01 'pick up with one hand', frame 20"),
        "ntu": (*one(ntu_s.keypoints, ntu_s.scores, "ntu", 40), None,
                "NTU RGB+D S001C001P001R001A011 'reading', frame 40"),
        "jhmdb": (jh_kp[0, frame_no], np.ones(15), "jhmdb", frame,
                  f"JHMDB catch, puppet joints, frame {frame_no}"),
        "blazepose": (*bpf, frame, f"JHMDB catch, BlazePose, frame {frame_no}"),
    }
    for target in ("coco", "openpose"):
        kp, sc = map_layout(bpf[0], bpf[1], get_layout("blazepose"), get_layout(target))
        examples[target] = (kp, sc, target, frame,
                            f"JHMDB catch, BlazePose mapped to {target}, frame {frame_no}")
    kp, sc = map_layout(ntu_s.keypoints[0, 40], ntu_s.scores[0, 40], get_layout("ntu"),
                        get_layout("h36m"))
    examples["h36m"] = (kp, sc, "h36m", None, "NTU A011 frame 40 mapped to Human3.6M")
    kp, sc = map_layout(ucla.keypoints[0, 20], ucla.scores[0, 20], get_layout("kinect_v1"),
                        get_layout("msr_action3d"))
    examples["msr_action3d"] = (kp, sc, "msr_action3d", None,
                                "NW-UCLA a01 frame 20 in its order (not checked on MSR data)")
    derived_from = {"coco": "blazepose", "openpose": "blazepose", "h36m": "ntu",
                    "msr_action3d": "kinect_v1"}

    out.mkdir(parents=True, exist_ok=True)
    for name, (kp, sc, layout_name, background, title) in examples.items():
        layout = get_layout(layout_name)
        derived = None
        if name in derived_from:
            _, kind = joint_map(get_layout(derived_from[name]), layout)
            derived = kind == 2
        fig, ax = plt.subplots(figsize=(6, 6.4))
        if background is not None:
            ax.imshow(background)
        xlim, ylim = frame_limits(image_plane(kp), sc > 0, margin=0.25)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        draw_skeleton(ax, kp, sc, layout, derived=derived, names=True)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"layout '{name}' ({layout.num_joints} joints)\n{title}", fontsize=9)
        fig.text(0.01, 0.01, "blue: subject's left, red: right, as labelled; hollow: derived",
                 fontsize=7, color="0.3")
        path = save_figure(fig, out / f"{name}.png", dpi=110)
        print(path)
    write_markdown(out.parent / "layouts.md", out.name, {k: v[4] for k, v in examples.items()})


def write_markdown(path: Path, images: str, captions: dict[str, str]) -> None:
    """docs/layouts.md: every layout's joints and parts, the rules, and the drawings."""
    doc = layout_module.__doc__.split("\n\n", 1)[1].strip()
    lines = ["# Joint layouts", "", "Generated by `python scripts/layout_gallery.py` from the "
             "layout definitions in `src/skelkd/layouts/builtin.py`; do not edit by hand.", "",
             doc, "", "Each drawing is a real frame (blue: the subject's left as the source "
             "labels it, red: right; hollow markers: joints derived by the mapping rules).", ""]
    for name, caption in captions.items():
        lay = get_layout(name)
        lines += [f"## `{name}` ({lay.num_joints} joints)", "", lay.description, "",
                  f"Aliases: {', '.join(lay.aliases) or 'none'}. Centre: `{lay.center}`.", "",
                  "| part | joints |", "|---|---|"]
        for p in PARTS:
            lines.append(f"| {p} | {', '.join(lay.parts[p])} |")
        torso = [j for j, k in zip(lay.joints, lay.part_of, strict=True) if k < 0]
        lines.append(f"| (no part) | {', '.join(torso) or '-'} |")
        lines += ["", "Order: " + ", ".join(f"{i} {j}" for i, j in enumerate(lay.joints)), "",
                  f"![{name}]({images}/{name}.png)", "", f"*{caption}*", ""]
    lines += ["## Deriving joints a source lacks", "",
              "`skelkd.layouts.mapping.DERIVATIONS`: for a target joint the source does not "
              "have, the first rule whose source joints all exist is used; weights sum to 1.",
              "", "| target | rules, in order of preference |", "|---|---|"]
    for target, rules in sorted(DERIVATIONS.items()):
        text = " ; ".join(" + ".join(f"{w:g} {j}" for j, w in r.items()) for r in rules)
        lines.append(f"| {target} | {text} |")
    path.write_text("\n".join(lines) + "\n")
    print(path)


if __name__ == "__main__":
    main()
