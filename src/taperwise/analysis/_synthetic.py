"""A small analysis-dataset generator with KNOWN arm effects (tests, examples, benchmarks).

The score is continuous (not a valid COWS total): it is meant to check the statistics, not the
instrument rules. Each participant has a day-0 baseline, scores on days ``1..n_days`` with an
AR(1) correlation, and may drop out at random given the previous observed score (MAR) or
completely at random. The true effect of every non-control arm is a constant shift on every
day, so the LS-mean difference averaged over days equals ``effects[arm]`` exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from taperwise.analysis_dataset import AnalysisDataset

#: Mean score of the control arm by day (rises to a peak on day 2-3, then falls).
_CONTROL_CURVE = (14.0, 16.0, 15.0, 12.0, 10.0, 8.0, 7.0, 6.0, 5.0, 5.0, 4.0, 4.0, 4.0, 4.0)


def synthetic_dataset(
    *,
    n_per_arm: int = 30,
    effects: dict[str, float] | None = None,
    control: str = "PBO",
    n_days: int = 7,
    sd: float = 4.0,
    rho: float = 0.6,
    baseline_slope: float = 0.5,
    dropout: float = 0.05,
    dropout_slope: float = 0.15,
    gi_shift: dict[str, float] | None = None,
    sites: tuple[str, ...] = ("site_a", "site_b"),
    instrument: str = "cows",
    seed: int = 0,
) -> AnalysisDataset:
    """Simulate an analysis dataset whose true arm effects are known.

    Parameters
    ----------
    n_per_arm : int
        Participants per arm.
    effects : dict
        True shift of each non-control arm on every day (default ``{"ACT": -3.0}``).
    control : str
        Control arm id (effect 0).
    n_days : int
        Scored days ``1..n_days`` (at most 14).
    sd, rho : float
        Residual SD and AR(1) day-to-day correlation.
    baseline_slope : float
        Regression of the daily score on the centred baseline.
    dropout, dropout_slope : float
        Daily dropout probability is ``logistic(logit(dropout) + dropout_slope * (y_prev - 12))``
        (missing at random given the last observed score); ``dropout_slope=0`` is MCAR.
    gi_shift : dict, optional
        Extra score added to the GI item per arm (a laxative confound); the no-GI subtotal is
        unaffected, so the no-GI analysis recovers ``effects`` while the total does not.
    sites : tuple of str
        Sites assigned in turn.
    instrument : str
        Instrument id written in the assessments (items: ``gi_upset`` + ``other``).
    seed : int
        Random seed.

    Examples
    --------
    >>> ds = synthetic_dataset(n_per_arm=5, seed=1)
    >>> sorted(ds.participants["arm"].unique())
    ['ACT', 'PBO']
    """
    effects = {"ACT": -3.0} if effects is None else dict(effects)
    gi_shift = dict(gi_shift or {})
    rng = np.random.default_rng(seed)
    arms = [control, *[a for a in effects if a != control]]
    curve = np.asarray(_CONTROL_CURVE[:n_days])
    lag = np.abs(np.subtract.outer(np.arange(n_days), np.arange(n_days)))
    chol = np.linalg.cholesky(sd**2 * rho**lag)
    base_logit = np.log(dropout / (1 - dropout)) if dropout > 0 else -np.inf
    parts, assess, doses, aes, vitals, alerts = [], [], [], [], [], []
    pid = 0
    for arm in arms:
        eff = effects.get(arm, 0.0)
        for _ in range(n_per_arm):
            pid += 1
            code = f"P{pid:04d}"
            site = sites[pid % len(sites)]
            baseline = float(rng.normal(12.0, 3.0))
            y = curve + eff + baseline_slope * (baseline - 12.0) + chol @ rng.normal(size=n_days)
            last = n_days
            for d in range(1, n_days):
                if base_logit == -np.inf:
                    break
                p = 1.0 / (1.0 + np.exp(-(base_logit + dropout_slope * (y[d - 1] - 12.0))))
                if rng.random() < p:
                    last = d
                    break
            completed = last == n_days
            stage = "early" if rng.random() < 0.5 else "peak"
            common = {"study": "synthetic", "participant": code, "arm": arm}
            parts.append(
                {
                    **common,
                    "site": site,
                    "arm_label": arm,
                    "strata": f"site={site}",
                    "opioid_class": "short_acting",
                    "randomised": True,
                    "randomised_at": None,
                    "first_dose_at": None,
                    "completed": completed,
                    "exit_day": last,
                    "exit_reason": "completed" if completed else "withdrew_consent",
                }
            )
            rows = [(0, baseline, stage, "baseline")] + [
                (d + 1, float(y[d]), None, "daily") for d in range(last)
            ]
            for day, total, stg, visit in rows:
                gi = float(np.clip(rng.normal(1.0, 0.5), 0, None))
                if day >= 1:
                    gi += gi_shift.get(arm, 0.0)
                total_all = total + (gi_shift.get(arm, 0.0) if day >= 1 else 0.0)
                assess.append(
                    {
                        **common,
                        "site": site,
                        "strata": f"site={site}",
                        "day": day,
                        "hours_since_first_dose": 24.0 * (day - 1),
                        "hours_since_last_opioid": 24.0 * day + 12.0,
                        "stage": stg,
                        "visit": f"day{day}:{visit}",
                        "instrument": instrument,
                        "version": "synthetic",
                        "total": total_all,
                        "subtotal_no_gi": total_all - gi,
                        "complete": True,
                        "gi_attributed_to_product": bool(gi_shift.get(arm, 0.0) > 0 and day >= 1),
                        "items": json.dumps({"gi_upset": gi, "other": total_all - gi}),
                    }
                )
            for day in range(1, last + 1):
                held = bool(rng.random() < 0.05)
                doses.append(
                    {
                        **common,
                        "day": day,
                        "hours_since_first_dose": 24.0 * (day - 1),
                        "amount": 1.0,
                        "unit": "capsule",
                        "given": not held,
                        "hold_reason": "SBP below 90 mmHg" if held else None,
                    }
                )
                vitals.append(
                    {
                        **common,
                        "day": day,
                        "hours_since_first_dose": 24.0 * (day - 1),
                        "sbp": float(rng.normal(115, 12)),
                        "dbp": float(rng.normal(72, 8)),
                        "hr": float(rng.normal(80, 10)),
                        "symptomatic": False,
                    }
                )
            if rng.random() < 0.3:
                grade = int(rng.integers(1, 4))
                aes.append(
                    {
                        **common,
                        "day": int(rng.integers(1, last + 1)),
                        "term": str(rng.choice(["Diarrhoea", "Nausea", "Insomnia", "Headache"])),
                        "grade": grade,
                        "serious": grade >= 3 and rng.random() < 0.3,
                        "related": "possible",
                        "outcome": "recovered",
                        "led_to_discontinuation": not completed and rng.random() < 0.3,
                    }
                )
            if rng.random() < 0.2:
                alerts.append(
                    {
                        **common,
                        "day": 1,
                        "rule_id": "cows.severe",
                        "severity": "urgent",
                        "acknowledged": True,
                    }
                )
    return AnalysisDataset(
        participants=pd.DataFrame(parts),
        assessments=pd.DataFrame(assess),
        doses=pd.DataFrame(doses),
        adverse_events=pd.DataFrame(aes) if aes else None,
        vitals=pd.DataFrame(vitals),
        alerts=pd.DataFrame(alerts) if alerts else None,
        meta={
            "study": "synthetic",
            "source": "taperwise.analysis._synthetic",
            "true_effects": effects,
            "seed": seed,
        },
    )
