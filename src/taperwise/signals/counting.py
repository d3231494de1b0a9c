"""Pair counts, margins and expected counts (DuckDB backend; Dask in :mod:`.dask_backend`).

Counting rules (pharmacovigilance.md §1.2, §2.1):

* rows are filtered by role (default PS + SS when the input has a role column), products are
  optionally normalised, and rows with an empty id, product or event are dropped (counted);
* N_ij = distinct reports naming product i and event j;
* ``margins="reports"`` (openEBGM, pvda; default): n_i. and n_.j are distinct reports, N the
  distinct reports of the analysis set; ``margins="cells"`` (PhViD): margins are sums of N_ij;
* with strata, E_ij = sum_s (n_i.^s / N^s) n_.j^s with every count taken inside stratum s;
  unstratified E_ij = (n_i. / N) n_.j (openEBGM's order of operations).

Backends return *integer* tables (codes into sorted product/event dictionaries); E and every
score are computed from them by the same numpy code, so DuckDB and Dask give identical results.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from taperwise.errors import ValidationError
from taperwise.signals.normalize import ProductNormalizer
from taperwise.signals.source import LongSource

__all__ = ["Counts", "count_pairs", "expected_counts"]

log = logging.getLogger(__name__)

MARGINS = ("reports", "cells")
BACKENDS = ("duckdb", "dask")


@dataclass(frozen=True)
class Counts:
    """Integer count tables of one analysis set.

    Attributes
    ----------
    drugs, events
        Sorted dictionaries (code -> name).
    pair_drug, pair_event, n
        One element per observed pair (sorted by drug code, then event code).
    drug_margin, event_margin, n_total
        Margins used by PRR/ROR (unstratified).
    strata
        Stratum labels (``()`` when unstratified).
    drug_margin_s, event_margin_s, n_total_s
        Per-stratum margins (rows = strata), used for E.
    margins
        ``reports`` or ``cells``.
    dropped_rows
        Input rows dropped for an empty id, product or event.
    """

    drugs: np.ndarray
    events: np.ndarray
    pair_drug: np.ndarray
    pair_event: np.ndarray
    n: np.ndarray
    drug_margin: np.ndarray
    event_margin: np.ndarray
    n_total: int
    strata: tuple[str, ...]
    drug_margin_s: np.ndarray
    event_margin_s: np.ndarray
    n_total_s: np.ndarray
    margins: str
    dropped_rows: int

    @property
    def n_pairs(self) -> int:
        """Number of observed pairs."""
        return int(self.n.size)


def expected_counts(counts: Counts) -> np.ndarray:
    """Expected count per observed pair (stratified when the counts carry strata).

    Examples
    --------
    >>> import numpy as np
    >>> c = Counts(np.array(["A"]), np.array(["e"]), np.array([0]), np.array([0]), np.array([2]),
    ...            np.array([3]), np.array([4]), 10, (), np.array([[3]]), np.array([[4]]),
    ...            np.array([10]), "reports", 0)
    >>> round(float(expected_counts(c)[0]), 12)
    1.2
    """
    if not counts.strata:
        return (counts.drug_margin[counts.pair_drug] / float(counts.n_total)) * counts.event_margin[
            counts.pair_event
        ]
    e = np.zeros(counts.n.size, dtype=np.float64)
    for s in range(len(counts.strata)):
        tot = float(counts.n_total_s[s])
        if tot <= 0:
            continue
        e += (counts.drug_margin_s[s][counts.pair_drug] / tot) * counts.event_margin_s[s][
            counts.pair_event
        ]
    return e


def _validate(margins: str, backend: str, roles: Sequence[str] | None) -> tuple[str, ...] | None:
    if margins not in MARGINS:
        raise ValidationError(f"margins '{margins}' is not allowed; use {', '.join(MARGINS)}")
    if backend not in BACKENDS:
        raise ValidationError(f"backend '{backend}' is not allowed; use {', '.join(BACKENDS)}")
    if roles is None:
        return None
    cleaned = tuple(r.strip().upper() for r in roles if r.strip())
    allowed = {"PS", "SS", "C", "I"}
    bad = [r for r in cleaned if r not in allowed]
    if bad:
        raise ValidationError(f"role(s) {', '.join(bad)} not allowed; use PS, SS, C, I (or ALL)")
    return cleaned


def count_pairs(
    source: LongSource,
    *,
    backend: str = "duckdb",
    margins: str = "reports",
    roles: Sequence[str] | None = ("PS", "SS"),
    normalizer: ProductNormalizer | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    dask_client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> Counts:
    """Count pairs and margins of ``source``.

    Parameters
    ----------
    source
        From :func:`taperwise.signals.source.open_source`.
    backend
        ``duckdb`` (embedded, out of core) or ``dask``.
    margins
        ``reports`` (distinct reports, openEBGM) or ``cells`` (sums of cell counts, PhViD).
    roles
        Drug roles kept when the source has a role column (``None`` = all).
    normalizer
        Product normaliser applied to the product column (``None`` = names verbatim).

    Examples
    --------
    >>> import pandas as pd
    >>> from taperwise.signals.source import open_source
    >>> df = pd.DataFrame({"id": [1, 1, 2], "drug": ["A", "A", "B"], "event": ["x", "y", "x"]})
    >>> c = count_pairs(open_source(df))
    >>> c.n.tolist(), c.n_total
    ([1, 1, 1], 2)
    """
    roles_t = _validate(margins, backend, roles)
    if source.role_col is None:
        roles_t = None
    if backend == "dask":
        from taperwise.signals.dask_backend import count_pairs_dask

        return count_pairs_dask(
            source, margins=margins, roles=roles_t, normalizer=normalizer, client=dask_client
        )
    return _count_duckdb(
        source,
        margins=margins,
        roles=roles_t,
        normalizer=normalizer,
        threads=threads,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        progress=progress,
    )


def _note(progress: Callable[[str], None] | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(message)


def build_dictionaries(
    raw_drugs: np.ndarray, raw_events: np.ndarray, normalizer: ProductNormalizer | None
) -> tuple[dict[str, str], np.ndarray, np.ndarray]:
    """Normalise distinct raw product names; return (raw -> name, sorted drugs, sorted events)."""
    if normalizer is not None:
        mapping = normalizer.map_names(raw_drugs)
    else:
        mapping = {str(d): str(d) for d in raw_drugs}
    mapping = {k: v for k, v in mapping.items() if v}
    drugs = np.array(sorted(set(mapping.values())), dtype=object)
    events = np.array(sorted(str(e) for e in raw_events), dtype=object)
    return mapping, drugs, events


def assemble(
    drugs: np.ndarray,
    events: np.ndarray,
    strata: Sequence[str],
    pair_key: np.ndarray,
    pair_n: np.ndarray,
    drug_s: tuple[np.ndarray, np.ndarray, np.ndarray],
    event_s: tuple[np.ndarray, np.ndarray, np.ndarray],
    total_s: tuple[np.ndarray, np.ndarray],
    drug_m: tuple[np.ndarray, np.ndarray],
    event_m: tuple[np.ndarray, np.ndarray],
    n_total: int,
    margins: str,
    dropped: int,
) -> Counts:
    """Build :class:`Counts` from backend outputs (keys = codes; pair key = drug * n_events + event)."""
    n_ev = len(events)
    order = np.argsort(pair_key, kind="stable")
    pair_key = np.asarray(pair_key, dtype=np.int64)[order]
    pair_n = np.asarray(pair_n, dtype=np.int64)[order]
    n_s = max(len(strata), 1)
    dm_s = np.zeros((n_s, len(drugs)), dtype=np.int64)
    em_s = np.zeros((n_s, n_ev), dtype=np.int64)
    tot_s = np.zeros(n_s, dtype=np.int64)
    dm_s[drug_s[0].astype(np.int64), drug_s[1].astype(np.int64)] = drug_s[2]
    em_s[event_s[0].astype(np.int64), event_s[1].astype(np.int64)] = event_s[2]
    tot_s[total_s[0].astype(np.int64)] = total_s[1]
    dm = np.zeros(len(drugs), dtype=np.int64)
    em = np.zeros(n_ev, dtype=np.int64)
    dm[drug_m[0].astype(np.int64)] = drug_m[1]
    em[event_m[0].astype(np.int64)] = event_m[1]
    return Counts(
        drugs=drugs,
        events=events,
        pair_drug=(pair_key // n_ev).astype(np.int64),
        pair_event=(pair_key % n_ev).astype(np.int64),
        n=pair_n,
        drug_margin=dm,
        event_margin=em,
        n_total=int(n_total),
        strata=tuple(strata),
        drug_margin_s=dm_s,
        event_margin_s=em_s,
        n_total_s=tot_s,
        margins=margins,
        dropped_rows=int(dropped),
    )


def _count_duckdb(
    source: LongSource,
    *,
    margins: str,
    roles: tuple[str, ...] | None,
    normalizer: ProductNormalizer | None,
    threads: int | None,
    memory_limit: str | None,
    temp_directory: str | None,
    progress: Callable[[str], None] | None,
) -> Counts:
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    tmp = temp_directory or os.environ.get("TAPERWISE_DUCKDB_TEMP") or tempfile.gettempdir()
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    try:
        base = source.duckdb_sql(con)
        n_strata_cols = len(source.strata)
        strat_expr = (
            " || '\x1f' || ".join(f"strat_{i}" for i in range(n_strata_cols))
            if n_strata_cols
            else "''"
        )
        con.execute(f"CREATE TEMP VIEW src AS {base}")
        id_type = con.execute("SELECT typeof(id) FROM src LIMIT 1").fetchone()
        id_is_text = id_type is None or id_type[0] == "VARCHAR"
        where = [
            "id IS NOT NULL",
            "trim(id) <> ''" if id_is_text else "TRUE",
            "drug IS NOT NULL",
            "trim(drug) <> ''",
            "event IS NOT NULL",
            "trim(event) <> ''",
        ]
        if roles is not None:
            where.append("role IN (" + ", ".join(f"'{r}'" for r in roles) + ")")
        role_where = (
            f"role IN ({', '.join(repr(r) for r in roles)})" if roles is not None else "TRUE"
        )
        _note(progress, "reading rows")
        # a join (FAERS) is materialised once; plain files and frames are re-scanned instead
        kind = "TABLE" if source.kind == "faers" else "VIEW"
        con.execute(
            f"CREATE TEMP {kind} kept AS SELECT id, drug, event, {strat_expr} AS stratum FROM src "
            f"WHERE {' AND '.join(where)}"
        )
        # one scan for both counts (the role filter is applied first, so dropped = invalid rows)
        valid_expr = " AND ".join(where[:6])
        total_rows, kept_rows = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {valid_expr}) FROM src WHERE {role_where}"
        ).fetchone()
        dropped = int(total_rows - kept_rows)
        raw_drugs = con.execute("SELECT DISTINCT drug FROM kept").fetchnumpy()["drug"]
        raw_events = con.execute("SELECT DISTINCT event FROM kept").fetchnumpy()["event"]
        mapping, drugs, events = build_dictionaries(
            np.asarray(raw_drugs, dtype=object), np.asarray(raw_events, dtype=object), normalizer
        )
        strata_labels = sorted(
            con.execute("SELECT DISTINCT stratum FROM kept").fetchnumpy()["stratum"].tolist()
        )
        drug_codes = {d: i for i, d in enumerate(drugs)}
        dmap = pd.DataFrame(
            {
                "raw": list(mapping.keys()),
                "code": np.array([drug_codes[v] for v in mapping.values()], dtype=np.int32),
            }
        )
        emap = pd.DataFrame({"event": events, "code": np.arange(len(events), dtype=np.int32)})
        smap = pd.DataFrame(
            {"stratum": strata_labels, "code": np.arange(len(strata_labels), dtype=np.int32)}
        )
        con.register("dmap", dmap)
        con.register("emap", emap)
        con.register("smap", smap)
        n_ev = len(events)
        _note(progress, "distinct report x product x event rows")
        con.execute(
            "CREATE TEMP TABLE d AS SELECT DISTINCT k.id, dm.code AS di, em.code AS ej, sm.code AS s "
            "FROM kept k JOIN dmap dm ON k.drug = dm.raw JOIN emap em ON k.event = em.event "
            "JOIN smap sm ON k.stratum = sm.stratum"
        )
        con.execute(f"DROP {kind} kept")
        stratified = n_strata_cols > 0
        _note(progress, "pair counts")
        pair_sql = (
            f"SELECT CAST(di AS BIGINT) * {n_ev} + ej AS k, count(DISTINCT id) AS n FROM d GROUP BY di, ej"
            if stratified
            else f"SELECT CAST(di AS BIGINT) * {n_ev} + ej AS k, count(*) AS n FROM d GROUP BY di, ej"
        )
        pairs = con.execute(pair_sql).fetchnumpy()
        _note(progress, "margins")
        if margins == "reports":
            dm_s = con.execute(
                "SELECT s, di, count(DISTINCT id) AS n FROM d GROUP BY s, di"
            ).fetchnumpy()
            em_s = con.execute(
                "SELECT s, ej, count(DISTINCT id) AS n FROM d GROUP BY s, ej"
            ).fetchnumpy()
            tot_s = con.execute("SELECT s, count(DISTINCT id) AS n FROM d GROUP BY s").fetchnumpy()
            if stratified:
                dm = con.execute(
                    "SELECT di, count(DISTINCT id) AS n FROM d GROUP BY di"
                ).fetchnumpy()
                em = con.execute(
                    "SELECT ej, count(DISTINCT id) AS n FROM d GROUP BY ej"
                ).fetchnumpy()
                n_total = con.execute("SELECT count(DISTINCT id) FROM d").fetchone()[0]
            else:
                dm = {"di": dm_s["di"], "n": dm_s["n"]}
                em = {"ej": em_s["ej"], "n": em_s["n"]}
                n_total = int(tot_s["n"].sum())
        else:
            con.execute(
                "CREATE TEMP TABLE c AS SELECT s, di, ej, count(DISTINCT id) AS n FROM d GROUP BY s, di, ej"
            )
            dm_s = con.execute("SELECT s, di, sum(n) AS n FROM c GROUP BY s, di").fetchnumpy()
            em_s = con.execute("SELECT s, ej, sum(n) AS n FROM c GROUP BY s, ej").fetchnumpy()
            tot_s = con.execute("SELECT s, sum(n) AS n FROM c GROUP BY s").fetchnumpy()
            n_total = int(pairs["n"].sum())
            key = pairs["k"]
            pn = pairs["n"].astype(np.int64)
            dm = {
                "di": np.arange(len(drugs)),
                "n": np.bincount(key // n_ev, weights=pn, minlength=len(drugs)).astype(np.int64),
            }
            em = {
                "ej": np.arange(n_ev),
                "n": np.bincount(key % n_ev, weights=pn, minlength=n_ev).astype(np.int64),
            }
        return assemble(
            drugs,
            events,
            strata_labels if stratified else (),
            np.asarray(pairs["k"]),
            np.asarray(pairs["n"]),
            (np.asarray(dm_s["s"]), np.asarray(dm_s["di"]), np.asarray(dm_s["n"], dtype=np.int64)),
            (np.asarray(em_s["s"]), np.asarray(em_s["ej"]), np.asarray(em_s["n"], dtype=np.int64)),
            (np.asarray(tot_s["s"]), np.asarray(tot_s["n"], dtype=np.int64)),
            (np.asarray(dm["di"]), np.asarray(dm["n"], dtype=np.int64)),
            (np.asarray(em["ej"]), np.asarray(em["n"], dtype=np.int64)),
            int(n_total),
            margins,
            dropped,
        )
    finally:
        con.close()
