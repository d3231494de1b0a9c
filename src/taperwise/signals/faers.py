"""FAERS quarterly ASCII extract -> Parquet dataset (latest case version, deleted cases dropped).

Reads every ``DEMOyyQq.TXT``, ``DRUG..``, ``REAC..``, ``OUTC..``, ``RPSR..``, ``THER..`` and
``INDI..`` file below a folder (any capitalisation, any nesting: one folder per quarter is
fine) and the FDA deleted-case lists (any ``.txt`` in a folder called ``Deleted``, or a file
named ``DELETE*.txt``; one caseid per line). Handled quirks (pharmacovigilance.md §3.1):

* UTF-8 or Latin-1 per file (UTF-8 tried first), a UTF-8 BOM, ``\\r\\n`` line ends;
* header names with stray spaces (``" rept_dt"``) and legacy AERS names (``isr`` ->
  ``primaryid``, ``case`` -> ``caseid``, ``gndr_cod`` -> ``sex``, ``lot_nbr`` -> ``lot_num``,
  ``outc_code`` -> ``outc_cod``; legacy files have no ``caseversion``);
* a stray trailing ``$`` on data rows (legacy files) or on the header;
* malformed lines (too few or too many fields: two records run together, a ``$`` inside a
  field): ``on_error="fail"`` raises with ``file:line``; ``"skip"`` drops the line and counts
  it. Nothing is dropped silently: the counts are returned and written to ``manifest.json``.

Deduplication: per caseid keep the version with the highest caseversion, then latest
``fda_dt``, then latest quarter, then highest primaryid; then drop caseids on the deleted lists;
child tables keep only rows of a kept (primaryid, quarter).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from taperwise.errors import DataFileError, ValidationError
from taperwise.provenance import provenance
from taperwise.signals.normalize import ProductNormalizer

__all__ = ["FaersIngestReport", "TABLES", "ingest_faers", "parse_faers_file"]

log = logging.getLogger(__name__)

TABLES = ("demo", "drug", "reac", "outc", "rpsr", "ther", "indi")
_FILE_RE = re.compile(r"^(demo|drug|reac|outc|rpsr|ther|indi)(\d{2})q([1-4])\.txt$", re.IGNORECASE)
_RENAMES = {
    "isr": "primaryid",
    "case": "caseid",
    "gndr_cod": "sex",
    "lot_nbr": "lot_num",
    "outc_code": "outc_cod",
    "i_f_cod": "i_f_code",
}
_CHUNK = 200_000


@dataclass
class FileReport:
    """What happened to one input file."""

    path: str
    table: str
    quarter: str
    encoding: str
    rows: int = 0
    skipped: int = 0
    repaired_trailing_dollar: int = 0
    first_errors: list[str] = field(default_factory=list)


@dataclass
class FaersIngestReport:
    """Counts of a FAERS ingest (also written to ``manifest.json``)."""

    files: list[FileReport]
    report_versions: int
    latest_versions: int
    deleted_listed: int
    reports: int
    rows: dict[str, int]
    skipped_lines: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        log.info("%s is not UTF-8; reading it as Latin-1", path)
        return raw.decode("latin-1"), "latin-1"


def _header(line: str) -> list[str]:
    names = [h.strip().lower().lstrip("\ufeff") for h in line.rstrip("\r\n").split("$")]
    if names and names[-1] == "":
        names = names[:-1]
    return [_RENAMES.get(n, n) for n in names]


def parse_faers_file(
    path: Path, *, on_error: str = "fail", chunk_rows: int = _CHUNK
) -> tuple[list[str], Iterator[dict[str, list[str]]], FileReport]:
    """Parse one ``$``-delimited FAERS file.

    Returns the (renamed) header, an iterator of column-dict chunks (all values strings, empty
    string for missing) and the file's :class:`FileReport` (filled while iterating).
    """
    if on_error not in ("fail", "skip"):
        raise ValidationError(f"on_error '{on_error}' is not allowed; use fail or skip")
    m = _FILE_RE.match(path.name)
    if not m:
        raise DataFileError(f"{path}: not a FAERS quarterly file name (e.g. DRUG12Q4.TXT)")
    table = m.group(1).lower()
    quarter = f"{2000 + int(m.group(2))}Q{m.group(3)}"
    text, encoding = _decode(path.read_bytes(), path)
    lines = text.splitlines()
    report = FileReport(str(path), table, quarter, encoding)
    if not lines:
        raise DataFileError(f"{path}:1: empty file (no header)")
    header = _header(lines[0])
    if "primaryid" not in header:
        raise DataFileError(f"{path}:1: header has no primaryid/isr column; got {'$'.join(header)}")
    width = len(header)

    def chunks() -> Iterator[dict[str, list[str]]]:
        cols: list[list[str]] = [[] for _ in range(width)]
        count = 0
        for lineno, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            fields = line.split("$")
            if len(fields) == width + 1 and fields[-1].strip() == "":
                fields.pop()
                report.repaired_trailing_dollar += 1
            if len(fields) != width:
                message = (
                    f"{path}:{lineno}: expected {width} '$'-separated fields, got {len(fields)}"
                )
                if on_error == "fail":
                    raise DataFileError(message + " (use --on-error skip to drop malformed lines)")
                report.skipped += 1
                if len(report.first_errors) < 5:
                    report.first_errors.append(message)
                log.warning(message)
                continue
            for i, value in enumerate(fields):
                cols[i].append(value.strip())
            count += 1
            if count % chunk_rows == 0:
                report.rows += chunk_rows
                yield dict(zip(header, cols, strict=True))
                cols = [[] for _ in range(width)]
        rest = len(cols[0])
        report.rows += rest
        if rest or report.rows == 0:
            yield dict(zip(header, cols, strict=True))

    return header, chunks(), report


def _find_files(folder: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    found: dict[str, list[Path]] = {t: [] for t in TABLES}
    deleted: list[Path] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        m = _FILE_RE.match(path.name)
        if m:
            found[m.group(1).lower()].append(path)
        elif path.suffix.lower() == ".txt" and (
            any(part.lower() == "deleted" for part in path.parent.parts)
            or path.name.lower().startswith("delete")
        ):
            deleted.append(path)
    return found, deleted


def _read_deleted(paths: list[Path], on_error: str, skipped: list[str]) -> list[str]:
    ids: list[str] = []
    for path in paths:
        text, _ = _decode(path.read_bytes(), path)
        for lineno, line in enumerate(text.splitlines(), start=1):
            value = line.strip().rstrip("$").strip()
            if not value:
                continue
            if not value.isdigit():
                if lineno == 1 and value.replace("_", "").isalpha():
                    continue  # a header line such as "caseid"
                message = f"{path}:{lineno}: deleted-case list line is not a caseid: {value[:40]!r}"
                if on_error == "fail":
                    raise DataFileError(message)
                skipped.append(message)
                continue
            ids.append(value)
    return ids


def ingest_faers(
    folder: str | Path,
    out: str | Path,
    *,
    on_error: str = "fail",
    synonyms: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> FaersIngestReport:
    """Ingest FAERS quarterly ASCII files below ``folder`` into the dataset folder ``out``.

    ``out`` receives ``demo.parquet``, ``drug.parquet`` (with ``drug`` = normalised
    ``prod_ai`` or, when empty, ``drugname``), ``reac.parquet``, ``outc/rpsr/ther/indi.parquet``
    when present, and ``manifest.json``.
    """
    import duckdb

    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise DataFileError(f"{folder}: FAERS folder not found")
    found, deleted_files = _find_files(folder)
    if not found["demo"]:
        raise DataFileError(
            f"{folder}: no DEMOyyQq.TXT file found (expected FAERS quarterly ASCII files)"
        )
    for needed in ("drug", "reac"):
        if not found[needed]:
            raise DataFileError(f"{folder}: no {needed.upper()}yyQq.TXT file found")
    out.mkdir(parents=True, exist_ok=True)
    staging = out / "_staging"
    if staging.exists():
        shutil.rmtree(staging)
    reports: list[FileReport] = []
    try:
        for table in TABLES:
            for i, path in enumerate(found[table]):
                if progress:
                    progress(f"reading {path.name}")
                header, chunks, rep = parse_faers_file(path, on_error=on_error)
                target = staging / table / f"{i:04d}_{rep.quarter}.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                schema = pa.schema([(h, pa.string()) for h in header] + [("quarter", pa.string())])
                with pq.ParquetWriter(target, schema, compression="zstd") as writer:
                    for cols in chunks:
                        n_rows = len(next(iter(cols.values()))) if cols else 0
                        arrays = [pa.array(cols[h], pa.string()) for h in header]
                        arrays.append(pa.array([rep.quarter] * n_rows, pa.string()))
                        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                reports.append(rep)
        skipped_deleted: list[str] = []
        deleted_ids = _read_deleted(deleted_files, on_error, skipped_deleted)
        if progress:
            progress("deduplicating cases")
        con = duckdb.connect()
        con.execute(f"SET temp_directory = '{staging / 'duck'}'")

        def glob(table: str) -> str:
            return f"read_parquet('{staging / table}/*.parquet', union_by_name=true)"

        con.execute(f"CREATE TABLE demo_all AS SELECT * FROM {glob('demo')}")
        cols = {r[0] for r in con.execute("DESCRIBE demo_all").fetchall()}
        version = "TRY_CAST(caseversion AS BIGINT)" if "caseversion" in cols else "NULL::BIGINT"
        fda_dt = "nullif(fda_dt, '')" if "fda_dt" in cols else "NULL"
        case = (
            "coalesce(nullif(caseid, ''), 'p' || primaryid)"
            if "caseid" in cols
            else "'p' || primaryid"
        )
        con.register(
            "deleted_ids", pa.table({"caseid": pa.array(sorted(set(deleted_ids)), pa.string())})
        )
        con.execute(
            "CREATE TABLE demo_latest AS SELECT * EXCLUDE (rn) FROM ("
            f"SELECT *, {case} AS case_key, row_number() OVER (PARTITION BY {case} ORDER BY {version} DESC NULLS LAST, "
            f"{fda_dt} DESC NULLS LAST, quarter DESC, TRY_CAST(primaryid AS BIGINT) DESC NULLS LAST) AS rn "
            "FROM demo_all) WHERE rn = 1"
        )
        n_versions = con.execute("SELECT count(*) FROM demo_all").fetchone()[0]
        n_latest = con.execute("SELECT count(*) FROM demo_latest").fetchone()[0]
        sex = "upper(nullif(sex, ''))" if "sex" in cols else "NULL"
        age_grp = "nullif(age_grp, '')" if "age_grp" in cols else "NULL"
        occr = "nullif(occr_country, '')" if "occr_country" in cols else "NULL"
        con.execute(
            "CREATE TABLE demo AS SELECT * EXCLUDE (case_key), "
            f"{sex} AS sex_norm, {age_grp} AS age_grp_norm, {occr} AS occr_country_norm, "
            f"substr({fda_dt}, 1, 4) AS year FROM demo_latest "
            "WHERE case_key NOT IN (SELECT caseid FROM deleted_ids)"
        )
        for name in ("sex", "age_grp", "occr_country"):
            if name in cols:
                con.execute(f"ALTER TABLE demo DROP COLUMN {name}")
            con.execute(f"ALTER TABLE demo RENAME COLUMN {name}_norm TO {name}")
        n_reports = con.execute("SELECT count(*) FROM demo").fetchone()[0]
        con.execute(f"COPY demo TO '{out / 'demo.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute("CREATE TABLE keys AS SELECT primaryid, quarter FROM demo")
        rows: dict[str, int] = {"demo": int(n_reports)}
        normalizer = ProductNormalizer.default(synonyms)
        for table in TABLES[1:]:
            if not found[table]:
                continue
            con.execute(
                f"CREATE TABLE t AS SELECT x.* FROM {glob(table)} x JOIN keys k "
                "ON x.primaryid = k.primaryid AND x.quarter = k.quarter"
            )
            if table == "drug":
                tcols = {r[0] for r in con.execute("DESCRIBE t").fetchall()}
                prod = "nullif(prod_ai, '')" if "prod_ai" in tcols else "NULL"
                name = "nullif(drugname, '')" if "drugname" in tcols else "NULL"
                con.execute("ALTER TABLE t ADD COLUMN product_raw VARCHAR DEFAULT NULL")
                con.execute(f"UPDATE t SET product_raw = coalesce({prod}, {name})")
                raw = con.execute(
                    "SELECT DISTINCT product_raw FROM t WHERE product_raw IS NOT NULL"
                ).fetchall()
                mapping = normalizer.map_names(r[0] for r in raw)
                con.register(
                    "pmap", pa.table({"raw": list(mapping), "drug": list(mapping.values())})
                )
                if "role_cod" in tcols:
                    con.execute("UPDATE t SET role_cod = upper(trim(role_cod))")
                con.execute(
                    "CREATE TABLE t2 AS SELECT t.*, p.drug FROM t LEFT JOIN pmap p ON t.product_raw = p.raw"
                )
                con.execute("DROP TABLE t")
                con.execute("ALTER TABLE t2 RENAME TO t")
            rows[table] = int(con.execute("SELECT count(*) FROM t").fetchone()[0])
            con.execute(
                f"COPY t TO '{out / (table + '.parquet')}' (FORMAT parquet, COMPRESSION zstd)"
            )
            con.execute("DROP TABLE t")
        if "role_cod" not in {
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{out / 'drug.parquet'}')"
            ).fetchall()
        }:
            raise DataFileError(f"{folder}: DRUG files have no role_cod column")
        con.close()
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    skipped = sum(r.skipped for r in reports) + len(skipped_deleted)
    result = FaersIngestReport(
        files=reports,
        report_versions=int(n_versions),
        latest_versions=int(n_latest),
        deleted_listed=len(set(deleted_ids)),
        reports=int(n_reports),
        rows=rows,
        skipped_lines=skipped,
    )
    manifest = {
        "source": "faers",
        "input": str(folder),
        "on_error": on_error,
        "ingest": result.as_dict(),
        "deleted_list_errors": skipped_deleted[:5],
        "provenance": provenance(
            {"on_error": on_error, "synonyms": str(synonyms) if synonyms else None}
        ),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return result
