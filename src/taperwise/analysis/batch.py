"""The primary analysis of many datasets (simulation studies), serially or in processes.

Chunk boundaries are fixed by ``chunk_size``, every dataset is analysed independently and no
random numbers are drawn, so ``executor="serial"`` and ``"processes"`` give identical results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import TaperwiseError, ValidationError
from taperwise.stats.parallel import submit_all


def _chunk(datasets: list[AnalysisDataset], plan: Any, full: bool) -> list[dict[str, Any]]:
    from taperwise.analysis.pipeline import run_primary

    out = []
    for ds in datasets:
        try:
            out.append(run_primary(ds, plan, full=full))
        except TaperwiseError as exc:  # a failed replicate is recorded, not fatal
            out.append({"error": str(exc), "contrasts": []})
    return out


def run_primary_many(
    datasets: Sequence[AnalysisDataset],
    protocol: Any,
    *,
    executor: str = "serial",
    workers: int = 2,
    chunk_size: int = 25,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_primary` on every dataset; one ``primary`` block (or ``{"error"}``) each.

    Examples
    --------
    >>> from taperwise.analysis import synthetic_dataset, synthetic_sap
    >>> blocks = run_primary_many([synthetic_dataset(n_per_arm=8, seed=s) for s in (1, 2)],
    ...                           synthetic_sap(days=[1, 2]))
    >>> len(blocks), blocks[0]["contrasts"][0]["vs"]
    (2, 'PBO')
    """
    if executor not in ("serial", "processes"):
        raise ValidationError(f"executor '{executor}' not supported; allowed: serial, processes")
    items = list(datasets)
    chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
    results: list[dict[str, Any]] = []
    if executor == "serial" or workers <= 1:
        for ch in chunks:
            results.extend(_chunk(ch, protocol, full))
            if progress:
                progress(len(results), len(items))
        return results
    pool, futures = submit_all(_chunk, ((ch, protocol, full) for ch in chunks), workers)
    with pool:
        for fut in futures:
            results.extend(fut.result())
            if progress:
                progress(len(results), len(items))
    return results
