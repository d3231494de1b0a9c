"""The primary analysis: an MMRM of the daily score with arm x day, the SAP's covariates and the
pre-specified covariance, falling back along ``covariance_fallbacks`` when a fit fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.errors import ConvergenceError, TaperwiseError, ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrimaryFit:
    """The MMRM that was kept and what was tried on the way."""

    result: Any  # MMRMResult
    formula: str
    covariance: str
    tried: list[dict[str, Any]]
    arms: list[str]
    days: list[int]
    covariates: list[str]
    dropped_days: list[int]


def usable_days(
    frame: pd.DataFrame, arms: list[str], days: list[int]
) -> tuple[list[int], list[int]]:
    """Days on which every arm has at least one score (others would make arm x day inestimable)."""
    counts = frame.groupby(["daynum", "arm"]).size().unstack(fill_value=0)
    keep, drop = [], []
    for d in days:
        ok = d in counts.index and all(counts.loc[d].get(a, 0) > 0 for a in arms)
        (keep if ok else drop).append(d)
    return keep, drop


def build_formula(covariates: list[str], n_days: int, structure: str) -> str:
    """``score ~ covariates + arm * day + cov(day | participant)`` (``arm`` only for one day)."""
    fixed = [*covariates, "arm * day" if n_days > 1 else "arm"]
    return f"score ~ {' + '.join(fixed)} + {structure}(day | participant)"


def fit_primary(
    frame: pd.DataFrame,
    *,
    covariates: list[str],
    control: str,
    days: list[int],
    structures: list[str],
    order: list[str] | None = None,
) -> PrimaryFit:
    """Fit the MMRM with the first covariance structure that converges.

    Raises
    ------
    ConvergenceError
        When no structure converges.
    ValidationError
        When the control arm or a second arm has no scores.
    """
    from taperwise.stats.mmrm import MMRM

    arms_present = sorted(frame["arm"].unique())
    if control not in arms_present:
        raise ValidationError(
            f"control arm '{control}' has no scores on the primary days; arms with scores: "
            f"{', '.join(arms_present) or 'none'}"
        )
    rest = [a for a in (order or []) if a in arms_present and a != control]
    arms = [control, *rest, *[a for a in arms_present if a != control and a not in rest]]
    if len(arms) < 2:
        raise ValidationError("the primary analysis needs scores in at least two arms")
    keep, dropped = usable_days(frame, arms, days)
    if not keep:
        raise ValidationError("no primary day has scores in every arm")
    data = frame.loc[frame["daynum"].isin(keep)]
    levels = {"arm": arms, "day": [str(d) for d in keep]}
    for cov in covariates:
        if cov != "baseline":
            levels[cov] = sorted(data[cov].astype(str).unique())
    tried: list[dict[str, Any]] = []
    seen: list[str] = []
    for structure in structures:
        if structure in seen:
            continue
        seen.append(structure)
        if len(keep) == 1 and structure != structures[0]:
            break  # with one day every structure is the same variance
        formula = build_formula(covariates, len(keep), structure)
        try:
            res = MMRM(formula, reml=True, df="satterthwaite", levels=levels).fit(data)
        except (ConvergenceError, np.linalg.LinAlgError, TaperwiseError) as exc:
            tried.append({"structure": structure, "converged": False, "error": str(exc)})
            log.info("MMRM %s failed: %s", structure, exc)
            continue
        tried.append(
            {"structure": structure, "converged": res.converged, "max_gradient": res.max_gradient}
        )
        if res.converged:
            return PrimaryFit(res, formula, structure, tried, arms, keep, covariates, dropped)
    raise ConvergenceError(
        "primary MMRM did not converge with any pre-specified covariance ("
        + "; ".join(f"{t['structure']}: {t.get('error', 'not converged')}" for t in tried)
        + ")"
    )


def _row(r: pd.Series, control: str, alpha: float) -> dict[str, Any]:
    arm = str(r["contrast"]).split(" - ")[0]
    tq = stats.t.ppf(1 - alpha / 2, r["df"])
    return {
        "arm": arm,
        "vs": control,
        "estimate": float(r["estimate"]),
        "se": float(r["se"]),
        "ci_lb": float(r["estimate"] - tq * r["se"]),
        "ci_ub": float(r["estimate"] + tq * r["se"]),
        "pval": float(r["p"]),
        "df": float(r["df"]),
    }


def contrasts(fit: PrimaryFit, alpha: float, *, by_day: bool = True) -> dict[str, Any]:
    """LS-mean differences vs control averaged over days (and per day) with ``1 - alpha`` CIs."""
    res, control = fit.result, fit.arms[0]
    overall = [_row(r, control, alpha) for _, r in res.lsmeans_diff("arm").iterrows()]
    out: dict[str, Any] = {"contrasts": overall}
    if by_day and len(fit.days) > 1:
        per = res.lsmeans_diff("arm", at="day")
        out["contrasts_by_day"] = [
            {**_row(r, control, alpha), "day": int(r["day"])} for _, r in per.iterrows()
        ]
    elif by_day:
        out["contrasts_by_day"] = [{**c, "day": fit.days[0]} for c in overall]
    return out


def lsmeans_table(fit: PrimaryFit, alpha: float) -> list[dict[str, Any]]:
    """LS means by arm and day with ``1 - alpha`` CIs (for the trajectory chart)."""
    by = ["arm", "day"] if len(fit.days) > 1 else ["arm"]
    table = fit.result.lsmeans(by=by, level=1 - alpha)
    rows = []
    for _, r in table.iterrows():
        rows.append(
            {
                "arm": str(r["arm"]),
                "day": int(r["day"]) if "day" in r else fit.days[0],
                "estimate": float(r["estimate"]),
                "se": float(r["se"]),
                "ci_lb": float(r["lower"]),
                "ci_ub": float(r["upper"]),
            }
        )
    return rows


def summarise(fit: PrimaryFit, alpha: float, *, instrument: str, full: bool = True) -> dict:
    """The ``primary`` block of results.json."""
    res = fit.result
    out: dict[str, Any] = {
        "endpoint": {
            "instrument": instrument,
            "days": fit.days,
            "estimand": "LS-mean difference vs control averaged over the primary days",
        },
        "covariance": fit.covariance,
        "covariance_tried": fit.tried,
        "formula": fit.formula,
        "covariates": fit.covariates,
        "dropped_days": fit.dropped_days,
        "n_participants": int(res.n_subjects),
        "n_obs": int(res.n_obs),
        "converged": bool(res.converged),
        "alpha": alpha,
        **contrasts(fit, alpha, by_day=full),
    }
    if full:
        out["lsmeans"] = lsmeans_table(fit, alpha)
    return out
