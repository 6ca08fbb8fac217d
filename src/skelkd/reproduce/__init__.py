"""The paper's experiments on real data under a validated protocol:
``skelkd reproduce DATA_DIR``.

- :mod:`.plan`: the protocol, its cells (dataset, setting, OP, arms) and the jobs;
- :mod:`.run`: the packs, each job's configuration, the runs, the records they leave;
- :mod:`.stats`: paired statistics over seeds;
- :mod:`.report`: RESULTS.md and its figures, from the records alone.

The superseded short-schedule reproduction is :mod:`.short_schedule`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import SkelkdError
from .plan import PROTOCOLS, Cell, Job, Protocol

__all__ = ["PROTOCOLS", "Cell", "Job", "Protocol", "reproduce", "select_cells"]


def select_cells(protocol: Protocol, datasets: tuple[str, ...] = (),
                 tables: tuple[str, ...] = ()) -> list[Cell]:
    """The protocol's cells, in its order, of the given datasets and tables (all when
    empty)."""
    from .short_schedule import DATASETS

    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        raise SkelkdError(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    return [c for c in protocol.cells if (not datasets or c.dataset in datasets)
            and (not tables or c.table in tables)]


def reproduce(data_dir: str | Path, runs: str | Path, results: str | Path,
              doc: str | Path | None = None, protocol: str = "fair",
              datasets: tuple[str, ...] = (), tables: tuple[str, ...] = (),
              report_only: bool = False, workers: int = 1,
              command: str = "skelkd reproduce",
              echo: Callable[[str], None] = print) -> Path:
    """Run (or resume) the cells of ``protocol`` selected by ``datasets`` and ``tables``,
    recording every finished run under ``results/PROTOCOL``, then write the results
    document from the records (``results/PROTOCOL/RESULTS.md`` unless ``doc``)."""
    from .report import write_report
    from .run import run_protocol

    if protocol not in PROTOCOLS:
        raise SkelkdError(f"unknown protocol '{protocol}'; known: {', '.join(PROTOCOLS)}")
    prot = PROTOCOLS[protocol]
    records = Path(results) / prot.name
    if not report_only:
        run_protocol(prot, select_cells(prot, datasets, tables), Path(data_dir), Path(runs),
                     records, workers, echo)
    out = write_report(prot, records, Path(doc) if doc else records / "RESULTS.md", command)
    echo(f"wrote {out}")
    return out
