"""CAERS (FDA CFSAN Adverse Event Reporting System) CSV -> Parquet dataset.

Accepts the public CSV layouts (pharmacovigilance.md §3.3): the 2004-2017Q2 file
(``RA_Report #``, ``PRI_Reported Brand/Product Name``, ``SYM_One Row Coded Symptoms``, ...), the
later files (``Report ID``, ``Product``, ``MedDRA Preferred Terms``, ...) and R's mangled names
(``RA_Report..``, as in openEBGM's ``caers_raw``). Headers are matched after folding case and
punctuation. The symptom list is split on ``", "`` (openEBGM vignette 1), giving one row per
report x product x PT in ``caers.parquet`` with columns ``id, product_raw, drug, event, role,
sex, age_years, age_group, industry_code``. ``drug`` is the normalised product (see
:mod:`taperwise.signals.normalize`); ``product_raw`` keeps the verbatim name.

Malformed rows (wrong number of fields, empty report id or product) raise with ``file:line``
under ``on_error="fail"`` or are skipped and counted under ``"skip"``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from taperwise.errors import DataFileError, ValidationError
from taperwise.provenance import provenance
from taperwise.signals.normalize import ProductNormalizer

__all__ = ["CaersIngestReport", "ingest_caers"]

log = logging.getLogger(__name__)

_ALIASES = {
    "id": ("rareport", "reportid", "report", "rareportnumber"),
    "product": ("prireportedbrandproductname", "product", "productname"),
    "role": ("priproductrole", "producttype", "productrole"),
    "industry_code": ("prifdaindustrycode", "productcode", "industrycode"),
    "age": ("ciageatadverseevent", "patientage", "age"),
    "age_unit": ("ciageunit", "ageunits", "ageunit"),
    "sex": ("cigender", "sex", "gender"),
    "pts": ("symonerowcodedsymptoms", "meddrapreferredterms", "symptoms"),
}
_AGE_FACTORS = {"YEAR": 1.0, "MONTH": 1 / 12, "WEEK": 7 / 365.25, "DAY": 1 / 365.25, "DECADE": 10.0}


@dataclass
class CaersIngestReport:
    """Counts of a CAERS ingest."""

    path: str
    encoding: str
    lines: int
    rows: int
    reports: int
    skipped: int
    without_pt: int
    first_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def _fold(h: str) -> str:
    return re.sub(r"[^a-z0-9]", "", h.lower())


def _age_years(age: str, unit: str) -> float | None:
    try:
        value = float(age)
    except (TypeError, ValueError):
        return None
    u = unit.strip().upper()
    for key, factor in _AGE_FACTORS.items():
        if u.startswith(key):
            return value * factor
    return None


def _age_group(years: float | None) -> str:
    if years is None:
        return "unknown"
    return "under_18" if years < 18 else "18_plus"


def _role(value: str) -> str:
    v = value.strip().upper()
    if v.startswith("SUSPECT"):
        return "SS"
    if v.startswith("CONCOMITANT"):
        return "C"
    return v or "SS"


def ingest_caers(
    path: str | Path,
    out: str | Path,
    *,
    on_error: str = "fail",
    synonyms: str | Path | None = None,
    industry_code: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> CaersIngestReport:
    """Ingest one CAERS CSV into the dataset folder ``out`` (``caers.parquet`` + manifest).

    A CAERS product role "Suspect" is stored as ``SS`` and "Concomitant" as ``C``, so the
    default role filter (PS, SS) keeps suspect products; a file without a role column marks
    every product suspect.
    """
    if on_error not in ("fail", "skip"):
        raise ValidationError(f"on_error '{on_error}' is not allowed; use fail or skip")
    path, out = Path(path), Path(out)
    if not path.is_file():
        raise DataFileError(f"{path}: CAERS file not found")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise DataFileError(f"{path}:1: empty file (no header)")
    folded = [_fold(h) for h in header]
    index: dict[str, int] = {}
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in folded:
                index[key] = folded.index(alias)
                break
    for needed in ("id", "product", "pts"):
        if needed not in index:
            raise DataFileError(
                f"{path}:1: no {needed} column; expected one of {', '.join(_ALIASES[needed])} (case/punctuation ignored)"
            )
    normalizer = ProductNormalizer.default(synonyms)
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "id",
            "product_raw",
            "drug",
            "event",
            "role",
            "sex",
            "age_years",
            "age_group",
            "industry_code",
        )
    }
    report = CaersIngestReport(str(path), encoding, 0, 0, 0, 0, 0)
    ids: set[str] = set()
    width = len(header)
    cache: dict[str, str] = {}

    def get(row: list[str], key: str) -> str:
        i = index.get(key)
        return row[i].strip() if i is not None else ""

    for row in reader:
        report.lines += 1
        if not row or all(not c.strip() for c in row):
            continue
        problem = None
        if len(row) != width:
            problem = f"expected {width} fields, got {len(row)}"
        elif not get(row, "id"):
            problem = "empty report id"
        elif not get(row, "product"):
            problem = "empty product name"
        if problem:
            message = f"{path}:{reader.line_num}: {problem}"
            if on_error == "fail":
                raise DataFileError(message + " (use --on-error skip to drop malformed lines)")
            report.skipped += 1
            if len(report.first_errors) < 5:
                report.first_errors.append(message)
            log.warning(message)
            continue
        code = get(row, "industry_code")
        if industry_code is not None and code != str(industry_code):
            continue
        rid = get(row, "id")
        product = get(row, "product")
        pts = [p.strip() for p in get(row, "pts").split(", ") if p.strip()]
        if not pts:
            report.without_pt += 1
            continue
        if product not in cache:
            cache[product] = normalizer(product)
        years = _age_years(get(row, "age"), get(row, "age_unit"))
        sex = get(row, "sex") or "Not Available"
        role = _role(get(row, "role")) if "role" in index else "SS"
        ids.add(rid)
        for pt in pts:
            cols["id"].append(rid)
            cols["product_raw"].append(product)
            cols["drug"].append(cache[product])
            cols["event"].append(pt)
            cols["role"].append(role)
            cols["sex"].append(sex)
            cols["age_years"].append(years)
            cols["age_group"].append(_age_group(years))
            cols["industry_code"].append(code or None)
    report.rows = len(cols["id"])
    report.reports = len(ids)
    out.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {k: pa.array(v, pa.float64() if k == "age_years" else pa.string()) for k, v in cols.items()}
    )
    pq.write_table(table, out / "caers.parquet", compression="zstd")
    manifest = {
        "source": "caers",
        "input": str(path),
        "on_error": on_error,
        "industry_code": industry_code,
        "ingest": report.as_dict(),
        "provenance": provenance(
            {"on_error": on_error, "synonyms": str(synonyms) if synonyms else None}
        ),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if progress:
        progress(f"wrote {report.rows} rows")
    return report
