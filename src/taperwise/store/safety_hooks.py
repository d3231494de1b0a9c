"""Run the protocol's safety rules on every clinical write and save the alerts they raise.

The rules themselves are pure (:mod:`taperwise.safety`); this module gathers a participant's
history from the store into :class:`taperwise.safety.ParticipantFacts`, evaluates the new event
and stores each :class:`AlertDraft` as an :class:`Alert` in the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taperwise.store import audit
from taperwise.store.models import AdverseEvent, Alert, Assessment, Dose, Participant, Study, Vitals

log = logging.getLogger(__name__)


def assessment_fact(row: Assessment) -> Any:
    from taperwise.safety import AssessmentFact

    return AssessmentFact(
        time=row.time,
        instrument=row.instrument,
        total=row.total,
        complete=row.complete,
        items=dict(row.items or {}),
        gi_attributed_to_product=row.gi_attributed_to_product,
    )


def dose_fact(row: Dose) -> Any:
    from taperwise.safety import DoseFact

    return DoseFact(
        time=row.time, arm_id=row.arm_id or "", amount=row.amount, unit=row.unit, given=row.given
    )


def vitals_fact(row: Vitals) -> Any:
    from taperwise.safety import VitalsFact

    return VitalsFact(
        time=row.time, sbp=row.sbp, dbp=row.dbp, hr=row.hr, symptomatic=row.symptomatic
    )


def adverse_event_fact(row: AdverseEvent) -> Any:
    from taperwise.safety import AdverseEventFact

    return AdverseEventFact(time=row.onset, term=row.term, grade=row.grade, serious=row.serious)


_FACT_OF = {
    Assessment: assessment_fact,
    Dose: dose_fact,
    Vitals: vitals_fact,
    AdverseEvent: adverse_event_fact,
}


#: The columns each fact needs. History is read as plain rows, not ORM objects: it is read on
#: every clinical write, and loading whole entities (identity map, change tracking) cost about a
#: third of a write's CPU time.
_FACT_COLUMNS = {
    Assessment: ("time", "instrument", "total", "complete", "items", "gi_attributed_to_product"),
    Dose: ("time", "arm_id", "amount", "unit", "given"),
    Vitals: ("time", "sbp", "dbp", "hr", "symptomatic"),
    AdverseEvent: ("onset", "term", "grade", "serious"),
}


def _history(
    session: Session, model: type, participant: Participant, exclude: Any
) -> tuple[Any, ...]:
    time_col = model.onset if model is AdverseEvent else model.time
    columns = [getattr(model, name) for name in _FACT_COLUMNS[model]]
    stmt = (
        select(model.id, *columns)
        .where(model.participant_id == participant.id, model.deleted_at.is_(None))
        .order_by(time_col, model.id)
    )
    skip = exclude.id if isinstance(exclude, model) else None
    to_fact = _FACT_OF[model]
    return tuple(to_fact(r) for r in session.execute(stmt) if skip is None or r.id != skip)


def participant_facts(
    session: Session, study: Study, participant: Participant, exclude: Any = None
) -> Any:
    """Everything the rules need about one participant, without the event being evaluated."""
    from taperwise.safety import ParticipantFacts
    from taperwise.store.studies import protocol_of

    protocol = protocol_of(study)
    arm = protocol.arm(participant.arm_id) if participant.arm_id else None
    return ParticipantFacts(
        participant=participant.code,
        arm=arm,
        comedications=tuple(participant.comedications or ()),
        egfr=participant.egfr,
        renal_impairment=bool(participant.renal_impairment),
        prior_opioid_class=participant.opioid_class,
        assessments=_history(session, Assessment, participant, exclude),
        doses=_history(session, Dose, participant, exclude),
        vitals=_history(session, Vitals, participant, exclude),
        adverse_events=_history(session, AdverseEvent, participant, exclude),
    )


def run_safety(
    session: Session,
    study: Study,
    participant: Participant,
    *,
    event: Any,
    source: tuple[str, int] | None = None,
) -> list[Alert]:
    """Evaluate the rules for ``event`` (a store row, or None for enrolment) and save alerts."""
    from taperwise.safety import evaluate
    from taperwise.store.studies import protocol_of

    protocol = protocol_of(study)
    facts = participant_facts(session, study, participant, exclude=event)
    fact = _FACT_OF[type(event)](event) if event is not None else None
    drafts = evaluate(protocol, facts, fact)
    alerts: list[Alert] = []
    for draft in drafts:
        alert = Alert(
            study_id=study.id,
            participant_id=participant.id,
            rule_id=draft.rule_id,
            severity=draft.severity,
            message=draft.message,
            source_entity=source[0] if source else None,
            source_id=source[1] if source else None,
        )
        session.add(alert)
        session.flush()
        audit.append(
            session,
            actor=audit.SYSTEM,
            study_id=study.id,
            entity="alert",
            entity_id=alert.id,
            action="create",
            changes={
                "rule_id": (None, draft.rule_id),
                "severity": (None, draft.severity),
                "participant_id": (None, participant.id),
            },
        )
        alerts.append(alert)
    if alerts:
        log.info(
            "safety rules raised %d alert(s) (%s)",
            len(alerts),
            ", ".join(a.rule_id for a in alerts),
        )
    return alerts
