"""Safety tables: adverse events, vital-sign holds and alerts by arm (counts of participants).

The denominator of every percentage is the number randomised to the arm (the analysis
population); nothing here is a test of a difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from taperwise.analysis.prepare import _truthy


def _pct(k: int, n: int) -> float | None:
    return round(100.0 * k / n, 1) if n else None


def _count(frame: pd.DataFrame, mask: pd.Series, arms: list[str], n_by_arm: dict[str, int]):
    sub = frame.loc[mask]
    out = {}
    for arm in arms:
        k = int(sub.loc[sub["arm"] == arm, "participant"].nunique())
        out[arm] = {"n": k, "pct": _pct(k, n_by_arm[arm])}
    return out


def _in_population(frame: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    f["participant"] = f["participant"].astype(str)
    arm_of = pop.set_index("participant")["arm"]
    f["arm"] = f["participant"].map(arm_of)
    return f.loc[f["arm"].notna()]


def adverse_events(ds_aes: pd.DataFrame, pop: pd.DataFrame, arms: list[str]) -> dict[str, Any]:
    """Participants with any AE, by term, grade >= 3, serious, leading to discontinuation."""
    n_by_arm = {a: int((pop["arm"] == a).sum()) for a in arms}
    ae = _in_population(ds_aes, pop)
    out: dict[str, Any] = {"denominator": n_by_arm, "n_events": int(len(ae))}
    if ae.empty:
        zero = {a: {"n": 0, "pct": 0.0 if n_by_arm[a] else None} for a in arms}
        out.update(
            {
                "any": zero,
                "grade3plus": zero,
                "serious": zero,
                "led_to_discontinuation": zero,
                "by_term": [],
            }
        )
        return out
    grade = pd.to_numeric(ae["grade"], errors="coerce")
    ones = pd.Series(True, index=ae.index)
    out["any"] = _count(ae, ones, arms, n_by_arm)
    out["grade3plus"] = _count(ae, grade >= 3, arms, n_by_arm)
    out["serious"] = _count(ae, ae["serious"].map(_truthy).astype(bool), arms, n_by_arm)
    out["led_to_discontinuation"] = _count(
        ae, ae["led_to_discontinuation"].map(_truthy).astype(bool), arms, n_by_arm
    )
    terms = []
    for term, g in ae.groupby(ae["term"].astype(str)):
        counts = _count(g, pd.Series(True, index=g.index), arms, n_by_arm)
        terms.append({"term": term, "by_arm": counts, "total": int(g["participant"].nunique())})
    out["by_term"] = sorted(terms, key=lambda t: (-t["total"], t["term"]))
    return out


def holds(
    doses: pd.DataFrame,
    vitals: pd.DataFrame,
    pop: pd.DataFrame,
    arms: list[str],
    thresholds: dict[str, float],
) -> dict[str, Any]:
    """Doses held (with a reason) and vital signs below the protocol's alpha-2 hold limits."""
    n_by_arm = {a: int((pop["arm"] == a).sum()) for a in arms}
    d = _in_population(doses, pop)
    out: dict[str, Any] = {"thresholds": thresholds}
    if d.empty:
        out["doses_held"] = {a: {"participants": 0, "doses": 0} for a in arms}
        out["hold_reasons"] = []
    else:
        held = ~d["given"].map(_truthy).astype(bool)
        out["doses_held"] = {
            a: {
                "participants": int(d.loc[held & (d["arm"] == a), "participant"].nunique()),
                "doses": int((held & (d["arm"] == a)).sum()),
                "pct_participants": _pct(
                    int(d.loc[held & (d["arm"] == a), "participant"].nunique()), n_by_arm[a]
                ),
            }
            for a in arms
        }
        reasons = d.loc[held].copy()
        # assign() on an empty frame would expand it to the full index of the right-hand side
        reasons["reason"] = reasons["hold_reason"].fillna("not recorded").astype(str)
        out["hold_reasons"] = [
            {"reason": r, "by_arm": {a: int((g["arm"] == a).sum()) for a in arms}}
            for r, g in reasons.groupby("reason")
        ]
    v = _in_population(vitals, pop)
    if v.empty:
        out["vitals_below_limits"] = {a: {"n": 0, "pct": None} for a in arms}
        return out
    low = np.zeros(len(v), dtype=bool)
    for col, key in (("sbp", "sbp_below"), ("dbp", "dbp_below"), ("hr", "hr_below")):
        low |= (pd.to_numeric(v[col], errors="coerce") < thresholds[key]).to_numpy()
    low |= v["symptomatic"].map(_truthy).astype(bool).to_numpy()
    out["vitals_below_limits"] = _count(v, pd.Series(low, index=v.index), arms, n_by_arm)
    return out


def alerts(ds_alerts: pd.DataFrame, pop: pd.DataFrame, arms: list[str]) -> dict[str, Any]:
    """Alerts by arm, rule and severity (alerts and participants)."""
    a = _in_population(ds_alerts, pop)
    if a.empty:
        return {"n": 0, "by_rule": [], "by_severity": {}}
    by_rule = []
    for rule, g in a.groupby(a["rule_id"].astype(str)):
        by_rule.append(
            {
                "rule_id": rule,
                "severity": str(g["severity"].mode().iloc[0])
                if g["severity"].notna().any()
                else None,
                "alerts": {arm: int((g["arm"] == arm).sum()) for arm in arms},
                "participants": {
                    arm: int(g.loc[g["arm"] == arm, "participant"].nunique()) for arm in arms
                },
            }
        )
    sev = {
        str(s): {arm: int((g["arm"] == arm).sum()) for arm in arms}
        for s, g in a.groupby(a["severity"].astype(str))
    }
    ack = a["acknowledged"].map(_truthy).astype(bool)
    return {
        "n": int(len(a)),
        "unacknowledged": int((~ack).sum()),
        "by_rule": by_rule,
        "by_severity": sev,
    }
