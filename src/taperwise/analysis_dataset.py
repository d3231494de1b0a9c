"""The analysis dataset: the one door between capture and statistics (DESIGN.md §1).

The store exports it, the simulator generates it and the CTN-0094 importer produces it; the analysis
pipeline reads nothing else. It is a bundle of tidy tables:

``participants``
    one row per participant: study, participant, site, arm, arm_label, strata, opioid_class,
    randomised, randomised_at, first_dose_at, completed, exit_day, exit_reason.
``assessments``
    one row per instrument administration (long): study, participant, site, arm, strata, day,
    hours_since_first_dose, hours_since_last_opioid, stage, visit, instrument, version, total,
    subtotal_no_gi, complete, gi_attributed_to_product, items (JSON object of item scores).
``doses``
    study, participant, arm, day, hours_since_first_dose, amount, unit, given, hold_reason.
``adverse_events``
    study, participant, arm, day, term, grade, serious, related, outcome, led_to_discontinuation.
``vitals``
    study, participant, arm, day, hours_since_first_dose, sbp, dbp, hr, symptomatic.
``alerts``
    study, participant, arm, day, rule_id, severity, acknowledged.

``day`` is the study day: day 1 is the calendar day of the first dose (or of randomisation when no
dose is recorded); day 0 is the baseline / pre-dose day. ``arm`` holds the arm id, or the blinded
code when the dataset is exported blinded (``meta["blinded"]``).

On disk (``--format analysis``) it is a folder holding one Parquet file per table and
``manifest.json`` (study, source, protocol id and version, blinded flag, created, row counts).
``--format csv`` writes the same tables as CSV files.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from taperwise.errors import DataFileError

PARTICIPANT_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "site",
    "arm",
    "arm_label",
    "strata",
    "opioid_class",
    "randomised",
    "randomised_at",
    "first_dose_at",
    "completed",
    "exit_day",
    "exit_reason",
)

ASSESSMENT_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "site",
    "arm",
    "strata",
    "day",
    "hours_since_first_dose",
    "hours_since_last_opioid",
    "stage",
    "visit",
    "instrument",
    "version",
    "total",
    "subtotal_no_gi",
    "complete",
    "gi_attributed_to_product",
    "items",
)

DOSE_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "arm",
    "day",
    "hours_since_first_dose",
    "amount",
    "unit",
    "given",
    "hold_reason",
)

ADVERSE_EVENT_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "arm",
    "day",
    "term",
    "grade",
    "serious",
    "related",
    "outcome",
    "led_to_discontinuation",
)

VITALS_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "arm",
    "day",
    "hours_since_first_dose",
    "sbp",
    "dbp",
    "hr",
    "symptomatic",
)

ALERT_COLUMNS: tuple[str, ...] = (
    "study",
    "participant",
    "arm",
    "day",
    "rule_id",
    "severity",
    "acknowledged",
)

TABLES: dict[str, tuple[str, ...]] = {
    "participants": PARTICIPANT_COLUMNS,
    "assessments": ASSESSMENT_COLUMNS,
    "doses": DOSE_COLUMNS,
    "adverse_events": ADVERSE_EVENT_COLUMNS,
    "vitals": VITALS_COLUMNS,
    "alerts": ALERT_COLUMNS,
}

#: Tables that must have at least one row for an analysis to make sense.
REQUIRED_NONEMPTY = ("participants",)


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the columns of table ``name``."""
    return pd.DataFrame({column: pd.Series(dtype="object") for column in TABLES[name]})


def _conform(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return empty_table(name)
    missing = [c for c in TABLES[name] if c not in frame.columns]
    if missing:
        raise DataFileError(
            f"analysis dataset table '{name}' lacks column(s) {', '.join(missing)}; "
            f"required: {', '.join(TABLES[name])}"
        )
    extra = [c for c in frame.columns if c not in TABLES[name]]
    return frame.loc[:, list(TABLES[name]) + extra].reset_index(drop=True)


@dataclass(frozen=True)
class AnalysisDataset:
    """The tables between capture and analysis, with where they came from.

    Examples
    --------
    >>> ds = AnalysisDataset.empty(study="demo", source="example")
    >>> list(ds.participants.columns)[:3]
    ['study', 'participant', 'site']
    """

    participants: pd.DataFrame
    assessments: pd.DataFrame
    doses: pd.DataFrame = field(default_factory=lambda: empty_table("doses"))
    adverse_events: pd.DataFrame = field(default_factory=lambda: empty_table("adverse_events"))
    vitals: pd.DataFrame = field(default_factory=lambda: empty_table("vitals"))
    alerts: pd.DataFrame = field(default_factory=lambda: empty_table("alerts"))
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in TABLES:
            object.__setattr__(self, name, _conform(name, getattr(self, name)))

    @classmethod
    def empty(cls, **meta: Any) -> AnalysisDataset:
        return cls(
            participants=empty_table("participants"),
            assessments=empty_table("assessments"),
            meta=dict(meta),
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def filter_study(self, study: str) -> AnalysisDataset:
        """The same dataset restricted to one study."""
        parts = {
            name: frame[frame["study"] == study].reset_index(drop=True)
            for name, frame in self.tables().items()
        }
        return AnalysisDataset(**parts, meta={**self.meta, "study": study})

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables().items()}

    # ------------------------------------------------------------------ on disk
    def write(self, path: str | Path, *, format: str = "analysis") -> Path:
        """Write the tables to a folder (``analysis``/``parquet``: Parquet, ``csv``: CSV)."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables().items():
            if format in ("analysis", "parquet"):
                _to_parquet(frame, out / f"{name}.parquet")
            elif format == "csv":
                frame.to_csv(out / f"{name}.csv", index=False)
            else:
                raise DataFileError(
                    f"unknown dataset format '{format}'; allowed: analysis, parquet, csv"
                )
        manifest = {
            **self.meta,
            "format": format,
            "tables": self.counts(),
            "written": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return out

    @classmethod
    def read(cls, path: str | Path) -> AnalysisDataset:
        """Read a dataset folder written by :meth:`write` (Parquet or CSV tables)."""
        folder = Path(path)
        if not folder.is_dir():
            raise DataFileError(
                f"{folder}: not an analysis dataset folder (expected manifest.json and tables)"
            )
        meta: dict[str, Any] = {}
        manifest = folder / "manifest.json"
        if manifest.exists():
            meta = json.loads(manifest.read_text())
        parts: dict[str, pd.DataFrame] = {}
        for name in TABLES:
            parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
            if parquet.exists():
                parts[name] = pd.read_parquet(parquet)
            elif csv.exists():
                parts[name] = pd.read_csv(csv)
            elif name in REQUIRED_NONEMPTY or name == "assessments":
                raise DataFileError(f"{folder}: missing table {name}.parquet or {name}.csv")
            else:
                parts[name] = empty_table(name)
        return cls(**parts, meta=meta)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    clean = frame.copy()
    for column in clean.columns:
        if clean[column].dtype == object:
            # Parquet needs one type per column; keep None as null and stringify mixed values.
            clean[column] = clean[column].map(
                lambda v: v if v is None or isinstance(v, str) else _scalar(v)
            )
    clean.to_parquet(path, index=False)


def _scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)
