"""Do more kinds of outliers teach the shipped recipe "no known action" better? (issue 21)

The shipped students had outlier exposure on UTD-MHAD's actions alone (27 arm-centred
actions recorded in one lab, those close to a Penn Action class left out). Outlier
exposure is known to depend on how varied its outliers are (Hendrycks, Mazeika and
Dietterich, ICLR 2019). This study adds whole-body actions of another dataset, NW-UCLA
(another Kinect V1, other people and rooms), to the outliers and asks whether the students
then answer fewer clips of actions they do not know, without losing the known ones.

    python experiments/outlier_diversity.py utd.skpack ucla.skpack OUT.skpack

writes the candidate's outlier pack: every UTD-MHAD clip and NW-UCLA's clips of the
classes of ``OUTLIER_GROUP``, in UTD-MHAD's joint order (the two Kinect V1 layouts name the
same 20 joints), each class named after its dataset. The students of both arms are
``scripts/train_shipped_model.sh``'s (``penn_video``, one teacher), five paired seeds:

- baseline: ``data.outliers`` utd.skpack (the shipped recipe);
- candidate: ``data.outliers`` OUT.skpack;

both with the shipped ``data.outlier_exclude``. They are compared by
``experiments/outlier_exposure.py --without BASELINE... --with CANDIDATE... --unknown
ucla.skpack --exclude throw pick drop sit stand`` (its tables: validation clips as
trimmed and with a synthetic rest, the threshold keeping 95% of the latter, unknown clips
answered there, AUROC). The unknown clips are NW-UCLA's other classes (walk around,
donning, doffing, carry): neither arm saw them. NW-UCLA's classes come in near pairs
(pick up with one or two hands, sit down and stand up, donning and doffing), so the
split keeps each pair on one side: the outliers do not hold the twin of an unknown class.

The rule, fixed before any candidate student was trained: the candidate replaces the
shipped recipe only if, over the five paired seeds, (1) the unknown clips answered at the
threshold fall, the paired 95% interval entirely below 0; (2) validation top-1 with a
synthetic rest does not fall by more than 1 point on average; (3) the AUROC does not fall
on average. The real clips are read once afterwards, not to decide.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

OUTLIER_GROUP = ("pick up with one hand", "pick up with two hands", "drop trash",
                 "sit down", "stand up")
"""NW-UCLA's classes the candidate adds to the outliers; 'throw' stays out of both (close
to a baseball pitch), the rest are the unknown clips."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("utd", type=Path)
    ap.add_argument("ucla", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    from skelkd.io import open_pack, write_pack
    from skelkd.layouts.mapping import map_layout

    utd, ucla = open_pack(args.utd), open_pack(args.ucla)
    missing = set(OUTLIER_GROUP) - set(ucla.class_names)
    if missing:
        raise SystemExit(f"{args.ucla}: no class {sorted(missing)}")
    names = [f"utd_mhad: {c}" for c in utd.class_names]
    added = {ucla.class_names.index(c): len(names) + k for k, c in enumerate(OUTLIER_GROUP)}
    names += [f"nw_ucla: {c}" for c in OUTLIER_GROUP]
    samples = [utd[i] for i in range(len(utd))]
    for i in np.flatnonzero(np.isin(ucla.labels, list(added))):
        s = ucla[int(i)]
        kp, sc = map_layout(s.keypoints, s.scores, ucla.layout, utd.layout, derive=False)
        samples.append(dataclasses.replace(s, keypoints=kp, scores=sc, layout=utd.layout.name,
                                           label=added[s.label],
                                           instance_id=f"nw_ucla/{s.instance_id}"))
    write_pack(args.out, samples, utd.layout, names)
    print(f"{args.out}: {len(utd)} UTD-MHAD clips and {len(samples) - len(utd)} NW-UCLA clips "
          f"of {', '.join(OUTLIER_GROUP)}")


if __name__ == "__main__":
    main()
