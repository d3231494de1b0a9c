"""From the analysis dataset to the analysis frames of the SAP (one row per participant and day).

Rules (documented in ``docs/analysis.md``):

* The **analysis population** (intention to treat) is every randomised participant with an arm.
* A participant's **daily score** on a study day is the mean of the complete administrations of
  the primary instrument on that day (``complete`` true, total not null).
* **Baseline** is the last complete score on a day <= 0 (before the first dose; the store anchors
  day 1 on the first dose). Participants without one have no baseline and, when the SAP names
  the ``baseline`` covariate, do not enter the MMRM.
* The **no-GI score** is recomputed from the ``items`` JSON: the sum of every item except the
  instrument's GI items (``get_instrument(id).gi_item_keys``); a form lacking any item stays
  missing.
* **Stage at first dose** is the ``stage`` of the last assessment (any instrument) on a day <= 0,
  ``"unknown"`` when there is none.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import ValidationError

log = logging.getLogger(__name__)


def population(ds: AnalysisDataset) -> pd.DataFrame:
    """Randomised participants with an arm (ITT), one row each, ``arm`` as text."""
    p = ds.participants
    rand = p["randomised"].map(_truthy).astype(bool) & p["arm"].notna()
    out = p.loc[rand].copy()
    out["arm"] = out["arm"].astype(str)
    out["participant"] = out["participant"].astype(str)
    out["completed"] = out["completed"].map(_truthy).astype(bool)
    return out.drop_duplicates("participant").reset_index(drop=True)


def _truthy(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t")
    return bool(value)


def _no_gi_total(items: Any, gi_keys: tuple[str, ...]) -> float:
    if items is None or (isinstance(items, float) and np.isnan(items)):
        return np.nan
    data = json.loads(items) if isinstance(items, str) else dict(items)
    if not data:
        return np.nan
    values = [v for k, v in data.items() if k not in gi_keys]
    if any(v is None for v in values):
        return np.nan
    return float(np.sum(np.asarray(values, dtype=float)))


def gi_keys_of(instrument: str) -> tuple[str, ...]:
    """The GI item keys of an instrument (empty when the instrument is unknown)."""
    from taperwise.instruments import get_instrument

    try:
        return tuple(get_instrument(instrument).gi_item_keys)
    except Exception:  # noqa: BLE001 - an unknown instrument simply has no GI items
        return ()


def instrument_rows(ds: AnalysisDataset, instrument: str, *, no_gi: bool = False) -> pd.DataFrame:
    """Complete administrations of ``instrument``: participant, day, score (float)."""
    a = ds.assessments
    a = a.loc[a["instrument"].astype(str) == instrument]
    if a.empty:
        return pd.DataFrame(columns=["participant", "day", "score"])
    complete = a["complete"].map(_truthy).astype(bool) if "complete" in a else True
    a = a.loc[complete & a["day"].notna()].copy()
    if no_gi:
        keys = gi_keys_of(instrument)
        a["score"] = [_no_gi_total(v, keys) for v in a["items"]]
    else:
        a["score"] = pd.to_numeric(a["total"], errors="coerce")
    a["day"] = pd.to_numeric(a["day"], errors="coerce").astype(float).round().astype("Int64")
    a["participant"] = a["participant"].astype(str)
    return a.loc[a["score"].notna(), ["participant", "day", "score"]].reset_index(drop=True)


def stage_at_first_dose(ds: AnalysisDataset) -> pd.Series:
    """Stage of withdrawal at first dose per participant (``"unknown"`` when not recorded)."""
    a = ds.assessments
    if a.empty or "stage" not in a:
        return pd.Series(dtype=object)
    pre = a.loc[pd.to_numeric(a["day"], errors="coerce") <= 0].copy()
    pre = pre.loc[pre["stage"].notna()]
    if pre.empty:
        return pd.Series(dtype=object)
    pre["participant"] = pre["participant"].astype(str)
    order = ["participant", "day"] + (
        ["hours_since_first_dose"] if "hours_since_first_dose" in pre else []
    )
    pre = pre.sort_values(order, kind="stable")
    return pre.groupby("participant")["stage"].last().astype(str)


def analysis_frame(
    ds: AnalysisDataset,
    *,
    instrument: str,
    days: list[int],
    covariates: list[str],
    no_gi: bool = False,
    pop: pd.DataFrame | None = None,
    extra_factors: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """The long frame the MMRM fits and the covariates kept.

    Columns: ``participant``, ``arm``, ``day`` (text level), ``daynum``, ``score`` and one per kept
    covariate (``baseline`` numeric, others text factors). Covariates that are constant in the
    population are dropped (logged and returned as not kept).

    Examples
    --------
    >>> from taperwise.analysis._synthetic import synthetic_dataset
    >>> frame, kept = analysis_frame(synthetic_dataset(n_per_arm=4, seed=1), instrument="cows",
    ...                              days=[1, 2, 3], covariates=["baseline", "site"])
    >>> kept, sorted(frame.columns)[:3]
    (['baseline', 'site'], ['arm', 'baseline', 'day'])
    """
    pop = population(ds) if pop is None else pop
    rows = instrument_rows(ds, instrument, no_gi=no_gi)
    rows = rows.loc[rows["participant"].isin(pop["participant"])]
    daily = rows.groupby(["participant", "day"], as_index=False)["score"].mean()
    post = daily.loc[daily["day"].isin(days)].copy()
    pinfo = pop.set_index("participant")
    post["arm"] = post["participant"].map(pinfo["arm"])
    post["daynum"] = post["day"].astype(int)
    post["day"] = post["daynum"].astype(str)
    kept: list[str] = []
    for cov in [*covariates, *extra_factors]:
        if cov == "baseline":
            base = daily.loc[daily["day"] <= 0].sort_values("day").groupby("participant")["score"]
            values = post["participant"].map(base.last())
        elif cov == "stage":
            values = post["participant"].map(stage_at_first_dose(ds)).fillna("unknown")
        elif cov in pinfo.columns:
            values = post["participant"].map(pinfo[cov].astype(str)).fillna("missing")
        else:
            raise ValidationError(
                f"SAP covariate '{cov}' is not 'baseline', 'stage' or a participants column "
                f"({', '.join(c for c in pinfo.columns if c != 'participant')})"
            )
        if cov != "baseline":
            if values.nunique() < 2:
                log.info("covariate %s is constant: left out of the model", cov)
                continue
        elif values.notna().sum() == 0:
            log.info("no baseline scores (day <= 0): baseline left out of the model")
            continue
        post[cov] = values
        kept.append(cov)
    post = post.dropna(subset=["score", *[c for c in kept if c == "baseline"]])
    return post.sort_values(["participant", "daynum"]).reset_index(drop=True), kept


def wide_scores(frame: pd.DataFrame, days: list[int]) -> pd.DataFrame:
    """Participant x day table of daily scores (NaN where missing)."""
    w = frame.pivot_table(index="participant", columns="daynum", values="score", aggfunc="mean")
    return w.reindex(columns=list(days))
