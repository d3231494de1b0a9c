"""Clinical records: assessments, doses, vitals, adverse events, deviations, exits, alerts.

Every function here is one unit of work inside the caller's transaction: it validates, writes,
audits and runs the safety rules; the caller commits or rolls everything back together. The CLI and
the web app call these same functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taperwise.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from taperwise.safety.vocabulary import (  # noqa: F401  (RELATEDNESS, OUTCOMES re-exported)
    OUTCOMES,
    RELATEDNESS,
    check_grade,
    check_outcome,
    check_relatedness,
    check_seriousness,
)
from taperwise.store import audit
from taperwise.store.audit import Actor
from taperwise.store.models import (
    CLINICAL_ENTITIES,
    AdverseEvent,
    Alert,
    Assessment,
    Deviation,
    Dose,
    Participant,
    StudyExit,
    Vitals,
    utcnow,
)
from taperwise.store.participants import get_participant
from taperwise.store.safety_hooks import run_safety
from taperwise.store.studies import get_study, protocol_of

CONTEXTS = ("screening", "baseline", "pre-dose", "+30min", "+2h", "daily", "unscheduled", "exit")


def _check_write_access(actor: Actor, participant: Participant) -> None:
    if actor.role == "monitor":
        raise PermissionDenied(f"user '{actor.username}' (monitor) has read-only access")
    if actor.site_code and actor.site_code != participant.site_code:
        raise PermissionDenied(
            f"user '{actor.username}' may not record data for site '{participant.site_code}'"
        )


def _when(time: dt.datetime | None) -> dt.datetime:
    if time is None:
        return utcnow()
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)


def record_assessment(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    instrument: str,
    items: dict[str, int],
    time: dt.datetime | None = None,
    context: str = "unscheduled",
    raw: dict[str, Any] | None = None,
    gi_attributed_to_product: bool = False,
) -> tuple[Assessment, list[Alert]]:
    """Score and save one instrument administration; a partial form is saved as incomplete."""
    from taperwise.instruments import cows_pulse_score, get_instrument, score

    study = get_study(session, study_id)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    if context not in CONTEXTS:
        raise ValidationError(
            f"assessment context '{context}' is not allowed; allowed: {', '.join(CONTEXTS)}"
        )
    inst = get_instrument(instrument)
    raw = dict(raw or {})
    items = dict(items)
    if inst.id == "cows" and "pulse" not in items and raw.get("pulse_bpm") is not None:
        items["pulse"] = cows_pulse_score(float(raw["pulse_bpm"]))
    if not items:
        raise ValidationError(
            f"{inst.short_name} assessment has no item scored; score at least one item "
            "(a partial form is saved as incomplete)"
        )
    result = score(inst, items)
    row = Assessment(
        participant_id=participant.id,
        instrument=inst.id,
        version=str(inst.version),
        time=_when(time),
        context=context,
        items=items,
        raw=raw,
        total=result.total,
        subtotal_no_gi=(result.subtotals or {}).get("no_gi"),
        complete=result.complete,
        band=result.band,
        rater=actor.username,
        gi_attributed_to_product=gi_attributed_to_product,
    )
    audit.record_create(session, actor, row, entity="assessment", study_id=study.id)
    alerts = run_safety(session, study, participant, event=row, source=("assessment", row.id))
    return row, alerts


def record_dose(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    amount: float,
    unit: str,
    given: bool = True,
    hold_reason: str | None = None,
    time: dt.datetime | None = None,
) -> tuple[Dose, list[Alert]]:
    """Record a supervised dose (given, or held with a reason) of the participant's study product."""
    study = get_study(session, study_id)
    protocol = protocol_of(study)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    if participant.arm_id is None:
        raise ConflictError(
            f"participant '{code}' is not randomised; doses are recorded for randomised participants"
        )
    arm = protocol.arm(participant.arm_id)
    if unit != arm.regimen.unit:
        raise ValidationError(
            f"dose unit '{unit}' does not match the protocol regimen; allowed: {arm.regimen.unit}"
        )
    if amount < 0:
        raise ValidationError(f"dose amount must be >= 0 (got {amount})")
    if not given and not (hold_reason and hold_reason.strip()):
        raise ValidationError("a held dose needs a hold reason")
    row = Dose(
        participant_id=participant.id,
        time=_when(time),
        arm_id=participant.arm_id,
        amount=float(amount),
        unit=unit,
        given=given,
        hold_reason=hold_reason,
    )
    audit.record_create(session, actor, row, entity="dose", study_id=study.id)
    alerts = run_safety(session, study, participant, event=row, source=("dose", row.id))
    return row, alerts


