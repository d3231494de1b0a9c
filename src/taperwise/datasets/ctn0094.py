"""Read the CTN-0094 harmonised trial data as three analysis datasets.

The folder holds the CSV exports of the R package **public.ctn0094data 1.0.6** (MIT licence; see
``reference-data/ctn0094/README.md``). :func:`read_ctn0094` turns them into one
:class:`~taperwise.analysis_dataset.AnalysisDataset` per trial: ``ctn0027`` (methadone vs
buprenorphine-naloxone), ``ctn0030`` (buprenorphine-naloxone with standard vs enhanced medical
management, phase 1) and ``ctn0051`` (extended-release naltrexone vs buprenorphine-naloxone).
It is a pure reader: files in, frames out, nothing written.

Mapping rules (also in ``docs/ctn0094.md``)
-------------------------------------------
Study day
    ``when`` in the source is the day relative to consent. Here ``day = when - R + 1`` where ``R``
    is the participant's first-randomisation day, so **day 1 is the day of randomisation** (not of
    the first dose, as in stores that know dose times; the trials are analysed from
    randomisation). Days before randomisation are 0 or negative. The source day is kept as the
    extra column ``day_since_consent``. Participants never randomised have no study day (null).
Participants
    Everyone in ``everybody.csv`` for the trial, randomised or not. ``participant`` is
    ``"{study}-{who}"``; ``site`` ``"unknown"`` (no site column in these tables); ``strata`` ``""``;
    ``opioid_class`` ``"unknown"``. ``arm`` = ``arm_label`` = the treatment of the first
    randomisation (``which == 1``). In CTN-0027 and CTN-0051 every ``which == 2`` row repeats the
    ``which == 1`` row (same arm, same day) and is ignored; in CTN-0030 ``which == 2`` is the phase 2
    re-randomisation, kept as extra columns ``arm_phase2`` and ``phase2_day`` (study day).
    ``randomised_at`` / ``first_dose_at`` are null (the data carry days, not dates); extra columns
    ``randomised_day_since_consent`` and ``first_dose_day`` (first study day >= 1 with a dose).
Retention (``completed``, ``exit_day``, ``exit_reason``)
    Planned treatment length ``planned_days`` comes from ``meta_study_length.csv``: the weeks of the
    phase 1 stages of the arm other than post-medication follow-up, times 7 (168 days in CTN-0027
    and CTN-0051, 28 days for CTN-0030 phase 1: stabilisation plus taper). A participant is *on
    medication* on every study day >= 1 with a recorded dose; an extended-release naltrexone
    injection (amount 1) covers its day and the 27 days after it. In CTN-0030 only days before the
    phase 2 randomisation count (phase 1 ends there). ``last_dose_day`` is the last day on
    medication. ``completed`` is true when ``last_dose_day >= planned_days - 7`` (a one-week visit
    window). ``exit_day`` is ``min(last_dose_day, planned_days)``, or 1 (randomisation day) when no
    dose was ever given. Attended visits are *not* used for completion (follow-up visits continue
    after medication stops); ``last_visit_day`` (last attended visit, any day) is an extra column.
    ``exit_reason``: ``completed``; ``not_randomised``; ``entered_phase2`` (CTN-0030, re-randomised
    before the planned end); ``never_dosed``; otherwise the first visit-record reason flag found
    for the participant in the order died, withdrew, incarcerated, moved, dropped_noncompliance,
    hospitalised; otherwise ``stopped_medication``. The reason flags are undated for missed visits
    in CTN-0027 and CTN-0051, so the reason is "a reason recorded for this participant", not a
    verified cause of exit.
Assessments
    One row per ``withdrawal.csv`` row: instrument ``withdrawal_band`` version ``1.0.0``,
    ``total`` = the band 0-3 (NaN where the source is missing, then ``complete`` false),
    ``items`` = JSON ``{"band": value}``, ``visit`` = ``"day{day}"``, ``hours_since_first_dose`` =
    ``24 * (day - first_dose_day)``. ``subtotal_no_gi``, ``hours_since_last_opioid``, ``stage`` and
    ``gi_attributed_to_product`` are unknown (null).
Doses
    ``treatment.csv`` summed per participant and day (89 source rows share a day with another row,
    nearly all in CTN-0030; ``n_records`` says how many were summed). ``unit`` is ``"mg"`` except
    for extended-release naltrexone, where the source records one injection as amount 1 (unit
    ``"injection"``). Extra column ``product``.
Adverse events, vitals, alerts
    Empty: the harmonised data have none.

Examples
--------
>>> from taperwise.datasets.ctn0094 import read_ctn0094, retention_summary
>>> data = read_ctn0094("../shared/reference-data/ctn0094")  # doctest: +SKIP
>>> retention_summary(data["ctn0027"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import DataFileError

log = logging.getLogger(__name__)

STUDY_IDS: dict[int, str] = {27: "ctn0027", 30: "ctn0030", 51: "ctn0051"}
INSTRUMENT = "withdrawal_band"
INSTRUMENT_VERSION = (
    "1.0.0"  # version of the withdrawal_band definition; the source package version is in meta
)
PACKAGE = "public.ctn0094data 1.0.6"
LICENCE = "MIT"
CITATION = (
    "Balise R, Odom G, Calderon A. public.ctn0094data: De-Identified Data from CTN-0094 "
    "(R package version 1.0.6, 2023). Data harmonised by NIDA Clinical Trials Network protocol "
    "CTN-0094 from CTN-0027, CTN-0030 and CTN-0051."
)
#: Days before the planned end within which a last dose still counts as completion.
GRACE_DAYS = 7
#: Days one extended-release naltrexone injection covers (monthly injection).
INJECTION_COVER_DAYS = 28
INJECTION_ARMS = frozenset({"Inpatient NR-NTX"})
PRODUCTS: dict[str, str] = {
    "Methadone": "methadone",
    "Outpatient BUP": "buprenorphine-naloxone",
    "Outpatient BUP + EMM": "buprenorphine-naloxone",
    "Outpatient BUP + SMM": "buprenorphine-naloxone",
    "Inpatient BUP": "buprenorphine-naloxone",
    "Inpatient NR-NTX": "extended-release naltrexone",
}
#: Visit-record reason flags, in the order used for ``exit_reason``.
EXIT_FLAGS: tuple[tuple[str, str], ...] = (
    ("is_dead", "died"),
    ("is_left_study", "withdrew"),
    ("is_in_jail", "incarcerated"),
    ("is_moved", "moved"),
    ("is_missing_14_consecutive", "dropped_noncompliance"),
    ("is_in_hospital", "hospitalised"),
)
ATTENDED = frozenset({"visit", "final"})

_COLUMNS: dict[str, tuple[str, ...]] = {
    "everybody.csv": ("who", "project"),
    "randomization.csv": ("who", "treatment", "which", "when"),
    "treatment.csv": ("who", "amount", "when"),
    "withdrawal.csv": ("who", "withdrawal", "when"),
    "visit.csv": ("who", "what", "when", *(flag for flag, _ in EXIT_FLAGS)),
    "meta_study_length.csv": ("project", "treatment", "phase", "stage", "weeks", "description"),
}


# --------------------------------------------------------------------------- reading
def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise DataFileError(f"{path}: missing; a CTN-0094 folder needs {', '.join(_COLUMNS)}")
    wanted = _COLUMNS[name]
    try:
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in wanted if c not in header]
        if missing:
            raise DataFileError(
                f"{path}:1: lacks column(s) {', '.join(missing)}; required: {', '.join(wanted)}"
            )
        return pd.read_csv(path, usecols=list(wanted))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({exc})") from exc


def _show(value: object) -> str:
    """A number as a person writes it (7, 2.5), not as numpy reprs it."""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _numeric(frame: pd.DataFrame, column: str, path: Path, *, allow_na: bool = True) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if not allow_na:
        bad |= frame[column].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"{path}:{row + 2}: column '{column}' got {frame[column].iloc[row]!r}; a number is required"
        )
    return values


def _load(folder: Path) -> dict[str, pd.DataFrame]:
    if not folder.is_dir():
        raise DataFileError(f"{folder}: not a folder; expected the CTN-0094 CSV files")
    raw = {name: _read(folder, name) for name in _COLUMNS}
    for name, numeric in (
        ("everybody.csv", ("who", "project")),
        ("randomization.csv", ("who", "which", "when")),
        ("treatment.csv", ("who", "amount", "when")),
        ("withdrawal.csv", ("who", "withdrawal", "when")),
        ("visit.csv", ("who", "when")),
        ("meta_study_length.csv", ("project", "phase", "stage", "weeks")),
    ):
        frame = raw[name]
        for column in numeric:
            frame[column] = _numeric(
                frame, column, folder / name, allow_na=column in ("when", "withdrawal")
            )
    everybody = raw["everybody.csv"]
    unknown = ~everybody["project"].isin(list(STUDY_IDS))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataFileError(
            f"{folder / 'everybody.csv'}:{row + 2}: project {_show(everybody['project'].iloc[row])}; "
            f"allowed {', '.join(str(p) for p in STUDY_IDS)}"
        )
    bands = raw["withdrawal.csv"]["withdrawal"]
    bad = bands.notna() & ~bands.isin([0, 1, 2, 3])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"{folder / 'withdrawal.csv'}:{row + 2}: withdrawal band {_show(bands.iloc[row])}; allowed 0, 1, 2, 3"
        )
    amounts = raw["treatment.csv"]["amount"]
    if (amounts < 0).any():
        row = int(np.flatnonzero((amounts < 0).to_numpy())[0])
        raise DataFileError(
            f"{folder / 'treatment.csv'}:{row + 2}: amount {_show(amounts.iloc[row])}; allowed >= 0"
        )
    return raw


def planned_days(meta: pd.DataFrame) -> dict[tuple[int, str], int]:
    """Planned phase 1 medication days per (project, arm) from ``meta_study_length.csv``.

    Stages described as post-medication follow-up are left out.

    Examples
    --------
    >>> meta = pd.DataFrame({"project": [30, 30, 30], "treatment": ["A"] * 3, "phase": [1, 1, 1],
    ...                      "stage": [1, 2, 3], "weeks": [2.0, 2.0, 8.0],
    ...                      "description": ["Stabilization", "Taper", "Post-medication follow-up"]})
    >>> planned_days(meta)
    {(30, 'A'): 28}
    """
    on_med = meta[(meta["phase"] == 1) & ~meta["description"].str.contains("follow-up", case=False)]
    weeks = on_med.groupby(["project", "treatment"])["weeks"].sum()
    return {(int(p), str(t)): int(round(w * 7)) for (p, t), w in weeks.items()}


# --------------------------------------------------------------------------- building
def _people(raw: dict[str, pd.DataFrame], folder: Path) -> pd.DataFrame:
    """One row per participant (index ``who``): study, arm, randomisation day, phase 2."""
    people = raw["everybody.csv"].drop_duplicates("who").set_index("who")
    people["study"] = people["project"].map(STUDY_IDS)
    rand = raw["randomization.csv"]
    first = rand[rand["which"] == 1].drop_duplicates("who").set_index("who")
    people["arm"] = first["treatment"].reindex(people.index)
    people["rday"] = first["when"].reindex(people.index)
    second = rand[(rand["which"] == 2)].drop_duplicates("who").set_index("who")
    second = second[second.index.isin(people.index[people["project"] == 30])]
    people["arm_phase2"] = second["treatment"].reindex(people.index)
    people["phase2_day"] = (second["when"].reindex(people.index) - people["rday"] + 1).astype(
        "Int64"
    )
    plan = planned_days(raw["meta_study_length.csv"])
    keys = list(zip(people["project"], people["arm"], strict=True))
    missing = {
        k
        for k, arm in zip(keys, people["arm"], strict=True)
        if isinstance(arm, str) and k not in plan
    }
    if missing:
        project, arm = sorted(missing)[0]
        raise DataFileError(
            f"{folder / 'meta_study_length.csv'}: no phase 1 length for project {project} arm '{arm}'; "
            f"known: {', '.join(f'{p}/{t}' for p, t in sorted(plan))}"
        )
    people["planned_days"] = pd.array([plan.get(k) for k in keys], dtype="Int64")
    return people


def _none_for_nan(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def _study_day(when: pd.Series, who: pd.Series, people: pd.DataFrame) -> pd.Series:
    rday = people["rday"].reindex(who.to_numpy()).to_numpy()
    return pd.Series(when.to_numpy() - rday + 1, index=when.index).round().astype("Int64")


def _doses(raw: dict[str, pd.DataFrame], people: pd.DataFrame) -> pd.DataFrame:
    src = raw["treatment.csv"]
    src = src[src["who"].isin(people.index) & (src["amount"] > 0)]
    daily = (
        src.groupby(["who", "when"], sort=True)["amount"]
        .agg(amount="sum", n_records="size")
        .reset_index()
    )
    daily["day"] = _study_day(daily["when"], daily["who"], people)
    return daily


def _participants(
    raw: dict[str, pd.DataFrame], people: pd.DataFrame, daily: pd.DataFrame
) -> pd.DataFrame:
    arm = people["arm"]
    # Days on medication (>= 1), an injection covering INJECTION_COVER_DAYS days.
    on = daily[daily["day"].notna() & (daily["day"] >= 1)]
    on_arm = arm.reindex(on["who"].to_numpy()).to_numpy()
    cover_end = on["day"].to_numpy(dtype=float) + np.where(
        np.isin(on_arm, list(INJECTION_ARMS)), INJECTION_COVER_DAYS - 1, 0
    )
    phase2 = (
        people["phase2_day"].reindex(on["who"].to_numpy()).to_numpy(dtype=float, na_value=np.nan)
    )
    in_phase1 = np.isnan(phase2) | (on["day"].to_numpy(dtype=float) < phase2)
    cover_end = np.where(np.isnan(phase2), cover_end, np.minimum(cover_end, phase2 - 1))
    meds = pd.DataFrame(
        {"who": on["who"].to_numpy(), "day": on["day"].to_numpy(dtype=float), "end": cover_end}
    )
    meds = meds[in_phase1]
    first_dose = on.groupby("who")["day"].min()
    last_dose = meds.groupby("who")["end"].max()

    visits = raw["visit.csv"]
    attended = visits[
        visits["what"].isin(ATTENDED) & visits["when"].notna() & visits["who"].isin(people.index)
    ]
    visit_day = _study_day(attended["when"], attended["who"], people)
    last_visit = visit_day.groupby(attended["who"].to_numpy()).max()
    flagged = visits[visits["who"].isin(people.index)]
    flags = flagged.groupby("who")[[f for f, _ in EXIT_FLAGS]].max().reindex(people.index)

    out = pd.DataFrame(index=people.index)
    randomised = arm.notna()
    planned = people["planned_days"].astype("float")
    last = last_dose.reindex(people.index)
    completed = randomised & last.notna() & (last >= planned - GRACE_DAYS)
    exit_day = np.where(last.notna(), np.minimum(last, planned), 1.0)
    reason = pd.Series("stopped_medication", index=people.index, dtype=object)
    for flag, label in reversed(EXIT_FLAGS):
        reason[flags[flag].fillna(0).to_numpy() > 0] = label
    reason[last.isna()] = "never_dosed"
    phase2 = people["phase2_day"].astype("float")
    reason[(phase2 <= planned).fillna(False).to_numpy()] = "entered_phase2"
    reason[completed.to_numpy()] = "completed"
    reason[~randomised.to_numpy()] = "not_randomised"

    out["study"] = people["study"]
    out["participant"] = people["study"] + "-" + people.index.astype(str)
    out["site"] = "unknown"
    out["arm"] = _none_for_nan(arm)
    out["arm_label"] = _none_for_nan(arm)
    out["strata"] = ""
    out["opioid_class"] = "unknown"
    out["randomised"] = randomised.to_numpy()
    out["randomised_at"] = None
    out["first_dose_at"] = None
    out["completed"] = completed.to_numpy()
    out["exit_day"] = (
        pd.array(np.where(randomised, exit_day, np.nan), dtype="Float64").round().astype("Int64")
    )
    out["exit_reason"] = reason
    out["randomised_day_since_consent"] = people["rday"].round().astype("Int64")
    out["first_dose_day"] = first_dose.reindex(people.index).astype("Int64")
    out["last_dose_day"] = last.round().astype("Int64")
    out["last_visit_day"] = last_visit.reindex(people.index).astype("Int64")
    out["planned_days"] = people["planned_days"]
    out["arm_phase2"] = _none_for_nan(people["arm_phase2"])
    out["phase2_day"] = people["phase2_day"]
    out["who"] = people.index.to_numpy()
    return out


def _assessments(
    raw: dict[str, pd.DataFrame], people: pd.DataFrame, parts: pd.DataFrame
) -> pd.DataFrame:
    src = raw["withdrawal.csv"]
    src = src[src["who"].isin(people.index)].sort_values(["who", "when"], kind="stable")
    who = src["who"].to_numpy()
    day = _study_day(src["when"], src["who"], people)
    first = parts["first_dose_day"].reindex(who).to_numpy(dtype=float, na_value=np.nan)
    band = src["withdrawal"].to_numpy(dtype=float)
    items = [json.dumps({"band": None if np.isnan(b) else int(b)}) for b in band]
    frame = pd.DataFrame(
        {
            "study": parts["study"].reindex(who).to_numpy(),
            "participant": parts["participant"].reindex(who).to_numpy(),
            "site": "unknown",
            "arm": parts["arm"].reindex(who).to_numpy(),
            "strata": "",
            "day": day.to_numpy(),
            "hours_since_first_dose": 24.0 * (day.to_numpy(dtype=float, na_value=np.nan) - first),
            "hours_since_last_opioid": np.nan,
            "stage": None,
            "visit": [None if pd.isna(d) else f"day{d}" for d in day],
            "instrument": INSTRUMENT,
            "version": INSTRUMENT_VERSION,
            "total": band,
            "subtotal_no_gi": np.nan,
            "complete": ~np.isnan(band),
            "gi_attributed_to_product": None,
            "items": items,
            "day_since_consent": src["when"].to_numpy(),
        }
    )
    frame["day"] = frame["day"].astype("Int64")
    return frame


def _dose_table(daily: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    who = daily["who"].to_numpy()
    arm = parts["arm"].reindex(who).to_numpy()
    first = parts["first_dose_day"].reindex(who).to_numpy(dtype=float, na_value=np.nan)
    day = daily["day"]
    injection = np.isin(arm, list(INJECTION_ARMS))
    frame = pd.DataFrame(
        {
            "study": parts["study"].reindex(who).to_numpy(),
            "participant": parts["participant"].reindex(who).to_numpy(),
            "arm": arm,
            "day": day.to_numpy(),
            "hours_since_first_dose": 24.0 * (day.to_numpy(dtype=float, na_value=np.nan) - first),
            "amount": daily["amount"].to_numpy(dtype=float),
            "unit": np.where(injection, "injection", "mg"),
            "given": True,
            "hold_reason": None,
            "product": [PRODUCTS.get(a) if isinstance(a, str) else None for a in arm],
            "n_records": daily["n_records"].to_numpy(),
            "day_since_consent": daily["when"].to_numpy(),
        }
    )
    frame["day"] = frame["day"].astype("Int64")
    return frame


def read_ctn0094(
    folder: str | Path, *, studies: tuple[str, ...] | None = None
) -> dict[str, AnalysisDataset]:
    """Read the CTN-0094 CSV folder into one analysis dataset per trial.

    Parameters
    ----------
    folder
        Folder with ``everybody.csv``, ``randomization.csv``, ``treatment.csv``,
        ``withdrawal.csv``, ``visit.csv`` and ``meta_study_length.csv``.
    studies
        Restrict to some of ``"ctn0027"``, ``"ctn0030"``, ``"ctn0051"`` (default: all three).

    Returns
    -------
    dict
        ``{"ctn0027": AnalysisDataset, "ctn0030": ..., "ctn0051": ...}``. The mapping rules are in
        the module docstring.

    Raises
    ------
    DataFileError
        A file is missing, lacks a column or holds a value out of range (message names file:line).

    Examples
    --------
    >>> data = read_ctn0094("../shared/reference-data/ctn0094")  # doctest: +SKIP
    >>> data["ctn0027"].participants.query("randomised")["arm"].value_counts().to_dict()  # doctest: +SKIP
    {'Outpatient BUP': 740, 'Methadone': 529}
    """
    root = Path(folder)
    wanted = tuple(STUDY_IDS.values()) if studies is None else tuple(studies)
    unknown = [s for s in wanted if s not in STUDY_IDS.values()]
    if unknown:
        raise DataFileError(
            f"unknown CTN-0094 study '{unknown[0]}'; allowed {', '.join(STUDY_IDS.values())}"
        )
    raw = _load(root)
    people = _people(raw, root)
    daily = _doses(raw, people)
    parts = _participants(raw, people, daily)
    assessments = _assessments(raw, people, parts)
    doses = _dose_table(daily, parts)
    dropped = (~raw["withdrawal.csv"]["who"].isin(people.index)).sum()
    if dropped:
        log.warning(
            "ctn0094: %d withdrawal rows belong to no trial in everybody.csv; skipped", dropped
        )
    out: dict[str, AnalysisDataset] = {}
    for study in wanted:
        out[study] = AnalysisDataset(
            participants=parts[parts["study"] == study].reset_index(drop=True),
            assessments=assessments[assessments["study"] == study].reset_index(drop=True),
            doses=doses[doses["study"] == study].reset_index(drop=True),
            meta={
                "study": study,
                "source": "ctn0094",
                "package": PACKAGE,
                "licence": LICENCE,
                "citation": CITATION,
                "day_anchor": "randomisation (day 1)",
                "retention_rule": f"last medication day >= planned_days - {GRACE_DAYS}",
                "blinded": False,
            },
        )
    return out


def retention_summary(ds: AnalysisDataset) -> pd.DataFrame:
    """Per arm: randomised, completed, completion % and median exit day.

    Parameters
    ----------
    ds
        An analysis dataset (any source): uses ``participants`` columns ``study``, ``arm``,
        ``randomised``, ``completed`` and ``exit_day``.

    Returns
    -------
    pandas.DataFrame
        One row per (study, arm) with ``randomised``, ``completed``, ``completion_pct`` and
        ``median_exit_day`` (over all randomised participants, completers included).

    Examples
    --------
    >>> parts = pd.DataFrame({"study": ["s"] * 3, "participant": ["a", "b", "c"],
    ...     "site": "x", "arm": ["A", "A", "B"], "arm_label": None, "strata": "",
    ...     "opioid_class": None, "randomised": True, "randomised_at": None, "first_dose_at": None,
    ...     "completed": [True, False, True], "exit_day": [168, 20, 168], "exit_reason": None})
    >>> ds = AnalysisDataset(participants=parts, assessments=None)
    >>> retention_summary(ds)[["arm", "randomised", "completed", "completion_pct"]].to_dict("records")
    [{'arm': 'A', 'randomised': 2, 'completed': 1, 'completion_pct': 50.0}, {'arm': 'B', 'randomised': 1, 'completed': 1, 'completion_pct': 100.0}]
    """
    parts = ds.participants
    rand = parts[parts["randomised"].astype(bool)].copy()
    rand["completed"] = rand["completed"].fillna(False).astype(bool)
    rand["exit_day"] = pd.to_numeric(rand["exit_day"], errors="coerce").astype(float)
    grouped = rand.groupby(["study", "arm"], sort=True)
    table = grouped.agg(
        randomised=("participant", "size"),
        completed=("completed", "sum"),
        median_exit_day=("exit_day", "median"),
    ).reset_index()
    table["randomised"] = table["randomised"].astype(int)
    table["completed"] = table["completed"].astype(int)
    table["completion_pct"] = (100.0 * table["completed"] / table["randomised"]).round(1)
    return table[["study", "arm", "randomised", "completed", "completion_pct", "median_exit_day"]]
