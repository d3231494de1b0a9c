"""Thin adapters between web input (schemas, forms) and the store services.

Routes for the API and the HTML pages both call these, so both validate the same way. Each
function takes the request's unit-of-work session, checks role and site first, then calls the
store service (which validates, writes, audits and runs the safety rules).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from taperwise.errors import NotFoundError, ValidationError
from taperwise.store.models import Alert, Participant, Study
from taperwise.web import queries
from taperwise.web.deps import WebUser, scoped_participant
from taperwise.web.schemas import (
    AdverseEventCreate,
    AssessmentCreate,
    DoseCreate,
    ParticipantCreate,
    VitalsCreate,
)

#: Fields the generic edit may not touch: allocation is concealed and fixed, scores are derived.
PROTECTED_FIELDS = frozenset(
    {
        "arm_id",
        "allocation_sequence",
        "randomised_at",
        "study_id",
        "participant_id",
        "total",
        "band",
        "complete",
        "subtotal_no_gi",
        "rater",
        "version",
        "instrument",
        "serious",
    }
)


def _result(entity: str, record: dict[str, Any], alerts: list[Alert], code: str) -> dict:
    return {
        "entity": entity,
        "record": record,
        "alerts": [queries.alert_public(a, code) for a in alerts],
    }


def enrol(session: Session, user: WebUser, study: Study, body: ParticipantCreate) -> dict:
    from taperwise.store.participants import enroll

    user.require("enrol")
    site = body.site or user.site_code
    if user.site_code and site != user.site_code:
        raise ValidationError(f"user '{user.username}' may enrol only at site '{user.site_code}'")
    participant, alerts = enroll(
        session,
        user.actor,
        study_id=study.id,
        code=body.code,
        site=site,
        strata=body.strata,
        consent_version=body.consent_version,
        consent_date=body.consent_date,
        eligible=body.eligible,
        opioid_class=body.opioid_class,
        last_opioid_use_at=body.last_opioid_use_at,
        comedications=body.comedications,
        egfr=body.egfr,
        renal_impairment=body.renal_impairment,
    )
    record = {"code": participant.code, "site": participant.site_code}
    return _result("participant", record, alerts, participant.code)


def randomise(session: Session, user: WebUser, study: Study, code: str) -> dict:
    from taperwise.store.participants import randomise as store_randomise

    user.require("randomise")
    scoped_participant(session, user, study, code)
    outcome = store_randomise(session, user.actor, study_id=study.id, code=code)
    return outcome.public(unblinded=user.unblinded)


def assess(
    session: Session, user: WebUser, study: Study, code: str, body: AssessmentCreate
) -> dict:
    from taperwise.store.records import record_assessment

    user.require("assess")
    scoped_participant(session, user, study, code)
    items = {k: v for k, v in body.items.items() if v is not None}
    row, alerts = record_assessment(
        session,
        user.actor,
        study_id=study.id,
        code=code,
        instrument=body.instrument,
        items=items,
        time=body.time,
        context=body.context,
        raw=body.raw or None,
        gi_attributed_to_product=body.gi_attributed_to_product,
    )
    return _result("assessment", queries.assessment_public(row), alerts, code)


def dose(session: Session, user: WebUser, study: Study, code: str, body: DoseCreate) -> dict:
    from taperwise.store.records import record_dose

    user.require("dose")
    scoped_participant(session, user, study, code)
    row, alerts = record_dose(
        session,
        user.actor,
        study_id=study.id,
        code=code,
        amount=body.amount,
        unit=body.unit,
        given=body.given,
        hold_reason=body.hold_reason,
        time=body.time,
    )
    return _result("dose", queries.dose_public(row), alerts, code)


def vitals(session: Session, user: WebUser, study: Study, code: str, body: VitalsCreate) -> dict:
    from taperwise.store.records import record_vitals

    user.require("vitals")
    scoped_participant(session, user, study, code)
    row, alerts = record_vitals(
        session, user.actor, study_id=study.id, code=code, **body.model_dump()
    )
    return _result("vitals", queries.vitals_public(row), alerts, code)


def adverse_event(
    session: Session, user: WebUser, study: Study, code: str, body: AdverseEventCreate
) -> dict:
    from taperwise.store.records import record_adverse_event

    user.require("adverse_event")
    scoped_participant(session, user, study, code)
    row, alerts = record_adverse_event(
        session, user.actor, study_id=study.id, code=code, **body.model_dump()
    )
    return _result("adverse_event", queries.adverse_event_public(row), alerts, code)


def scoped_alert(session: Session, user: WebUser, alert_id: int) -> tuple[Alert, Participant]:
    alert = session.get(Alert, alert_id)
    participant = session.get(Participant, alert.participant_id) if alert else None
    if (
        alert is None
        or participant is None
        or (user.site_code and participant.site_code != user.site_code)
    ):
        raise NotFoundError(f"alert {alert_id} not found")
    return alert, participant


def acknowledge(session: Session, user: WebUser, alert_id: int) -> dict:
    from taperwise.store.records import acknowledge_alert

    user.require("acknowledge")
    _, participant = scoped_alert(session, user, alert_id)
    alert = acknowledge_alert(session, user.actor, alert_id=alert_id)
    return queries.alert_public(alert, participant.code)


def check_record_access(session: Session, user: WebUser, entity: str, entity_id: str) -> None:
    """404 unless the record exists and belongs to the user's site; study-level entities: admin."""
    from taperwise.store.models import CLINICAL_ENTITIES

    if entity in CLINICAL_ENTITIES or entity == "alert":
        participant = queries.participant_of_record(session, entity, entity_id)
        if participant is None or (user.site_code and participant.site_code != user.site_code):
            raise NotFoundError(f"{entity} {entity_id} not found")
        return
    if entity in ("study", "allocation_list"):
        return
    if user.role not in ("admin", "monitor"):
        raise NotFoundError(f"{entity} {entity_id} not found")


def edit(
    session: Session,
    user: WebUser,
    *,
    entity: str,
    entity_id: int,
    changes: dict[str, Any],
    reason: str,
) -> dict:
    from taperwise.store.records import edit_record

    user.require("edit")
    check_record_access(session, user, entity, str(entity_id))
    refused = sorted(set(changes) & PROTECTED_FIELDS)
    if refused:
        raise ValidationError(
            f"{entity} field(s) {', '.join(refused)} cannot be edited (derived or concealed)"
        )
    changed = edit_record(
        session, user.actor, entity=entity, entity_id=entity_id, changes=changes, reason=reason
    )
    return {
        "entity": entity,
        "id": entity_id,
        "changed": {k: [_plain(o), _plain(n)] for k, (o, n) in changed.items()},
    }


def delete(session: Session, user: WebUser, *, entity: str, entity_id: int, reason: str) -> None:
    from taperwise.store.records import delete_record

    user.require("edit")
    check_record_access(session, user, entity, str(entity_id))
    delete_record(session, user.actor, entity=entity, entity_id=entity_id, reason=reason)


def _plain(value: Any) -> Any:
    from taperwise.store.audit import value_text

    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return value_text(value)
