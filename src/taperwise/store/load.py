"""Bulk-load an analysis dataset into an existing study (real-data importers).

Rows are inserted in bulk inside the caller's transaction. Instead of one audit row per field of
every imported row, the audit log gets one ``import`` entry per table holding the row count and a
SHA-256 of the table's content, so the import is traceable and tamper-evident without multiplying
the log by the size of the data set. Edits made after the import are audited field by field as usual.

Imported data sets that carry study days but no clock times (CTN-0094) are placed on a synthetic
clock: day ``d`` is ``anchor + (d - 1)`` days, 09:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.store import audit
from taperwise.store.audit import Actor
from taperwise.store.models import Assessment, Dose, Participant, Site, StudyExit
from taperwise.store.studies import get_study

SYNTHETIC_ANCHOR = dt.datetime(2000, 1, 3, 9, 0, tzinfo=dt.UTC)


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def _day_time(day: Any, anchor: dt.datetime) -> dt.datetime | None:
    if _none_if_nan(day) is None:
        return None
    return anchor + dt.timedelta(days=float(day) - 1)


def _none_if_nan(value: Any) -> Any:
    if value is None or (not isinstance(value, (str, dict, list)) and pd.isna(value)):
        return None
    return value


def load_dataset(
    session: Session,
    actor: Actor,
    *,
    study_id: str,
    dataset: AnalysisDataset,
    anchor: dt.datetime = SYNTHETIC_ANCHOR,
) -> dict[str, int]:
    """Insert participants, assessments, doses and exits of ``dataset`` into study ``study_id``."""
    study = get_study(session, study_id)
    participants = dataset.participants
    known_sites = set(session.execute(select(Site.code).where(Site.study_id == study.id)).scalars())
    for site in sorted(set(participants["site"].dropna().astype(str)) - known_sites):
        session.add(Site(study_id=study.id, code=site, name=site))
    session.flush()

    randomised_day = (
        participants["randomised_day"]
        if "randomised_day" in participants
        else pd.Series([1] * len(participants))
    )
    people = []
    for row, rday in zip(participants.itertuples(index=False), randomised_day, strict=True):
        randomised = bool(row.randomised) and row.arm is not None
        people.append(
            {
                "study_id": study.id,
                "code": str(row.participant),
                "site_code": str(row.site),
                "strata": {},
                "consent_version": "imported",
                "eligible": True,
                "opioid_class": None if row.opioid_class in (None, "unknown") else row.opioid_class,
                "comedications": [],
                "renal_impairment": False,
                "arm_id": row.arm if randomised else None,
                "randomised_at": _day_time(_none_if_nan(rday) or 1, anchor) if randomised else None,
                "created_by": actor.username,
            }
        )
    session.execute(insert(Participant), people)
    ids = dict(
        session.execute(
            select(Participant.code, Participant.id).where(Participant.study_id == study.id)
        ).all()
    )

    assessments = [
        {
            "participant_id": ids[str(r.participant)],
            "instrument": r.instrument,
            "version": str(r.version),
            "time": _day_time(r.day, anchor),
            "context": "daily",
            "items": json.loads(r.items) if isinstance(r.items, str) else dict(r.items or {}),
            "raw": {},
            "total": None if _none_if_nan(r.total) is None else int(r.total),
            "subtotal_no_gi": None
            if _none_if_nan(r.subtotal_no_gi) is None
            else int(r.subtotal_no_gi),
            "complete": bool(r.complete),
            "rater": "import",
            "gi_attributed_to_product": bool(_none_if_nan(r.gi_attributed_to_product) or False),
            "created_by": actor.username,
        }
        for r in dataset.assessments.itertuples(index=False)
        if _none_if_nan(r.day) is not None
    ]
    if assessments:
        session.execute(insert(Assessment), assessments)
    doses = [
        {
            "participant_id": ids[str(r.participant)],
            "time": _day_time(r.day, anchor),
            "arm_id": _none_if_nan(r.arm),
            "amount": float(r.amount),
            "unit": str(r.unit),
            "given": bool(r.given),
            "hold_reason": _none_if_nan(r.hold_reason),
            "created_by": actor.username,
        }
        for r in dataset.doses.itertuples(index=False)
        if _none_if_nan(r.day) is not None
    ]
    if doses:
        session.execute(insert(Dose), doses)
    exits = [
        {
            "participant_id": ids[str(r.participant)],
            "day": int(r.exit_day),
            "time": _day_time(r.exit_day, anchor),
            "reason": str(r.exit_reason or ("completed" if r.completed else "other")),
            "completed": bool(r.completed),
            "created_by": actor.username,
        }
        for r in participants.itertuples(index=False)
        if _none_if_nan(r.exit_day) is not None
    ]
    if exits:
        session.execute(insert(StudyExit), exits)
    counts = {
        "participants": len(people),
        "assessments": len(assessments),
        "doses": len(doses),
        "exits": len(exits),
    }
    for table, frame in (
        ("participants", participants),
        ("assessments", dataset.assessments),
        ("doses", dataset.doses),
    ):
        audit.append(
            session,
            actor=actor,
            study_id=study.id,
            entity=f"import:{table}",
            entity_id=study.id,
            action="import",
            changes={"rows": (None, counts[table]), "sha256": (None, _digest(frame))},
            reason=f"bulk import from {dataset.meta.get('source', 'dataset')}",
        )
    return counts
