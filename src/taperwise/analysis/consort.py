"""CONSORT flow counts: enrolled, randomised, dosed, completed, discontinued (by reason), analysed."""

from __future__ import annotations

from typing import Any

import pandas as pd

from taperwise.analysis.prepare import _truthy
from taperwise.analysis_dataset import AnalysisDataset


def consort(
    ds: AnalysisDataset, pop: pd.DataFrame, arms: list[str], analysed: pd.DataFrame | None
) -> dict[str, Any]:
    """CONSORT counts per arm.

    ``dosed`` counts participants with a first-dose time or a given dose; ``analysed`` those with
    at least one score in the primary MMRM.
    """
    parts = ds.participants
    dosed_ids = (
        set(ds.doses.loc[ds.doses["given"].map(_truthy).astype(bool), "participant"].astype(str))
        if not ds.doses.empty
        else set()
    )
    dosed_ids |= set(pop.loc[pop["first_dose_at"].notna(), "participant"])
    if "first_dose_day" in pop:
        dosed_ids |= set(pop.loc[pop["first_dose_day"].notna(), "participant"])
    out: dict[str, Any] = {
        "enrolled": int(parts["participant"].nunique()),
        "not_randomised": int(parts["participant"].nunique() - len(pop)),
        "randomised": {},
        "dosed": {},
        "completed": {},
        "discontinued": {},
        "discontinued_reasons": {},
        "analysed_primary": {},
    }
    for arm in arms:
        sub = pop.loc[pop["arm"] == arm]
        out["randomised"][arm] = int(len(sub))
        out["dosed"][arm] = int(sub["participant"].isin(dosed_ids).sum())
        out["completed"][arm] = int(sub["completed"].sum())
        stopped = sub.loc[~sub["completed"].astype(bool)]
        out["discontinued"][arm] = int(len(stopped))
        reasons = stopped["exit_reason"].fillna("not recorded").astype(str).value_counts()
        out["discontinued_reasons"][arm] = {str(k): int(v) for k, v in reasons.items()}
        out["analysed_primary"][arm] = (
            int(analysed.loc[analysed["arm"] == arm, "participant"].nunique())
            if analysed is not None
            else 0
        )
    return out
