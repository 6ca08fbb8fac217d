"""Rebuild the embedded default dataset from the raw Penn Action labels.

    python scripts/build_embedded_pack.py [--data ../shared/data]

Writes src/skelkd/resources/penn_action.skpack.zip with skelkd's own Penn Action reader
(human-annotated 2D joints, official train/test split).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skelkd.io import import_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="src/skelkd/resources/penn_action.skpack.zip")
    args = ap.parse_args()
    pack = import_dataset("penn_action", Path(args.data) / "penn_action" / "labels", args.out,
                          archive=True, overwrite=True)
    print(pack, f"{Path(args.out).stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