def record_vitals(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    sbp: float | None = None,
    dbp: float | None = None,
    hr: float | None = None,
    temperature: float | None = None,
    symptomatic: bool = False,
    time: dt.datetime | None = None,
) -> tuple[Vitals, list[Alert]]:
    study = get_study(session, study_id)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    for name, value, low, high in (
        ("sbp", sbp, 40, 300),
        ("dbp", dbp, 20, 200),
        ("hr", hr, 20, 250),
        ("temperature", temperature, 30, 45),
    ):
        if value is not None and not (low <= value <= high):
            raise ValidationError(
                f"vitals {name} {value} is outside the plausible range {low}-{high}"
            )
    if sbp is None and dbp is None and hr is None and temperature is None:
        raise ValidationError("vitals need at least one of sbp, dbp, hr, temperature")
    row = Vitals(
        participant_id=participant.id,
        time=_when(time),
        sbp=sbp,
        dbp=dbp,
        hr=hr,
        temperature=temperature,
        symptomatic=symptomatic,
    )
    audit.record_create(session, actor, row, entity="vitals", study_id=study.id)
    alerts = run_safety(session, study, participant, event=row, source=("vitals", row.id))
    return row, alerts


def record_adverse_event(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    term: str,
    grade: int,
    seriousness: list[str] | None = None,
    relatedness: str = "not_assessed",
    outcome: str = "not_recovered",
    onset: dt.datetime | None = None,
    led_to_discontinuation: bool = False,
) -> tuple[AdverseEvent, list[Alert]]:
    """Record an AE with its CTCAE v5 grade (1-5) and ICH E2A seriousness criteria."""
    study = get_study(session, study_id)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    if not term or not term.strip():
        raise ValidationError("adverse event term must not be empty")
    check_grade(grade)
    criteria = list(seriousness or [])
    check_seriousness(criteria)
    if grade == 5 and "death" not in criteria:
        criteria.append("death")
    check_relatedness(relatedness)
    check_outcome(outcome)
    row = AdverseEvent(
        participant_id=participant.id,
        term=term.strip(),
        onset=_when(onset),
        grade=grade,
        serious=bool(criteria),
        seriousness=criteria,
        relatedness=relatedness,
        outcome=outcome,
        led_to_discontinuation=led_to_discontinuation,
    )
    audit.record_create(session, actor, row, entity="adverse_event", study_id=study.id)
    alerts = run_safety(session, study, participant, event=row, source=("adverse_event", row.id))
    return row, alerts


def record_deviation(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    category: str,
    description: str,
    time: dt.datetime | None = None,
) -> Deviation:
    study = get_study(session, study_id)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    if not description.strip():
        raise ValidationError("a deviation needs a description")
    row = Deviation(
        participant_id=participant.id, time=_when(time), category=category, description=description
    )
    audit.record_create(session, actor, row, entity="deviation", study_id=study.id)
    return row


EXIT_REASONS = (
    "completed",
    "withdrew_consent",
    "lost_to_follow_up",
    "adverse_event",
    "lack_of_efficacy",
    "investigator_decision",
    "death",
    "other",
)


