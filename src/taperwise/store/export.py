"""Export the store as the analysis dataset (and as an SDTM QS domain).

Study day: day 0 is everything before the first given dose (baseline, pre-dose); day ``d >= 1``
covers hours ``[24(d-1), 24d)`` after the first given dose. Without a dose, randomisation time is
the anchor. ``hours_since_last_opioid`` is measured from the participant's recorded last opioid
use, and ``stage`` comes from the protocol's stage model for the participant's opioid class.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.store.models import (
    AdverseEvent,
    Alert,
    Assessment,
    Dose,
    Participant,
    StudyExit,
    Vitals,
)
from taperwise.store.studies import get_study, protocol_of


def _hours(later: dt.datetime | None, earlier: dt.datetime | None) -> float:
    if later is None or earlier is None:
        return math.nan
    return (later - earlier).total_seconds() / 3600.0


def study_day(time: dt.datetime | None, anchor: dt.datetime | None) -> int | None:
    """Day 0 before the anchor (first dose); then 1 + whole days since it."""
    if time is None or anchor is None:
        return None
    hours = _hours(time, anchor)
    return 0 if hours < 0 else int(hours // 24) + 1


def _strata_text(strata: dict[str, Any] | None, site: str) -> str:
    levels = {"site": site, **(strata or {})}
    return "|".join(f"{k}={levels[k]}" for k in sorted(levels))


def export_dataset(
    session: Session, *, study_id: str | None, blinded: bool = False
) -> AnalysisDataset:
    """Build the analysis dataset of one study from the store (deleted rows excluded)."""
    study = get_study(session, study_id)
    protocol = protocol_of(study)
    label_of = {arm.id: arm.blinded_label for arm in protocol.arms}
    people = list(
        session.execute(
            select(Participant)
            .where(Participant.study_id == study.id, Participant.deleted_at.is_(None))
            .order_by(Participant.id)
        ).scalars()
    )
    ids = [p.id for p in people]

    def rows(model: type) -> list[Any]:
        if not ids:
            return []
        stmt = select(model).where(model.participant_id.in_(ids))
        if hasattr(model, "deleted_at"):
            stmt = stmt.where(model.deleted_at.is_(None))
        return list(session.execute(stmt).scalars())

    doses, assessments, vitals = rows(Dose), rows(Assessment), rows(Vitals)
    aes, exits, alerts = rows(AdverseEvent), rows(StudyExit), rows(Alert)
    first_dose: dict[int, dt.datetime] = {}
    for d in doses:
        if d.given and (
            d.participant_id not in first_dose or d.time < first_dose[d.participant_id]
        ):
            first_dose[d.participant_id] = d.time
    by_id = {p.id: p for p in people}

    def anchor(pid: int) -> dt.datetime | None:
        return first_dose.get(pid) or by_id[pid].randomised_at

    def arm_of(p: Participant) -> str | None:
        if p.arm_id is None:
            return None
        return label_of.get(p.arm_id, p.arm_id) if blinded else p.arm_id

    exit_of = {e.participant_id: e for e in exits}
    participant_rows = []
    for p in people:
        e = exit_of.get(p.id)
        participant_rows.append(
            {
                "study": study.id,
                "participant": p.code,
                "site": p.site_code,
                "arm": arm_of(p),
                "arm_label": label_of.get(p.arm_id) if p.arm_id else None,
                "strata": _strata_text(p.strata, p.site_code),
                "opioid_class": p.opioid_class,
                "randomised": p.arm_id is not None,
                "randomised_at": p.randomised_at.isoformat() if p.randomised_at else None,
                "first_dose_at": first_dose[p.id].isoformat() if p.id in first_dose else None,
                "completed": bool(e.completed) if e else False,
                "exit_day": e.day if e else None,
                "exit_reason": e.reason if e else None,
            }
        )

    assessment_rows = []
    for a in sorted(assessments, key=lambda r: (r.participant_id, r.time, r.id)):
        p = by_id[a.participant_id]
        since_opioid = _hours(a.time, p.last_opioid_use_at)
        stage = None
        if not math.isnan(since_opioid) and p.opioid_class:
            stage = protocol.stages.stage_for(since_opioid, p.opioid_class)
        day = study_day(a.time, anchor(p.id))
        assessment_rows.append(
            {
                "study": study.id,
                "participant": p.code,
                "site": p.site_code,
                "arm": arm_of(p),
                "strata": _strata_text(p.strata, p.site_code),
                "day": day,
                "hours_since_first_dose": _hours(a.time, anchor(p.id)),
                "hours_since_last_opioid": since_opioid,
                "stage": stage,
                "visit": f"day{day}:{a.context}" if day is not None else a.context,
                "instrument": a.instrument,
                "version": a.version,
                "total": a.total,
                "subtotal_no_gi": a.subtotal_no_gi,
                "complete": a.complete,
                "gi_attributed_to_product": a.gi_attributed_to_product,
                "items": json.dumps(a.items or {}, sort_keys=True),
            }
        )

    def simple(model_rows: list[Any], build: Any) -> list[dict[str, Any]]:
        return [build(r, by_id[r.participant_id]) for r in model_rows]

    dose_rows = simple(
        sorted(doses, key=lambda r: (r.participant_id, r.time)),
        lambda d, p: {
            "study": study.id,
            "participant": p.code,
            "arm": arm_of(p),
            "day": study_day(d.time, anchor(p.id)),
            "hours_since_first_dose": _hours(d.time, anchor(p.id)),
            "amount": d.amount,
            "unit": d.unit,
            "given": d.given,
            "hold_reason": d.hold_reason,
        },
    )
    ae_rows = simple(
        aes,
        lambda e, p: {
            "study": study.id,
            "participant": p.code,
            "arm": arm_of(p),
            "day": study_day(e.onset, anchor(p.id)),
            "term": e.term,
            "grade": e.grade,
            "serious": e.serious,
            "related": e.relatedness,
            "outcome": e.outcome,
            "led_to_discontinuation": e.led_to_discontinuation,
        },
    )
    vitals_rows = simple(
        vitals,
        lambda v, p: {
            "study": study.id,
            "participant": p.code,
            "arm": arm_of(p),
            "day": study_day(v.time, anchor(p.id)),
            "hours_since_first_dose": _hours(v.time, anchor(p.id)),
            "sbp": v.sbp,
            "dbp": v.dbp,
            "hr": v.hr,
            "symptomatic": v.symptomatic,
        },
    )
    alert_rows = simple(
        alerts,
        lambda a, p: {
            "study": study.id,
            "participant": p.code,
            "arm": arm_of(p),
            "day": study_day(a.created_at, anchor(p.id)),
            "rule_id": a.rule_id,
            "severity": a.severity,
            "acknowledged": a.acknowledged_at is not None,
        },
    )
    return AnalysisDataset(
        participants=pd.DataFrame(participant_rows) if participant_rows else None,
        assessments=pd.DataFrame(assessment_rows) if assessment_rows else None,
        doses=pd.DataFrame(dose_rows) if dose_rows else None,
        adverse_events=pd.DataFrame(ae_rows) if ae_rows else None,
        vitals=pd.DataFrame(vitals_rows) if vitals_rows else None,
        alerts=pd.DataFrame(alert_rows) if alert_rows else None,
        meta={
            "study": study.id,
            "source": "store",
            "protocol_id": study.protocol_id,
            "protocol_version": study.protocol_version,
            "protocol_sha256": study.protocol_sha256,
            "blinded": blinded,
        },
    )


def sdtm_qs(session: Session, *, study_id: str | None) -> pd.DataFrame:
    """The assessments as a CDISC SDTM QS domain (one row per item plus one per total)."""
    from taperwise.instruments import get_instrument

    study = get_study(session, study_id)
    stmt = (
        select(Assessment, Participant)
        .join(Participant, Participant.id == Assessment.participant_id)
        .where(
            Participant.study_id == study.id,
            Assessment.deleted_at.is_(None),
            Participant.deleted_at.is_(None),
        )
        .order_by(Participant.code, Assessment.time, Assessment.id)
    )
    records: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for assessment, participant in session.execute(stmt).all():
        inst = get_instrument(assessment.instrument)
        usubjid = f"{study.id}-{participant.code}"
        labels = {item.key: item.label for item in inst.items}
        entries = [
            (key, labels.get(key, key), value)
            for key, value in sorted((assessment.items or {}).items())
        ]
        entries.append(("TOTAL", f"{inst.title} total score", assessment.total))
        for key, label, value in entries:
            seq[usubjid] = seq.get(usubjid, 0) + 1
            testcd = (inst.id.replace("_", "")[:4] + key.replace("_", ""))[:8].upper()
            records.append(
                {
                    "STUDYID": study.id,
                    "DOMAIN": "QS",
                    "USUBJID": usubjid,
                    "QSSEQ": seq[usubjid],
                    "QSTESTCD": testcd,
                    "QSTEST": label[:40],
                    "QSCAT": inst.title,
                    "QSORRES": "" if value is None else str(value),
                    "QSSTRESC": "" if value is None else str(value),
                    "QSSTRESN": value,
                    "QSSTAT": "" if value is not None else "NOT DONE",
                    "QSEVAL": "INVESTIGATOR" if inst.id in ("cows", "oows") else "STUDY SUBJECT",
                    "QSDTC": assessment.time.isoformat(timespec="minutes"),
                    "QSTPT": assessment.context,
                }
            )
    return pd.DataFrame.from_records(records)
