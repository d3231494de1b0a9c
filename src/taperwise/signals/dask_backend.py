"""Dask counting backend: the same integer tables as the DuckDB backend.

Works on any Dask scheduler (threads by default, a ``distributed`` LocalCluster in tests and
benchmarks, Slurm/Kubernetes clusters at sites); pass ``client`` to use a distributed one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from taperwise.signals.counting import Counts, assemble, build_dictionaries
from taperwise.signals.normalize import ProductNormalizer
from taperwise.signals.source import LongSource

__all__ = ["count_pairs_dask"]

_SEP = "\x1f"


def _valid(df: pd.DataFrame) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for col in ("id", "drug", "event"):
        v = df[col]
        ok &= (
            v.notna()
            & (v.astype(str).str.strip() != "")
            & (v.astype(str) != "None")
            & (v.astype(str) != "nan")
        )
    return ok


def count_pairs_dask(
    source: LongSource,
    *,
    margins: str,
    roles: tuple[str, ...] | None,
    normalizer: ProductNormalizer | None,
    client: Any = None,
) -> Counts:
    """Count pairs and margins with Dask (see :func:`taperwise.signals.counting.count_pairs`)."""
    import dask

    compute = client.compute if client is not None else None

    def run(*objs: Any) -> tuple[Any, ...]:
        if compute is not None:
            futures = client.compute(list(objs))
            return tuple(f.result() for f in futures)
        return dask.compute(*objs)

    df = source.dask_frame()
    n_strata = len(source.strata)
    if roles is not None:
        df = df[df["role"].isin(list(roles))]
    valid = df.map_partitions(_valid, meta=("ok", bool))
    total_rows = df.shape[0]
    df = df[valid]
    if n_strata:
        df["stratum"] = df["strat_0"].astype(str)
        for i in range(1, n_strata):
            df["stratum"] = df["stratum"] + _SEP + df[f"strat_{i}"].astype(str)
    else:
        df["stratum"] = ""
    kept_rows = df.shape[0]
    raw_drugs, raw_events, strata_labels, total_rows, kept_rows = run(
        df["drug"].unique(), df["event"].unique(), df["stratum"].unique(), total_rows, kept_rows
    )
    mapping, drugs, events = build_dictionaries(
        np.asarray(raw_drugs, dtype=object), np.asarray(raw_events, dtype=object), normalizer
    )
    strata_labels = sorted(str(s) for s in strata_labels)
    drug_codes = {d: i for i, d in enumerate(drugs)}
    raw_to_code = {raw: drug_codes[v] for raw, v in mapping.items()}
    event_codes = {e: i for i, e in enumerate(events)}
    strat_codes = {s: i for i, s in enumerate(strata_labels)}
    n_ev = len(events)

    def encode(part: pd.DataFrame) -> pd.DataFrame:
        di = part["drug"].map(raw_to_code)
        out = pd.DataFrame(
            {
                "id": part["id"].astype(str),
                "di": di,
                "ej": part["event"].map(event_codes),
                "s": part["stratum"].map(strat_codes),
            }
        )
        out = out[out["di"].notna()]
        return out.astype({"di": np.int64, "ej": np.int64, "s": np.int64})

    meta = pd.DataFrame(
        {
            "id": pd.Series(dtype=str),
            "di": pd.Series(dtype=np.int64),
            "ej": pd.Series(dtype=np.int64),
            "s": pd.Series(dtype=np.int64),
        }
    )
    d = df.map_partitions(encode, meta=meta)
    split = max(1, d.npartitions // 4)
    d = d.drop_duplicates(split_out=split)
    d = d.assign(k=d["di"] * n_ev + d["ej"])
    pairs = d[["id", "k"]].drop_duplicates(split_out=split).groupby("k").size(split_out=split)
    stratified = n_strata > 0
    if margins == "reports":
        dm_s = d[["id", "s", "di"]].drop_duplicates(split_out=split).groupby(["s", "di"]).size()
        em_s = d[["id", "s", "ej"]].drop_duplicates(split_out=split).groupby(["s", "ej"]).size()
        tot_s = d[["id", "s"]].drop_duplicates(split_out=split).groupby("s").size()
        dm = d[["id", "di"]].drop_duplicates(split_out=split).groupby("di").size()
        em = d[["id", "ej"]].drop_duplicates(split_out=split).groupby("ej").size()
        n_tot = d["id"].drop_duplicates(split_out=split).shape[0]
        pairs, dm_s, em_s, tot_s, dm, em, n_tot = run(pairs, dm_s, em_s, tot_s, dm, em, n_tot)
    else:
        cells = d[["id", "s", "k"]].drop_duplicates(split_out=split).groupby(["s", "k"]).size()
        pairs, cells = run(pairs, cells)
        cells = cells.reset_index(name="n")
        cells["di"] = cells["k"] // n_ev
        cells["ej"] = cells["k"] % n_ev
        dm_s = cells.groupby(["s", "di"])["n"].sum()
        em_s = cells.groupby(["s", "ej"])["n"].sum()
        tot_s = cells.groupby("s")["n"].sum()
        dm = pd.Series(
            np.bincount(
                pairs.index.values // n_ev, weights=pairs.values, minlength=len(drugs)
            ).astype(np.int64)
        )
        em = pd.Series(
            np.bincount(pairs.index.values % n_ev, weights=pairs.values, minlength=n_ev).astype(
                np.int64
            )
        )
        n_tot = int(pairs.sum())
    if not stratified:
        strata_labels = []

    def triple(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = series.index
        return (
            np.asarray(idx.get_level_values(0), dtype=np.int64),
            np.asarray(idx.get_level_values(1), dtype=np.int64),
            np.asarray(series.values, dtype=np.int64),
        )

    return assemble(
        drugs,
        events,
        strata_labels,
        np.asarray(pairs.index.values, dtype=np.int64),
        np.asarray(pairs.values, dtype=np.int64),
        triple(dm_s),
        triple(em_s),
        (np.asarray(tot_s.index.values, dtype=np.int64), np.asarray(tot_s.values, dtype=np.int64)),
        (np.asarray(dm.index.values, dtype=np.int64), np.asarray(dm.values, dtype=np.int64)),
        (np.asarray(em.index.values, dtype=np.int64), np.asarray(em.values, dtype=np.int64)),
        int(n_tot),
        margins,
        int(total_rows - kept_rows),
    )