def record_exit(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    day: int,
    reason: str,
    time: dt.datetime | None = None,
) -> StudyExit:
    study = get_study(session, study_id)
    participant = get_participant(session, study, code)
    _check_write_access(actor, participant)
    if reason not in EXIT_REASONS:
        raise ValidationError(
            f"exit reason '{reason}' is not allowed; allowed: {', '.join(EXIT_REASONS)}"
        )
    if day < 0:
        raise ValidationError(f"exit day must be >= 0 (got {day})")
    existing = session.execute(
        select(StudyExit.id).where(
            StudyExit.participant_id == participant.id, StudyExit.deleted_at.is_(None)
        )
    ).first()
    if existing:
        raise ConflictError(
            f"participant '{code}' already has a study exit; edit it with a reason instead"
        )
    row = StudyExit(
        participant_id=participant.id,
        day=day,
        time=_when(time),
        reason=reason,
        completed=reason == "completed",
    )
    audit.record_create(session, actor, row, entity="study_exit", study_id=study.id)
    return row


def list_alerts(
    session: Session, *, study_id: str | None, open_only: bool = True, site_code: str | None = None
) -> list[tuple[Alert, str]]:
    """Alerts of a study with the participant code, newest first."""
    study = get_study(session, study_id)
    stmt = (
        select(Alert, Participant.code)
        .join(Participant, Participant.id == Alert.participant_id)
        .where(Alert.study_id == study.id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
    )
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if site_code:
        stmt = stmt.where(Participant.site_code == site_code)
    return [(a, c) for a, c in session.execute(stmt).all()]


def acknowledge_alert(session: Session, actor: Actor, *, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} not found")
    participant = session.get(Participant, alert.participant_id)
    if actor.site_code and participant is not None and participant.site_code != actor.site_code:
        raise PermissionDenied(
            f"user '{actor.username}' may not acknowledge alerts of site '{participant.site_code}'"
        )
    if actor.role == "monitor":
        raise PermissionDenied(f"user '{actor.username}' (monitor) has read-only access")
    if alert.acknowledged_at is not None:
        raise ConflictError(f"alert {alert_id} was already acknowledged by {alert.acknowledged_by}")
    alert.acknowledged_by, alert.acknowledged_at = actor.username, utcnow()
    audit.append(
        session,
        actor=actor,
        study_id=alert.study_id,
        entity="alert",
        entity_id=alert.id,
        action="acknowledge",
        changes={
            "acknowledged_by": (None, actor.username),
            "acknowledged_at": (None, alert.acknowledged_at),
        },
    )
    return alert


def _clinical_row(session: Session, entity: str, entity_id: int) -> Any:
    model = CLINICAL_ENTITIES.get(entity)
    if model is None:
        raise ValidationError(
            f"entity '{entity}' is not editable; allowed: {', '.join(CLINICAL_ENTITIES)}"
        )
    row = session.get(model, entity_id)
    if row is None:
        raise NotFoundError(f"{entity} {entity_id} not found")
    return row


def _study_of(session: Session, row: Any) -> str:
    if isinstance(row, Participant):
        return row.study_id
    return session.get(Participant, row.participant_id).study_id


def edit_record(
    session: Session,
    actor: Actor,
    *,
    entity: str,
    entity_id: int,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, tuple[Any, Any]]:
    """Change fields of a saved record; refused without a reason. Assessments are re-scored."""
    row = _clinical_row(session, entity, entity_id)
    participant = (
        row if isinstance(row, Participant) else session.get(Participant, row.participant_id)
    )
    _check_write_access(actor, participant)
    study_id = _study_of(session, row)
    updates = dict(changes)
    if isinstance(row, Assessment) and "items" in updates:
        from taperwise.instruments import score

        merged = {**(row.items or {}), **updates["items"]}
        result = score(row.instrument, merged)
        updates.update(
            items=merged,
            total=result.total,
            subtotal_no_gi=(result.subtotals or {}).get("no_gi"),
            complete=result.complete,
            band=result.band,
        )
    return audit.record_update(
        session, actor, row, updates, entity=entity, study_id=study_id, reason=reason
    )


def delete_record(
    session: Session, actor: Actor, *, entity: str, entity_id: int, reason: str | None
) -> None:
    """Soft-delete a record with a reason; the row and its history stay."""
    row = _clinical_row(session, entity, entity_id)
    participant = (
        row if isinstance(row, Participant) else session.get(Participant, row.participant_id)
    )
    _check_write_access(actor, participant)
    audit.record_delete(
        session, actor, row, entity=entity, study_id=_study_of(session, row), reason=reason
    )
