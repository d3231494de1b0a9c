"""Where report-level rows come from: a DataFrame, a CSV/Parquet file or an ingested dataset.

Every source is seen as one *long table* with the standard columns ``id``, ``drug``, ``event``,
optionally ``role`` and strata columns ``strat_<name>``. Counting backends build that table
lazily (DuckDB SQL, Dask graph) so nothing is loaded into memory before it is reduced.

An ingested dataset is a folder with ``manifest.json`` (written by the ingest commands):
``{"source": "faers"}`` folders hold ``demo/drug/reac/...parquet``; ``{"source": "caers"}``
folders hold ``caers.parquet``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from taperwise.errors import DataFileError, ValidationError

__all__ = ["LongSource", "open_source"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@dataclass
class LongSource:
    """A long table of (id, drug, event[, role][, strata]) rows.

    Attributes
    ----------
    kind
        ``frame``, ``csv``, ``parquet``, ``faers`` or ``caers``.
    path
        File or dataset folder (``None`` for a frame).
    frame
        The DataFrame of a ``frame`` source.
    id_col, drug_col, event_col, role_col
        Column names in the input (``role_col`` None = no role filtering possible).
    strata
        Strata column names in the input.
    """

    kind: str
    path: Path | None = None
    frame: pd.DataFrame | None = None
    id_col: str = "id"
    drug_col: str = "drug"
    event_col: str = "event"
    role_col: str | None = None
    strata: tuple[str, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Input column names of this source."""
        if self.kind == "frame":
            assert self.frame is not None
            return [str(c) for c in self.frame.columns]
        if self.kind == "csv":
            import duckdb

            return [
                d[0]
                for d in duckdb.sql(
                    f"SELECT * FROM read_csv({_lit(self.path)}, header=true, all_varchar=true) LIMIT 0"
                ).description
            ]
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(self.path).names)
        if self.kind == "caers":
            import pyarrow.parquet as pq

            return list(pq.read_schema(Path(self.path) / "caers.parquet").names)
        if self.kind == "faers":
            return [
                "primaryid",
                "drug",
                "event",
                "role_cod",
                "sex",
                "age_grp",
                "occr_country",
                "year",
            ]
        raise ValidationError(f"unknown source kind '{self.kind}'")

    def check(self) -> None:
        """Fail early, with the allowed names, when a requested column is absent."""
        cols = self.columns
        wanted = [self.id_col, self.drug_col, self.event_col, *self.strata]
        if self.role_col:
            wanted.append(self.role_col)
        missing = [c for c in wanted if c not in cols]
        if missing:
            where = self.path if self.path is not None else "input frame"
            raise ValidationError(
                f"{where}: column(s) {', '.join(missing)} not found; available: {', '.join(cols)}"
            )

    # -- DuckDB -----------------------------------------------------------------------------
    def duckdb_sql(self, con: Any) -> str:
        """SQL (a sub-query) yielding the standard columns, registering frames on ``con``."""
        sel = [
            f"{_q(self.id_col)} AS id",  # native type: integer ids hash much faster than strings
            f"CAST({_q(self.drug_col)} AS VARCHAR) AS drug",
            f"CAST({_q(self.event_col)} AS VARCHAR) AS event",
        ]
        sel.append(
            f"upper(trim(CAST({_q(self.role_col)} AS VARCHAR))) AS role"
            if self.role_col
            else "NULL AS role"
        )
        for i, s in enumerate(self.strata):
            sel.append(f"coalesce(CAST({_q(s)} AS VARCHAR), '') AS strat_{i}")
        cols = ", ".join(sel)
        if self.kind == "frame":
            con.register("taperwise_input_frame", self.frame)
            return f"SELECT {cols} FROM taperwise_input_frame"
        if self.kind == "csv":
            return f"SELECT {cols} FROM read_csv({_lit(self.path)}, header=true, all_varchar=true)"
        if self.kind == "parquet":
            return f"SELECT {cols} FROM read_parquet({_lit(self.path)})"
        if self.kind == "caers":
            return f"SELECT {cols} FROM read_parquet({_lit(Path(self.path) / 'caers.parquet')})"
        if self.kind == "faers":
            return f"SELECT {cols} FROM ({faers_long_sql(Path(self.path))})"
        raise ValidationError(f"unknown source kind '{self.kind}'")

    # -- Dask -------------------------------------------------------------------------------
    def dask_frame(self, npartitions: int = 8) -> Any:
        """A Dask DataFrame with the standard columns (strings)."""
        import dask.dataframe as dd

        if self.kind == "frame":
            df = dd.from_pandas(self.frame, npartitions=npartitions)
        elif self.kind == "csv":
            df = dd.read_csv(str(self.path), dtype=str, keep_default_na=False, blocksize="64MB")
        elif self.kind == "parquet":
            df = dd.read_parquet(str(self.path))
        elif self.kind == "caers":
            df = dd.read_parquet(str(Path(self.path) / "caers.parquet"))
        elif self.kind == "faers":
            root = Path(self.path)
            drug = dd.read_parquet(
                str(root / "drug.parquet"), columns=["primaryid", "drug", "role_cod"]
            )
            reac = dd.read_parquet(str(root / "reac.parquet"), columns=["primaryid", "pt"])
            demo = dd.read_parquet(
                str(root / "demo.parquet"),
                columns=["primaryid", "sex", "age_grp", "occr_country", "year"],
            )
            df = drug.merge(reac, on="primaryid").merge(demo, on="primaryid", how="left")
            df = df.rename(columns={"pt": "event"})
        else:
            raise ValidationError(f"unknown source kind '{self.kind}'")
        out = df[[self.id_col, self.drug_col, self.event_col]].astype(str)
        out.columns = ["id", "drug", "event"]
        if self.role_col:
            out["role"] = df[self.role_col].astype(str).str.strip().str.upper()
        else:
            out["role"] = None
        for i, s in enumerate(self.strata):
            out[f"strat_{i}"] = df[s].fillna("").astype(str)
        return out


