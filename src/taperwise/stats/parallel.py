"""Worker processes for many small fits: spawned, with single-threaded BLAS.

Batched MMRM fits, simulated trials and batched trial analyses all work on tiny matrices, where a
threaded BLAS in each of several processes only oversubscribes the cores. Workers are therefore
spawned (not forked: safe with threads and DuckDB/Dask in the parent) while the BLAS thread
variables are set to 1; the parent's environment is restored afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, processes started by this one get one BLAS thread each."""
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: "1" for k in THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def submit_all(
    fn: Callable[..., Any], arg_tuples: Iterable[tuple], workers: int
) -> tuple[ProcessPoolExecutor, list[Future]]:
    """Start a spawned pool of ``workers`` processes and submit ``fn(*args)`` for each tuple.

    Submission happens inside :func:`single_threaded_blas` because the pool starts its worker
    processes on submit. Use the returned pool as a context manager to shut it down.
    """
    with single_threaded_blas():
        pool = ProcessPoolExecutor(
            max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
        )
        futures = [pool.submit(fn, *args) for args in arg_tuples]
    return pool, futures
