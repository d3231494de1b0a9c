"""JSON API under ``/api``: the same operations and validation as the HTML screens.

Errors answer ``{"detail": "<one line>"}`` with the status of the domain error (422 invalid,
403 refused, 404 not found or outside the user's site, 409 conflict); no session gives 401.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy import select

from taperwise.errors import NotFoundError
from taperwise.store.models import Study
from taperwise.web import queries, services
from taperwise.web.deps import CurrentUser, SessionDep, WriteSessionDep, scoped_study
from taperwise.web.schemas import (
    AdverseEventCreate,
    AlertPublic,
    AlertsPublic,
    AssessmentCreate,
    AuditEntryPublic,
    DashboardPublic,
    DeleteRequest,
    DoseCreate,
    EditRequest,
    EditResult,
    ParticipantCreate,
    ParticipantDetail,
    ParticipantsPublic,
    RandomisationPublic,
    ScorePublic,
    ScoreRequest,
    StudyPublic,
    UserCreate,
    UserPublic,
    VitalsCreate,
    WriteResult,
)

router = APIRouter(prefix="/api")

StudyId = Annotated[str, Path(min_length=1, max_length=64)]
Code = Annotated[str, Path(min_length=1, max_length=64)]
Entity = Literal[
    "participant",
    "dose",
    "assessment",
    "vitals",
    "adverse_event",
    "deviation",
    "study_exit",
    "alert",
    "study",
    "allocation_list",
    "user",
]
EditableEntity = Literal[
    "participant", "dose", "assessment", "vitals", "adverse_event", "deviation", "study_exit"
]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ExportTable = Literal[
    "participants", "assessments", "doses", "adverse_events", "vitals", "alerts", "sdtm_qs"
]


def _user_public(user) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "site_code": user.site_code,
        "active": True,
        "unblinded": user.unblinded,
    }


@router.get("/me", response_model=UserPublic, tags=["auth"])
def me(user: CurrentUser) -> dict[str, Any]:
    """The signed-in user, role, site and whether the role is unblinded."""
    return _user_public(user)


@router.get("/studies", response_model=list[StudyPublic], tags=["studies"])
def studies(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    rows = session.execute(select(Study).order_by(Study.id)).scalars()
    return [queries.study_public(session, s) for s in rows]


@router.get("/studies/{study_id}", response_model=StudyPublic, tags=["studies"])
def study(study_id: StudyId, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return queries.study_public(session, scoped_study(session, user, study_id))


@router.get("/studies/{study_id}/dashboard", response_model=DashboardPublic, tags=["studies"])
def dashboard(study_id: StudyId, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Enrolment by arm (blinded labels unless unblinded) and site, completion, open alerts."""
    return queries.dashboard(session, user, scoped_study(session, user, study_id))


