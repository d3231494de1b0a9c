"""``run_sap``: the protocol's statistical analysis plan on an analysis dataset."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

from taperwise.analysis import consort as _consort
from taperwise.analysis import safety as _safety
from taperwise.analysis import secondary as _sec
from taperwise.analysis.prepare import analysis_frame, instrument_rows, population, wide_scores
from taperwise.analysis.primary import PrimaryFit, fit_primary, summarise
from taperwise.analysis.result import AnalysisResult
from taperwise.analysis.sensitivity import ALWAYS, run_sensitivity
from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import TaperwiseError, ValidationError
from taperwise.protocol import SAP, Protocol, SafetyParams
from taperwise.provenance import provenance

log = logging.getLogger(__name__)


def _plan(protocol: Protocol | SAP) -> tuple[SAP, SafetyParams, list[dict[str, Any]]]:
    if isinstance(protocol, Protocol):
        arms = [{"id": a.id, "name": a.name, "drug_class": a.drug_class} for a in protocol.arms]
        return protocol.sap, protocol.safety, arms
    if isinstance(protocol, SAP):
        return protocol, SafetyParams(), []
    raise ValidationError(f"run_sap needs a Protocol or an SAP, got {type(protocol).__name__}")


def _arm_order(pop: pd.DataFrame, control: str, declared: list[dict[str, Any]]) -> list[str]:
    present = list(pd.unique(pop["arm"]))
    if control not in present:
        raise ValidationError(
            f"control arm '{control}' (sap.control_arm) has no randomised participants; "
            f"arms in the dataset: {', '.join(sorted(present)) or 'none'}"
        )
    order = [a["id"] for a in declared if a["id"] in present]
    order += sorted(a for a in present if a not in order)
    return [control, *[a for a in order if a != control]]


def _context(sap: SAP, seed: int, kept: list[str] | None = None) -> dict[str, Any]:
    return {
        "instrument": sap.primary_instrument,
        "days": list(sap.primary_days),
        "covariates": list(sap.covariates),
        "control": sap.control_arm,
        "structures": [sap.covariance, *sap.covariance_fallbacks],
        "alpha": sap.alpha,
        "seed": seed,
        "kept": kept,
    }


def run_primary(
    dataset: AnalysisDataset, protocol: Protocol | SAP, *, full: bool = False
) -> dict[str, Any]:
    """Fast path: the ``primary`` block only (overall contrasts; per-day and LS means if ``full``).

    Used by simulation studies thousands of times; it computes nothing else.

    Examples
    --------
    >>> from taperwise.analysis import run_primary, synthetic_dataset, synthetic_sap
    >>> block = run_primary(synthetic_dataset(n_per_arm=10, seed=2), synthetic_sap(days=[1, 2]))
    >>> block["contrasts"][0]["vs"]
    'PBO'
    """
    sap, _, declared = _plan(protocol)
    _check_blinded(dataset)
    frame, kept = analysis_frame(
        dataset,
        instrument=sap.primary_instrument,
        days=list(sap.primary_days),
        covariates=list(sap.covariates),
    )
    fit = fit_primary(
        frame,
        covariates=kept,
        control=sap.control_arm,
        days=list(sap.primary_days),
        structures=[sap.covariance, *sap.covariance_fallbacks],
        order=[a["id"] for a in declared],
    )
    return summarise(fit, sap.alpha, instrument=sap.primary_instrument, full=full)


def _check_blinded(ds: AnalysisDataset) -> None:
    if ds.meta.get("blinded"):
        raise ValidationError(
            "the dataset is blinded (arms are blinded labels); the SAP compares arms with the "
            "control arm, so export it unblinded (export --format analysis without --blinded)"
        )


def run_sap(
    dataset: AnalysisDataset,
    protocol: Protocol | SAP,
    *,
    sensitivity: bool = True,
    report: bool = False,
    seed: int = 2026,
    n_imputations: int = 20,
) -> AnalysisResult:
    """Run the SAP of ``protocol`` on ``dataset``.

    Parameters
    ----------
    dataset : AnalysisDataset
        From the store export, a dataset folder, the CTN-0094 reader or the simulator.
    protocol : Protocol or SAP
        The study protocol (arms, safety limits, SAP) or just an SAP (arms then come from the data
        and safety limits are the defaults).
    sensitivity : bool
        Run the sensitivity analyses (no-GI items, per-protocol, stage stratum, tipping point and
        any other the SAP lists).
    report : bool
        Also render the HTML report (``result.report_html``).
    seed : int
        Seed of the multiple imputation in the tipping-point analysis.
    n_imputations : int
        Imputations per delta in the tipping-point analysis.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    ValidationError
        Blinded dataset, unknown control arm or covariate, fewer than two arms with scores.
    ConvergenceError
        No pre-specified covariance structure converged for the primary model.

    Examples
    --------
    >>> from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
    >>> res = run_sap(synthetic_dataset(n_per_arm=10, seed=2), synthetic_sap(days=[1, 2]),
    ...               sensitivity=False)
    >>> res.primary["covariance"]
    'us'
    """
    t0 = time.perf_counter()
    sap, safety, declared = _plan(protocol)
    _check_blinded(dataset)
    notes: list[str] = []
    pop = population(dataset)
    if pop.empty:
        raise ValidationError("the dataset has no randomised participants with an arm")
    arms = _arm_order(pop, sap.control_arm, declared)
    alpha = sap.alpha
    frame, kept = analysis_frame(
        dataset,
        instrument=sap.primary_instrument,
        days=list(sap.primary_days),
        covariates=list(sap.covariates),
        pop=pop,
    )
    for cov in sap.covariates:
        if cov not in kept:
            notes.append(f"covariate '{cov}' left out of the MMRM (constant or not recorded)")
    fit: PrimaryFit | None = None
    primary: dict[str, Any] | None
    try:
        fit = fit_primary(
            frame,
            covariates=kept,
            control=sap.control_arm,
            days=list(sap.primary_days),
            structures=[sap.covariance, *sap.covariance_fallbacks],
            order=arms,
        )
        primary = summarise(fit, alpha, instrument=sap.primary_instrument)
        if fit.covariance != sap.covariance:
            notes.append(
                f"pre-specified covariance '{sap.covariance}' did not converge; "
                f"'{fit.covariance}' used (covariance_fallbacks)"
            )
        if fit.dropped_days:
            notes.append(f"primary days without scores in every arm left out: {fit.dropped_days}")
    except TaperwiseError as exc:
        primary = {
            "error": str(exc),
            "endpoint": {"instrument": sap.primary_instrument, "days": list(sap.primary_days)},
            "covariance": None,
            "contrasts": [],
        }
        notes.append(f"primary analysis failed: {exc}")
    times = _sec.dropout_times(
        pop,
        instrument_rows(dataset, sap.primary_instrument)
        .groupby("participant")["day"]
        .max()
        .astype(float),
    )
    wide = wide_scores(frame, fit.days if fit else list(sap.primary_days))
    scores = _sec.score_endpoints(
        wide,
        pop.set_index("participant")["arm"],
        pop,
        arms,
        alpha,
        threshold=sap.responder_threshold,
    )
    thresholds = {
        "sbp_below": safety.alpha2_hold_sbp_below,
        "dbp_below": safety.alpha2_hold_dbp_below,
        "hr_below": safety.alpha2_hold_hr_below,
    }
    sens = None
    if sensitivity and fit is not None:
        names = list(dict.fromkeys([*ALWAYS, *sap.sensitivity]))
        ctx = {**_context(sap, seed, kept), "n_imputations": n_imputations, "order": arms}
        sens = run_sensitivity(dataset, ctx, names, frame=frame, fit=fit)
    arm_info = [{"id": a, **next((d for d in declared if d["id"] == a), {"name": a})} for a in arms]
    for a in arm_info:
        a.setdefault("name", a["id"])
    result = AnalysisResult(
        study=dataset.meta.get("study"),
        arms=arm_info,
        primary=primary,
        completion=_sec.completion(pop, arms, alpha),
        time_to_dropout=_sec.time_to_dropout(times, arms, alpha),
        scores=scores,
        trajectories=_sec.observed_trajectories(frame, alpha),
        adverse_events=_safety.adverse_events(dataset.adverse_events, pop, arms),
        holds=_safety.holds(dataset.doses, dataset.vitals, pop, arms, thresholds),
        alerts=_safety.alerts(dataset.alerts, pop, arms),
        consort=_consort.consort(
            dataset, pop, arms, frame.loc[frame["daynum"].isin(fit.days)] if fit else None
        ),
        sensitivity=sens,
        notes=notes,
        provenance=provenance(
            {"sap": sap.model_dump(), "sensitivity": sensitivity, "n_imputations": n_imputations},
            seed,
            engine="taperwise.analysis",
            dataset={
                k: dataset.meta.get(k)
                for k in (
                    "study",
                    "source",
                    "protocol_id",
                    "protocol_version",
                    "protocol_sha256",
                    "blinded",
                    "created",
                    "written",
                )
                if k in dataset.meta
            },
            protocol=(
                {"id": protocol.id, "version": protocol.version}
                if isinstance(protocol, Protocol)
                else None
            ),
            seconds=round(time.perf_counter() - t0, 3),
        ),
    )
    if report:
        from dataclasses import replace

        from taperwise.report.trial import render_report

        result = replace(result, report_html=render_report(result))
    return result