def faers_long_sql(root: Path) -> str:
    """Report x drug x PT rows of an ingested FAERS dataset (DRUG join REAC, DEMO strata)."""
    drug = _lit(root / "drug.parquet")
    reac = _lit(root / "reac.parquet")
    demo = _lit(root / "demo.parquet")
    return (
        "SELECT d.primaryid, d.drug, r.pt AS event, d.role_cod, m.sex, m.age_grp, m.occr_country, m.year "
        f"FROM read_parquet({drug}) d JOIN read_parquet({reac}) r ON d.primaryid = r.primaryid "
        f"LEFT JOIN read_parquet({demo}) m ON d.primaryid = m.primaryid"
    )


def open_source(
    input_: str | Path | pd.DataFrame,
    *,
    id_col: str | None = None,
    drug_col: str | None = None,
    event_col: str | None = None,
    role_col: str | None = None,
    strata: Sequence[str] = (),
) -> LongSource:
    """Recognise an input (DataFrame, CSV, Parquet file, ingested dataset folder).

    Column defaults: ``id``/``drug``/``event`` for files and frames, except openEBGM-style
    inputs whose columns are ``id, var1, var2`` (used when ``drug``/``event`` are absent),
    ingested datasets (FAERS: primaryid, drug, event, role_cod; CAERS: id, drug, event, role).
    A ``role`` column is used when present.
    """
    if isinstance(input_, pd.DataFrame):
        src = LongSource("frame", frame=input_)
    else:
        path = Path(input_)
        if not path.exists():
            raise DataFileError(f"{path}: input not found")
        if path.is_dir():
            manifest_path = path / "manifest.json"
            if not manifest_path.exists():
                raise DataFileError(
                    f"{path}: not an ingested dataset (no manifest.json); run 'taperwise signals ingest'"
                )
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            kind = manifest.get("source")
            if kind == "faers":
                src = LongSource(
                    "faers", path=path, id_col="primaryid", role_col="role_cod", manifest=manifest
                )
            elif kind == "caers":
                src = LongSource("caers", path=path, role_col="role", manifest=manifest)
            else:
                raise DataFileError(
                    f"{manifest_path}: unknown source '{kind}'; allowed faers, caers"
                )
        elif path.suffix.lower() in (".parquet", ".pq"):
            src = LongSource("parquet", path=path)
        elif path.suffix.lower() in (".csv", ".txt", ".gz"):
            src = LongSource("csv", path=path)
        else:
            raise DataFileError(
                f"{path}: input must be a .csv or .parquet file or an ingested dataset folder"
            )
    cols = src.columns
    if drug_col is None and "drug" not in cols and "var1" in cols:
        drug_col = "var1"
    if event_col is None and "event" not in cols and "var2" in cols:
        event_col = "var2"
    if id_col:
        src.id_col = id_col
    if drug_col:
        src.drug_col = drug_col
    if event_col:
        src.event_col = event_col
    if role_col is not None:
        src.role_col = role_col or None
    elif src.role_col is None and "role" in cols:
        src.role_col = "role"
    src.strata = tuple(strata)
    src.check()
    return src
