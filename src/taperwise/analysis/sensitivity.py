"""Sensitivity analyses of the primary estimand.

``no_gi_items``
    The primary MMRM on totals recomputed without the instrument's GI items (the magnesium
    citrate confound, DESIGN.md §4).
``per_protocol``
    Participants who completed and received at least one dose (when doses are recorded).
``complete_case``
    Participants with a score on every primary day.
``stage_stratum``
    The primary model with stage of withdrawal at first dose as an extra factor.
``tipping_point``
    Delta-adjusted multiple imputation (:mod:`taperwise.analysis.tipping`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from taperwise.analysis.prepare import _truthy, analysis_frame, gi_keys_of, population
from taperwise.analysis.primary import PrimaryFit, fit_primary, summarise
from taperwise.analysis.tipping import tipping_point
from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import TaperwiseError

log = logging.getLogger(__name__)

KNOWN = ("no_gi_items", "per_protocol", "complete_case", "stage_stratum", "tipping_point")
#: Run on every SAP (issue 6), whatever the protocol lists; the protocol may add ``complete_case``.
ALWAYS = ("no_gi_items", "per_protocol", "stage_stratum", "tipping_point")


def _refit(ds, ctx, *, frame=None, pop=None, no_gi=False, extra=()) -> dict[str, Any]:
    if frame is None:
        frame, kept = analysis_frame(
            ds,
            instrument=ctx["instrument"],
            days=ctx["days"],
            covariates=ctx["covariates"],
            no_gi=no_gi,
            pop=pop,
            extra_factors=extra,
        )
    else:
        kept = ctx["kept"]
    fit = fit_primary(
        frame,
        covariates=kept,
        control=ctx["control"],
        days=ctx["days"],
        structures=ctx["structures"],
        order=ctx.get("order"),
    )
    out = summarise(fit, ctx["alpha"], instrument=ctx["instrument"], full=False)
    out.pop("contrasts_by_day", None)
    return out


def no_gi_items(ds: AnalysisDataset, ctx: dict[str, Any], **_: Any) -> dict[str, Any]:
    keys = gi_keys_of(ctx["instrument"])
    if not keys:
        return {"skipped": f"instrument '{ctx['instrument']}' has no GI items"}
    out = _refit(ds, ctx, no_gi=True)
    out["gi_items_removed"] = list(keys)
    return out


def per_protocol(ds: AnalysisDataset, ctx: dict[str, Any], **_: Any) -> dict[str, Any]:
    pop = population(ds)
    keep = pop["completed"].astype(bool)
    rule = "completed"
    doses = ds.doses
    if not doses.empty:
        given = (
            doses.loc[doses["given"].map(_truthy).astype(bool), "participant"].astype(str).unique()
        )
        keep &= pop["participant"].isin(given)
        rule = "completed and received at least one dose"
    out = _refit(ds, ctx, pop=pop.loc[keep])
    out["definition"] = rule
    return out


def complete_case(
    ds: AnalysisDataset, ctx: dict[str, Any], *, frame: pd.DataFrame, fit: PrimaryFit, **_: Any
) -> dict[str, Any]:
    n_days = frame.groupby("participant")["daynum"].nunique()
    full = n_days.index[n_days == len(fit.days)]
    out = _refit(ds, ctx, frame=frame.loc[frame["participant"].isin(full)])
    out["definition"] = "score on every primary day"
    return out


def stage_stratum(ds: AnalysisDataset, ctx: dict[str, Any], **_: Any) -> dict[str, Any]:
    frame, kept = analysis_frame(
        ds,
        instrument=ctx["instrument"],
        days=ctx["days"],
        covariates=ctx["covariates"],
        extra_factors=("stage",),
    )
    if "stage" not in kept:
        return {"skipped": "stage at first dose is not recorded or is the same for everyone"}
    out = _refit(ds, {**ctx, "kept": kept}, frame=frame)
    out["levels"] = sorted(frame["stage"].unique())
    return out


def tipping(
    ds: AnalysisDataset, ctx: dict[str, Any], *, frame: pd.DataFrame, fit: PrimaryFit, **_: Any
) -> dict[str, Any]:
    return tipping_point(
        fit, frame, alpha=ctx["alpha"], seed=ctx["seed"], n_imputations=ctx.get("n_imputations", 20)
    )


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "no_gi_items": no_gi_items,
    "per_protocol": per_protocol,
    "complete_case": complete_case,
    "stage_stratum": stage_stratum,
    "tipping_point": tipping,
}


def run_sensitivity(
    ds: AnalysisDataset,
    ctx: dict[str, Any],
    names: list[str],
    *,
    frame: pd.DataFrame,
    fit: PrimaryFit,
) -> dict[str, Any]:
    """Run each named analysis; failures are reported in the block, never raised."""
    out: dict[str, Any] = {}
    for name in names:
        runner = RUNNERS.get(name)
        if runner is None:
            out[name] = {"skipped": f"unknown sensitivity analysis; known: {', '.join(KNOWN)}"}
            continue
        try:
            out[name] = runner(ds, ctx, frame=frame, fit=fit)
        except TaperwiseError as exc:
            log.info("sensitivity %s failed: %s", name, exc)
            out[name] = {"error": str(exc)}
    return out
