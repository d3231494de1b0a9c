"""Site-scoped read queries behind the screens and the API (participants, timeline, dashboard).

Every query here filters participants by the user's site (``site_filter``) and shows arms only to
unblinded users; blinded users get the protocol's blinded label.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taperwise.store.models import (
    AdverseEvent,
    Alert,
    Assessment,
    AuditLog,
    Dose,
    Participant,
    Site,
    Study,
    StudyExit,
    Vitals,
)
from taperwise.store.studies import protocol_of
from taperwise.web.deps import WebUser, site_filter

log = logging.getLogger(__name__)

#: Audit fields whose values would unblind; masked for blinded users.
BLINDED_FIELDS = frozenset({"arm_id", "allocation_sequence", "arm"})
MASK = "(blinded)"


def study_public(session: Session, study: Study) -> dict[str, Any]:
    sites = session.execute(select(Site.code).where(Site.study_id == study.id)).scalars()
    return {
        "id": study.id,
        "title": study.title,
        "protocol_id": study.protocol_id,
        "protocol_version": study.protocol_version,
        "sites": sorted(sites),
    }


def arm_view(study: Study, arm_id: str | None, user: WebUser) -> tuple[str | None, str | None]:
    """(blinded label, arm id or None) as this user may see them."""
    if arm_id is None:
        return None, None
    try:
        label = protocol_of(study).arm(arm_id).blinded_label
    except Exception:  # noqa: BLE001 - an unknown arm must not unblind; show a neutral label
        label = "allocated"
    return label, (arm_id if user.unblinded else None)


def _stage(study: Study, participant: Participant, at: dt.datetime | None) -> str | None:
    if at is None or participant.last_opioid_use_at is None or not participant.opioid_class:
        return None
    try:
        hours = (at - participant.last_opioid_use_at).total_seconds() / 3600.0
        return protocol_of(study).stages.stage_for(hours, participant.opioid_class)
    except Exception:  # noqa: BLE001 - stage is informative only
        log.debug("no stage for participant %s", participant.id)
        return None


def participants_overview(session: Session, user: WebUser, study: Study) -> list[dict[str, Any]]:
    """One row per participant: stage, last COWS and band, open alerts, randomised, exited."""
    people = list(
        session.execute(
            select(Participant)
            .where(
                Participant.study_id == study.id,
                Participant.deleted_at.is_(None),
                site_filter(user),
            )
            .order_by(Participant.code)
        ).scalars()
    )
    ids = [p.id for p in people]
    last_cows: dict[int, Assessment] = {}
    open_alerts: dict[int, int] = {}
    exited: set[int] = set()
    if ids:
        latest = (
            select(Assessment.participant_id, func.max(Assessment.time).label("t"))
            .where(
                Assessment.participant_id.in_(ids),
                Assessment.instrument == "cows",
                Assessment.deleted_at.is_(None),
            )
            .group_by(Assessment.participant_id)
            .subquery()
        )
        rows = session.execute(
            select(Assessment)
            .join(
                latest,
                (Assessment.participant_id == latest.c.participant_id)
                & (Assessment.time == latest.c.t),
            )
            .where(Assessment.instrument == "cows", Assessment.deleted_at.is_(None))
            .order_by(Assessment.id)
        ).scalars()
        for row in rows:
            last_cows[row.participant_id] = row
        open_alerts = dict(
            session.execute(
                select(Alert.participant_id, func.count(Alert.id))
                .where(Alert.participant_id.in_(ids), Alert.acknowledged_at.is_(None))
                .group_by(Alert.participant_id)
            ).all()
        )
        exited = set(
            session.execute(
                select(StudyExit.participant_id).where(
                    StudyExit.participant_id.in_(ids), StudyExit.deleted_at.is_(None)
                )
            ).scalars()
        )
    result = []
    for p in people:
        label, arm = arm_view(study, p.arm_id, user)
        cows = last_cows.get(p.id)
        result.append(
            {
                "code": p.code,
                "site": p.site_code,
                "randomised": p.arm_id is not None,
                "arm_label": label,
                "arm": arm,
                "stage": _stage(study, p, cows.time if cows else None),
                "last_cows_total": cows.total if cows else None,
                "last_cows_band": cows.band if cows else None,
                "last_cows_time": cows.time if cows else None,
                "open_alerts": int(open_alerts.get(p.id, 0)),
                "exited": p.id in exited,
            }
        )
    return result


def alert_public(alert: Alert, code: str) -> dict[str, Any]:
    return {
        "id": alert.id,
        "participant": code,
        "rule_id": alert.rule_id,
        "severity": alert.severity,
        "message": alert.message,
        "created_at": alert.created_at,
        "source_entity": alert.source_entity,
        "source_id": alert.source_id,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_at,
    }


def alerts_for(
    session: Session, user: WebUser, study: Study, *, open_only: bool, code: str | None = None
) -> list[dict[str, Any]]:
    stmt = (
        select(Alert, Participant.code)
        .join(Participant, Participant.id == Alert.participant_id)
        .where(Alert.study_id == study.id, site_filter(user))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
    )
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if code is not None:
        stmt = stmt.where(Participant.code == code)
    return [alert_public(a, c) for a, c in session.execute(stmt).all()]


def assessment_public(row: Assessment) -> dict[str, Any]:
    return {
        "id": row.id,
        "instrument": row.instrument,
        "version": row.version,
        "time": row.time,
        "context": row.context,
        "items": dict(row.items or {}),
        "total": row.total,
        "complete": row.complete,
        "band": row.band,
        "subtotal_no_gi": row.subtotal_no_gi,
        "rater": row.rater,
    }


def dose_public(row: Dose) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.time,
        "amount": row.amount,
        "unit": row.unit,
        "given": row.given,
        "hold_reason": row.hold_reason,
    }


def vitals_public(row: Vitals) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.time,
        "sbp": row.sbp,
        "dbp": row.dbp,
        "hr": row.hr,
        "temperature": row.temperature,
        "symptomatic": row.symptomatic,
    }


def adverse_event_public(row: AdverseEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "term": row.term,
        "grade": row.grade,
        "seriousness": list(row.seriousness or []),
        "serious": row.serious,
        "relatedness": row.relatedness,
        "outcome": row.outcome,
        "onset": row.onset,
        "led_to_discontinuation": row.led_to_discontinuation,
    }


def timeline(session: Session, participant: Participant) -> dict[str, list[dict[str, Any]]]:
    """Every live record of one participant, oldest first."""

    def rows(model: type, order) -> list[Any]:
        return list(
            session.execute(
                select(model)
                .where(model.participant_id == participant.id, model.deleted_at.is_(None))
                .order_by(order, model.id)
            ).scalars()
        )

    return {
        "assessments": [assessment_public(r) for r in rows(Assessment, Assessment.time)],
        "doses": [dose_public(r) for r in rows(Dose, Dose.time)],
        "vitals": [vitals_public(r) for r in rows(Vitals, Vitals.time)],
        "adverse_events": [adverse_event_public(r) for r in rows(AdverseEvent, AdverseEvent.onset)],
    }


def dashboard(session: Session, user: WebUser, study: Study) -> dict[str, Any]:
    """Enrolment by arm and site, completion and open alerts (site-scoped, blinded as needed)."""
    from taperwise.store.participants import allocation_usage

    overview = participants_overview(session, user, study)
    by_arm: dict[str, int] = {}
    by_site: dict[str, int] = {}
    for row in overview:
        by_site[row["site"]] = by_site.get(row["site"], 0) + 1
        if row["randomised"]:
            key = row["arm"] if user.unblinded else row["arm_label"]
            by_arm[key] = by_arm.get(key, 0) + 1
    ids = select(Participant.id).where(
        Participant.study_id == study.id, Participant.deleted_at.is_(None), site_filter(user)
    )
    exits = list(
        session.execute(
            select(StudyExit.completed).where(
                StudyExit.participant_id.in_(ids), StudyExit.deleted_at.is_(None)
            )
        ).scalars()
    )
    severities = dict(
        session.execute(
            select(Alert.severity, func.count(Alert.id))
            .where(Alert.participant_id.in_(ids), Alert.acknowledged_at.is_(None))
            .group_by(Alert.severity)
        ).all()
    )
    usage = allocation_usage(session, study) if user.site_code is None else {}
    return {
        "study": study.id,
        "enrolled": len(overview),
        "randomised": sum(1 for r in overview if r["randomised"]),
        "by_arm": dict(sorted(by_arm.items())),
        "by_site": dict(sorted(by_site.items())),
        "exited": len(exits),
        "completed": sum(1 for c in exits if c),
        "open_alerts": int(sum(severities.values())),
        "open_alerts_by_severity": {k: int(v) for k, v in sorted(severities.items())},
        "allocation_usage": usage,
    }


def audit_entries(
    session: Session, user: WebUser, *, entity: str, entity_id: str
) -> list[dict[str, Any]]:
    """Per-field history of one record, with arm-revealing values masked for blinded users."""
    rows = session.execute(
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.seq)
    ).scalars()
    out = []
    for row in rows:
        old, new = row.old, row.new
        if not user.unblinded and row.field in BLINDED_FIELDS:
            old = MASK if old is not None else None
            new = MASK if new is not None else None
        out.append(
            {
                "seq": row.seq,
                "ts": row.ts,
                "user": row.user,
                "action": row.action,
                "field": row.field,
                "old": old,
                "new": new,
                "reason": row.reason,
            }
        )
    return out


def participant_of_record(session: Session, entity: str, entity_id: str) -> Participant | None:
    """The participant a clinical record or alert belongs to (None for study-level entities)."""
    from taperwise.store.models import CLINICAL_ENTITIES

    try:
        key = int(entity_id)
    except ValueError:
        return None
    if entity == "participant":
        return session.get(Participant, key)
    if entity == "alert":
        alert = session.get(Alert, key)
        return session.get(Participant, alert.participant_id) if alert else None
    model = CLINICAL_ENTITIES.get(entity)
    if model is None:
        return None
    row = session.get(model, key)
    return session.get(Participant, row.participant_id) if row is not None else None
