"""Fitting many data sets with the same model (simulation studies).

The fixed-effects design of a whole chunk of data sets is built in one formulaic call (subjects
tagged by data set) and sliced per data set; each data set is then reduced to pattern moment
tensors, after which every likelihood evaluation is independent of the number of subjects.
Chunks have fixed boundaries, so ``executor="serial"`` and ``"processes"`` give identical
results.  A data set missing a visit or a factor level gets its own design.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import TaperwiseError, ValidationError
from taperwise.stats.mmrm.formula import Design, build_design, parse_formula
from taperwise.stats.mmrm.likelihood import build_problem
from taperwise.stats.mmrm.model import fit_problem, make_tester
from taperwise.stats.parallel import submit_all

_SEP = "\x1f"


def _pooled_designs(model: Any, frames: list[pd.DataFrame]) -> list[Design | None]:
    """Build one design for all frames (one formulaic call) and slice it per frame.

    A slice is ``None`` where it would not stand on its own (a visit or a factor level absent
    from that frame); such frames are designed separately.
    """
    parts = parse_formula(model.formula)
    tagged = []
    for k, frame in enumerate(frames):
        f = frame.copy()
        f[parts.subject] = f"{k}{_SEP}" + f[parts.subject].astype(str)
        tagged.append(f)
    pooled = build_design(
        pd.concat(tagged, ignore_index=True), parts, levels=model.levels, weights=model.weights
    )
    ds_of_subject = np.array([int(s.split(_SEP, 1)[0]) for s in pooled.subject_levels])
    ds_of_row = ds_of_subject[pooled.subject_codes]
    row_bounds = np.searchsorted(ds_of_row, np.arange(len(frames) + 1))
    sub_bounds = np.searchsorted(ds_of_subject, np.arange(len(frames) + 1))
    out: list[Design | None] = []
    for k in range(len(frames)):
        r0, r1 = row_bounds[k], row_bounds[k + 1]
        s0, s1 = sub_bounds[k], sub_bounds[k + 1]
        X = pooled.X[r0:r1]
        visits = pooled.visit_codes[r0:r1]
        if r1 == r0 or (
            pooled.coords is None and np.unique(visits).size < len(pooled.visit_levels)
        ):
            out.append(None)
            continue
        if np.any(~np.any(X != 0.0, axis=0)):
            out.append(None)
            continue
        out.append(
            replace(
                pooled,
                y=pooled.y[r0:r1],
                X=X,
                weights=pooled.weights[r0:r1],
                subject_codes=pooled.subject_codes[r0:r1] - s0,
                visit_codes=visits,
                group_codes=pooled.group_codes[r0:r1],
                coords=None if pooled.coords is None else pooled.coords[r0:r1],
                subject_levels=pooled.subject_levels[s0:s1],
                n_dropped=0,
            )
        )
    return out


def _fit_design(model: Any, design: Design, contrast: np.ndarray | None) -> dict[str, Any]:
    parts = parse_formula(model.formula)
    problem = build_problem(design, parts.cov_type, reml=model.reml)
    fit = fit_problem(problem, model.start)
    if not fit.ev:
        return {"converged": False, "error": "no valid starting value"}
    tester = make_tester(model, design, problem, fit)
    q = problem.n_coef
    tests = [tester.test_1d(np.eye(q)[j]) for j in range(q)]
    row: dict[str, Any] = {
        "converged": bool(fit.converged),
        "deviance": float(fit.ev["f"]),
        "coef": fit.ev["beta"],
        "se": np.array([t["se"] for t in tests]),
        "df": np.array([t["df"] for t in tests]),
        "names": design.column_names,
    }
    if contrast is not None:
        row["contrast"] = tester.test_1d(contrast)
    return row


def _fit_chunk(
    model: Any, frames: list[pd.DataFrame], contrast: np.ndarray | None
) -> list[dict[str, Any]]:
    try:
        designs: list[Design | None] = _pooled_designs(model, frames)
    except TaperwiseError:
        designs = [None] * len(frames)
    out = []
    parts = parse_formula(model.formula)
    for frame, design in zip(frames, designs, strict=True):
        try:
            if design is None:
                design = build_design(frame, parts, levels=model.levels, weights=model.weights)
            out.append(_fit_design(model, design, contrast))
        except (TaperwiseError, np.linalg.LinAlgError) as exc:  # a failed replicate is recorded
            out.append({"converged": False, "error": str(exc)})
    return out


def fit_many(
    model: Any,
    datasets: Sequence[pd.DataFrame],
    *,
    contrast: Sequence[float] | None = None,
    executor: str = "serial",
    workers: int = 2,
    chunk_size: int = 50,
    progress: Callable[[int, int], None] | None = None,
    coefficients: bool = False,
) -> pd.DataFrame:
    """Fit ``model`` to every data set; one summary row per data set.

    Parameters
    ----------
    model : MMRM
        The model (same formula and options for all data sets).
    datasets : sequence of DataFrame
        The data sets (e.g. simulated trials).
    contrast : sequence of float, optional
        A coefficient contrast tested in every fit (estimate, se, df, t, p columns).
    executor : {"serial", "processes"}
        Where to run; results are identical.
    workers, chunk_size : int
        Process count and fixed chunk size.
    progress : callable, optional
        Called with (done, total) after each chunk.
    coefficients : bool
        Also return every coefficient's estimate, se and df (columns ``NAME:estimate`` ...).

    Examples
    --------
    >>> from taperwise.stats.mmrm import MMRM, fit_many
    >>> table = fit_many(MMRM("y ~ arm * visit + us(visit | id)"), frames)  # doctest: +SKIP
    """
    if executor not in ("serial", "processes"):
        raise ValidationError(f"executor '{executor}' not supported; allowed: serial, processes")
    c = None if contrast is None else np.asarray(contrast, dtype=float)
    chunks = [list(datasets[i : i + chunk_size]) for i in range(0, len(datasets), chunk_size)]
    results: list[dict[str, Any]] = []
    if executor == "serial" or workers <= 1:
        for k, ch in enumerate(chunks):
            results.extend(_fit_chunk(model, ch, c))
            if progress:
                progress(min((k + 1) * chunk_size, len(datasets)), len(datasets))
    else:
        pool, futures = submit_all(_fit_chunk, ((model, ch, c) for ch in chunks), workers)
        with pool:
            for k, fut in enumerate(futures):
                results.extend(fut.result())
                if progress:
                    progress(min((k + 1) * chunk_size, len(datasets)), len(datasets))
    rows = []
    for i, r in enumerate(results):
        row = {"dataset": i, "converged": r["converged"], "deviance": r.get("deviance", np.nan)}
        if "coef" in r and coefficients:
            for name, est, se, df in zip(r["names"], r["coef"], r["se"], r["df"], strict=True):
                row.update({f"{name}:estimate": est, f"{name}:se": se, f"{name}:df": df})
        if "contrast" in r:
            row.update({f"contrast_{k}": v for k, v in r["contrast"].items()})
        if "error" in r:
            row["error"] = r["error"]
        rows.append(row)
    return pd.DataFrame(rows)