@router.get(
    "/studies/{study_id}/participants", response_model=ParticipantsPublic, tags=["participants"]
)
def participants(study_id: StudyId, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Participants of the user's site(s): stage, last COWS and band, open alerts."""
    rows = queries.participants_overview(session, user, scoped_study(session, user, study_id))
    return {"data": rows, "count": len(rows)}


@router.post(
    "/studies/{study_id}/participants",
    response_model=WriteResult,
    status_code=201,
    tags=["participants"],
)
def enrol(
    study_id: StudyId, body: ParticipantCreate, session: WriteSessionDep, user: CurrentUser
) -> dict[str, Any]:
    """Enrol a participant under a pseudonymous code (investigator, admin)."""
    return services.enrol(session, user, scoped_study(session, user, study_id), body)


@router.get(
    "/studies/{study_id}/participants/{code}",
    response_model=ParticipantDetail,
    tags=["participants"],
)
def participant(
    study_id: StudyId, code: Code, session: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    """One participant with every live record and the alerts (the timeline)."""
    from taperwise.web.deps import scoped_participant

    study_row = scoped_study(session, user, study_id)
    person = scoped_participant(session, user, study_row, code)
    overview = next(
        r for r in queries.participants_overview(session, user, study_row) if r["code"] == code
    )
    return {
        **overview,
        **queries.timeline(session, person),
        "alerts": queries.alerts_for(session, user, study_row, open_only=False, code=code),
    }


@router.post(
    "/studies/{study_id}/participants/{code}/randomise",
    response_model=RandomisationPublic,
    tags=["participants"],
)
def randomise(
    study_id: StudyId, code: Code, session: WriteSessionDep, user: CurrentUser
) -> dict[str, Any]:
    """Reveal the next concealed assignment (eligibility and consent are checked). Blinded roles
    get the blinded label only."""
    return services.randomise(session, user, scoped_study(session, user, study_id), code)


@router.post(
    "/studies/{study_id}/participants/{code}/assessments",
    response_model=WriteResult,
    status_code=201,
    tags=["records"],
)
def assessment(
    study_id: StudyId,
    code: Code,
    body: AssessmentCreate,
    session: WriteSessionDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Save a COWS/SOWS (or other instrument) administration; returns the score and alerts."""
    return services.assess(session, user, scoped_study(session, user, study_id), code, body)


@router.post(
    "/studies/{study_id}/participants/{code}/doses",
    response_model=WriteResult,
    status_code=201,
    tags=["records"],
)
def dose(
    study_id: StudyId, code: Code, body: DoseCreate, session: WriteSessionDep, user: CurrentUser
) -> dict[str, Any]:
    """Record a supervised dose (given or held); checked against the protocol's limits."""
    return services.dose(session, user, scoped_study(session, user, study_id), code, body)


@router.post(
    "/studies/{study_id}/participants/{code}/vitals",
    response_model=WriteResult,
    status_code=201,
    tags=["records"],
)
def vitals(
    study_id: StudyId,
    code: Code,
    body: VitalsCreate,
    session: WriteSessionDep,
    user: CurrentUser,
) -> dict[str, Any]:
    return services.vitals(session, user, scoped_study(session, user, study_id), code, body)


@router.post(
    "/studies/{study_id}/participants/{code}/adverse-events",
    response_model=WriteResult,
    status_code=201,
    tags=["records"],
)
def adverse_event(
    study_id: StudyId,
    code: Code,
    body: AdverseEventCreate,
    session: WriteSessionDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Record an adverse event (CTCAE v5 grade, ICH E2A seriousness criteria)."""
    return services.adverse_event(session, user, scoped_study(session, user, study_id), code, body)


@router.post("/instruments/{instrument}/score", response_model=ScorePublic, tags=["records"])
def score(
    instrument: Annotated[str, Path(min_length=1, max_length=32)],
    body: ScoreRequest,
    user: CurrentUser,
) -> dict[str, Any]:
    """Score items without saving (running total and band during entry)."""
    from taperwise.web.scoring import running_score

    return running_score(instrument, body.items)


@router.get("/studies/{study_id}/alerts", response_model=AlertsPublic, tags=["alerts"])
def alerts(
    study_id: StudyId,
    session: SessionDep,
    user: CurrentUser,
    open_only: bool = True,
) -> dict[str, Any]:
    rows = queries.alerts_for(
        session, user, scoped_study(session, user, study_id), open_only=open_only
    )
    return {"data": rows, "count": len(rows)}


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic, tags=["alerts"])
def acknowledge(alert_id: RecordId, session: WriteSessionDep, user: CurrentUser) -> dict[str, Any]:
    return services.acknowledge(session, user, alert_id)


@router.get("/audit/{entity}/{entity_id}", response_model=list[AuditEntryPublic], tags=["audit"])
def audit_history(
    entity: Entity,
    entity_id: Annotated[str, Path(min_length=1, max_length=64)],
    session: SessionDep,
    user: CurrentUser,
) -> list[dict[str, Any]]:
    """Per-field history (who, when, old -> new, reason); arm values masked for blinded roles."""
    services.check_record_access(session, user, entity, entity_id)
    rows = queries.audit_entries(session, user, entity=entity, entity_id=entity_id)
    if not rows:
        raise NotFoundError(f"no audit history for {entity} {entity_id}")
    return rows


@router.patch("/records/{entity}/{entity_id}", response_model=EditResult, tags=["audit"])
def edit_record(
    entity: EditableEntity,
    entity_id: RecordId,
    body: EditRequest,
    session: WriteSessionDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Change fields of a saved record; a reason is required and every field change is audited."""
    return services.edit(
        session, user, entity=entity, entity_id=entity_id, changes=body.changes, reason=body.reason
    )


@router.post("/records/{entity}/{entity_id}/delete", status_code=204, tags=["audit"])
def delete_record(
    entity: EditableEntity,
    entity_id: RecordId,
    body: DeleteRequest,
    session: WriteSessionDep,
    user: CurrentUser,
) -> Response:
    """Soft-delete a record with a reason (the row and its history stay)."""
    services.delete(session, user, entity=entity, entity_id=entity_id, reason=body.reason)
    return Response(status_code=204)


@router.get("/studies/{study_id}/export", tags=["exports"])
def export(
    study_id: StudyId,
    session: SessionDep,
    user: CurrentUser,
    table: ExportTable = "assessments",
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> Response:
    """One table of the analysis dataset (blinded unless unblinded) or the SDTM QS domain."""
    from taperwise.web.exports import export_table

    user.require("export")
    study_row = scoped_study(session, user, study_id)
    frame = export_table(session, user, study_row, table)
    if format == "json":
        return Response(
            frame.to_json(orient="records", date_format="iso"), media_type="application/json"
        )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{study_row.id}-{table}.csv"'},
    )


@router.get("/users", response_model=list[UserPublic], tags=["users"])
def users(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    from taperwise.web.deps import UNBLINDED_ROLES
    from taperwise.web.users import list_users

    user.require("users")
    return [
        {
            "id": u.id,
            "username": u.username,
            "role": u.role,
            "site_code": u.site_code,
            "active": u.active,
            "unblinded": u.role in UNBLINDED_ROLES,
        }
        for u in list_users(session)
    ]


@router.post("/users", response_model=UserPublic, status_code=201, tags=["users"])
def add_user(body: UserCreate, session: WriteSessionDep, user: CurrentUser) -> dict[str, Any]:
    from taperwise.web.deps import UNBLINDED_ROLES
    from taperwise.web.users import create_user

    user.require("users")
    row = create_user(
        session,
        user.actor,
        username=body.username,
        role=body.role,
        password=body.password,
        site_code=body.site_code,
    )
    return {
        "id": row.id,
        "username": row.username,
        "role": row.role,
        "site_code": row.site_code,
        "active": row.active,
        "unblinded": row.role in UNBLINDED_ROLES,
    }
