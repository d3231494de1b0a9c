"""Secondary endpoints: completion, time to dropout, peak score, AUC, responders."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- proportions
def wilson(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson score interval for ``x / n``."""
    if n == 0:
        return (np.nan, np.nan)
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def risk_difference(x1: int, n1: int, x0: int, n0: int, alpha: float) -> dict[str, float]:
    """``p1 - p0`` with Newcombe's hybrid score interval (method 10) and a Wald-z p value."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1, alpha)
    l0, u0 = wilson(x0, n0, alpha)
    d = p1 - p0
    lo = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    pooled = (x1 + x0) / (n1 + n0)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    p = float(2 * stats.norm.sf(abs(d) / se0)) if se0 > 0 else 1.0
    return {"estimate": float(d), "ci_lb": float(lo), "ci_ub": float(hi), "pval": p}


def risk_ratio(x1: int, n1: int, x0: int, n0: int, alpha: float) -> dict[str, float]:
    """``p1 / p0`` with the log (Katz) interval; 0.5 is added to every cell when one is zero."""
    a, b, c, d = x1, n1 - x1, x0, n0 - x0
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    rr = (a / (a + b)) / (c / (c + d))
    se = np.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    z = stats.norm.ppf(1 - alpha / 2)
    return {
        "estimate": float(rr),
        "ci_lb": float(rr * np.exp(-z * se)),
        "ci_ub": float(rr * np.exp(z * se)),
        "pval": float(2 * stats.norm.sf(abs(np.log(rr)) / se)),
    }


def completion(pop: pd.DataFrame, arms: list[str], alpha: float) -> dict[str, Any]:
    """Completers by arm; risk difference and ratio of each arm vs control (``arms[0]``)."""
    by_arm = {}
    for arm in arms:
        sub = pop.loc[pop["arm"] == arm, "completed"]
        n, x = int(len(sub)), int(sub.sum())
        lo, hi = wilson(x, n, alpha)
        by_arm[arm] = {
            "n": n,
            "completed": x,
            "proportion": x / n if n else None,
            "ci_lb": lo,
            "ci_ub": hi,
        }
    control = arms[0]
    comps = []
    c0 = by_arm[control]
    for arm in arms[1:]:
        c1 = by_arm[arm]
        if not c1["n"] or not c0["n"]:
            continue
        comps.append(
            {
                "arm": arm,
                "vs": control,
                "risk_difference": risk_difference(
                    c1["completed"], c1["n"], c0["completed"], c0["n"], alpha
                ),
                "risk_ratio": risk_ratio(c1["completed"], c1["n"], c0["completed"], c0["n"], alpha),
            }
        )
    return {
        "by_arm": by_arm,
        "comparisons": comps,
        "method": "RD: Newcombe hybrid score CI; RR: log (Katz) CI",
    }


# ---------------------------------------------------------------------------- time to dropout
def dropout_times(pop: pd.DataFrame, last_day: pd.Series) -> pd.DataFrame:
    """Time (study day of exit) and event (1 = dropped out, 0 = completed/censored)."""
    t = pd.to_numeric(pop["exit_day"], errors="coerce")
    t = t.fillna(pop["participant"].map(last_day)).fillna(1.0).clip(lower=0.5)
    return pd.DataFrame(
        {
            "arm": pop["arm"].to_numpy(),
            "time": t.to_numpy(dtype=float),
            "event": (~pop["completed"].astype(bool)).astype(int).to_numpy(),
        }
    )


def time_to_dropout(times: pd.DataFrame, arms: list[str], alpha: float) -> dict[str, Any]:
    """Kaplan-Meier by arm, log-rank test across arms, Cox HR of dropout vs control."""
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    km: dict[str, Any] = {}
    for arm in arms:
        sub = times.loc[times["arm"] == arm]
        if sub.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["time"], sub["event"], label=arm)
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        median = kmf.median_survival_time_
        km[arm] = {
            "time": [float(v) for v in sf.index],
            "survival": [float(v) for v in sf.to_numpy()],
            "ci_lb": [float(v) for v in ci.iloc[:, 0].to_numpy()],
            "ci_ub": [float(v) for v in ci.iloc[:, 1].to_numpy()],
            "n": int(len(sub)),
            "events": int(sub["event"].sum()),
            "median": float(median) if np.isfinite(median) else None,
        }
    out: dict[str, Any] = {
        "km": km,
        "logrank_p": None,
        "hazard_ratios": [],
        "event": "dropout (not completed); completers censored at exit day",
    }
    if times["event"].sum() == 0 or times["arm"].nunique() < 2:
        return out
    lr = multivariate_logrank_test(times["time"], times["arm"], times["event"])
    out["logrank_p"] = float(lr.p_value)
    out["logrank_chisq"] = float(lr.test_statistic)
    design = pd.DataFrame({"time": times["time"], "event": times["event"]})
    for arm in arms[1:]:
        design[f"arm_{arm}"] = (times["arm"] == arm).astype(float)
    design = design.loc[:, (design != 0).any(axis=0) | design.columns.isin(["event"])]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter(alpha=alpha).fit(design, "time", "event")
    except Exception as exc:  # noqa: BLE001 - lifelines raises several types on separation
        log.info("Cox model failed: %s", exc)
        out["cox_error"] = str(exc).splitlines()[0]
        return out
    summ = cph.summary
    for arm in arms[1:]:
        key = f"arm_{arm}"
        if key not in summ.index:
            continue
        r = summ.loc[key]
        out["hazard_ratios"].append(
            {
                "arm": arm,
                "vs": arms[0],
                "estimate": float(r["exp(coef)"]),
                "ci_lb": float(np.exp(r.filter(like="lower").iloc[0])),
                "ci_ub": float(np.exp(r.filter(like="upper").iloc[0])),
                "pval": float(r["p"]),
            }
        )
    out["cox_ties"] = "Efron"
    return out


# ---------------------------------------------------------------------------- score summaries
def mean_difference(values: pd.DataFrame, arms: list[str], alpha: float) -> list[dict]:
    """Welch mean difference of ``value`` of each arm vs control with its CI."""
    out = []
    x0 = values.loc[values["arm"] == arms[0], "value"].dropna().to_numpy()
    for arm in arms[1:]:
        x1 = values.loc[values["arm"] == arm, "value"].dropna().to_numpy()
        if len(x1) < 2 or len(x0) < 2:
            continue
        v1, v0 = x1.var(ddof=1) / len(x1), x0.var(ddof=1) / len(x0)
        se = np.sqrt(v1 + v0)
        df = (v1 + v0) ** 2 / (v1**2 / (len(x1) - 1) + v0**2 / (len(x0) - 1)) if se > 0 else 1.0
        d = float(x1.mean() - x0.mean())
        tq = stats.t.ppf(1 - alpha / 2, df)
        p = float(2 * stats.t.sf(abs(d) / se, df)) if se > 0 else 1.0
        out.append(
            {
                "arm": arm,
                "vs": arms[0],
                "estimate": d,
                "ci_lb": d - tq * se,
                "ci_ub": d + tq * se,
                "pval": p,
                "df": float(df),
            }
        )
    return out


def _by_arm(values: pd.DataFrame, arms: list[str]) -> dict[str, Any]:
    out = {}
    for arm in arms:
        x = values.loc[values["arm"] == arm, "value"].dropna()
        out[arm] = {
            "n": int(len(x)),
            "mean": float(x.mean()) if len(x) else None,
            "sd": float(x.std(ddof=1)) if len(x) > 1 else None,
            "median": float(x.median()) if len(x) else None,
        }
    return out


def score_endpoints(
    wide: pd.DataFrame,
    arm_of: pd.Series,
    pop: pd.DataFrame,
    arms: list[str],
    alpha: float,
    *,
    threshold: float | None,
) -> dict[str, Any]:
    """Peak score, AUC (trapezoid over observed days), responders."""
    days = np.asarray(wide.columns, dtype=float)
    peak = wide.max(axis=1, skipna=True)
    auc = []
    for _, row in wide.iterrows():
        ok = row.notna().to_numpy()
        auc.append(float(np.trapezoid(row.to_numpy()[ok], days[ok])) if ok.sum() >= 2 else np.nan)
    frame = pd.DataFrame(
        {
            "arm": wide.index.map(arm_of),
            "peak": peak.to_numpy(),
            "auc": auc,
            "mean": wide.mean(axis=1, skipna=True).to_numpy(),
        },
        index=wide.index,
    )
    res: dict[str, Any] = {}
    for name in ("peak", "auc"):
        v = frame[["arm", name]].rename(columns={name: "value"})
        res[name] = {"by_arm": _by_arm(v, arms), "comparisons": mean_difference(v, arms, alpha)}
    res["peak"]["definition"] = "highest daily score over the primary days (observed days)"
    res["auc"]["definition"] = (
        "trapezoid area under the daily score over the observed primary days (>= 2 days); "
        "descriptive: shorter for participants who left early"
    )
    if threshold is None:
        res["responders"] = None
        return res
    mean_score = pop["participant"].map(frame["mean"])
    responder = pop["completed"].to_numpy() & (mean_score <= threshold).to_numpy()
    tab = pop.assign(completed=responder)
    resp = completion(tab, arms, alpha)
    resp["definition"] = (
        f"completed and mean daily score over the primary days <= {threshold}; "
        "non-completers are non-responders"
    )
    res["responders"] = resp
    return res


def observed_trajectories(frame: pd.DataFrame, alpha: float) -> list[dict[str, Any]]:
    """Observed mean daily score by arm and day with a t interval."""
    out = []
    for (arm, day), g in frame.groupby(["arm", "daynum"]):
        x = g["score"].to_numpy(dtype=float)
        n = len(x)
        m = float(x.mean())
        if n > 1:
            se = float(x.std(ddof=1) / np.sqrt(n))
            tq = float(stats.t.ppf(1 - alpha / 2, n - 1))
            lo, hi = m - tq * se, m + tq * se
        else:
            lo = hi = None
        out.append({"arm": str(arm), "day": int(day), "n": n, "mean": m, "ci_lb": lo, "ci_ub": hi})
    return out
