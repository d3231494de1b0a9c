"""HTML screens (Jinja2 + htmx). Thin: parse the form, call :mod:`taperwise.web.services`.

Forms post with htmx and get a server-rendered fragment back (running total, saved result with
its alerts, acknowledged alert row); validation errors come back as an error fragment with the
domain error's one-line message and status (htmx is configured to swap 4xx responses).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from taperwise.errors import ValidationError
from taperwise.store.models import Study
from taperwise.web import queries, services
from taperwise.web.deps import (
    CurrentUser,
    SessionDep,
    WebUser,
    WriteSessionDep,
    scoped_participant,
    scoped_study,
)
from taperwise.web.schemas import (
    AdverseEventCreate,
    AssessmentCreate,
    DoseCreate,
    ParticipantCreate,
    VitalsCreate,
)

router = APIRouter(include_in_schema=False)
ENTRY_INSTRUMENTS = ("cows", "sows", "sows_gossop", "oows")


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key in data:
            existing = data[key]
            data[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            data[key] = value
    return data


FormDep = Annotated[dict[str, Any], Depends(form_data)]


def _render(request: Request, template: str, user: WebUser | None, status: int = 200, **ctx):
    state = request.app.state.taperwise
    context = {"user": user, "csrf": user.session.csrf if user else "", **ctx}
    return state.templates.TemplateResponse(request, template, context, status_code=status)


def _parse(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise ValidationError(f"{where}: {err.get('msg', 'invalid')}") from None


def _clean(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    """Keep the named fields, dropping empty strings (left to the schema defaults)."""
    return {k: data[k] for k in fields if k in data and data[k] != ""}


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# -- navigation ----------------------------------------------------------------------------------
@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    rows = list(session.execute(select(Study).order_by(Study.id)).scalars())
    if len(rows) == 1:
        return RedirectResponse(f"/studies/{rows[0].id}", status_code=303)
    return _render(request, "studies.html", user, studies=rows)


@router.get("/studies/{study_id}")
def dashboard(request: Request, study_id: str, session: SessionDep, user: CurrentUser):
    study = scoped_study(session, user, study_id)
    return _render(
        request,
        "dashboard.html",
        user,
        study=study,
        dash=queries.dashboard(session, user, study),
    )


@router.get("/studies/{study_id}/participants")
def participants(request: Request, study_id: str, session: SessionDep, user: CurrentUser):
    study = scoped_study(session, user, study_id)
    return _render(
        request,
        "participants.html",
        user,
        study=study,
        rows=queries.participants_overview(session, user, study),
    )


@router.get("/studies/{study_id}/participants/{code}")
def participant(request: Request, study_id: str, code: str, session: SessionDep, user: CurrentUser):
    from taperwise.web.charts import timeline_spec

    study = scoped_study(session, user, study_id)
    person = scoped_participant(session, user, study, code)
    data = queries.timeline(session, person)
    overview = next(
        r for r in queries.participants_overview(session, user, study) if r["code"] == code
    )
    instruments = sorted({a["instrument"] for a in data["assessments"]} & set(ENTRY_INSTRUMENTS))
    specs = {
        inst: timeline_spec(inst, data["assessments"], data["doses"], data["adverse_events"])
        for inst in instruments
    }
    return _render(
        request,
        "participant.html",
        user,
        study=study,
        p=overview,
        participant=person,
        data=data,
        specs=specs,
        alerts=queries.alerts_for(session, user, study, open_only=False, code=code),
        entry_instruments=ENTRY_INSTRUMENTS,
    )


# -- keyboard-fast assessment entry --------------------------------------------------------------
@router.get("/studies/{study_id}/participants/{code}/assess/{instrument}")
def assess_form(
    request: Request,
    study_id: str,
    code: str,
    instrument: str,
    session: SessionDep,
    user: CurrentUser,
):
    from taperwise.instruments import get_instrument
    from taperwise.store.records import CONTEXTS

    user.require("assess")
    study = scoped_study(session, user, study_id)
    scoped_participant(session, user, study, code)
    inst = get_instrument(instrument)
    return _render(
        request,
        "assess.html",
        user,
        study=study,
        code=code,
        inst=inst,
        contexts=CONTEXTS,
        score=None,
    )


def _items_from_form(data: dict[str, Any]) -> dict[str, Any]:
    return {k[5:]: v for k, v in data.items() if k.startswith("item.") and v != ""}


@router.post("/studies/{study_id}/participants/{code}/assess/{instrument}/score")
def assess_score(
    request: Request,
    study_id: str,
    code: str,
    instrument: str,
    data: FormDep,
    user: CurrentUser,
):
    from taperwise.web.scoring import running_score

    result = running_score(instrument, _items_from_form(data))
    return _render(request, "fragments/score.html", user, score=result)


@router.post("/studies/{study_id}/participants/{code}/assess/{instrument}")
def assess_save(
    request: Request,
    study_id: str,
    code: str,
    instrument: str,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    body = _parse(
        AssessmentCreate,
        {
            "instrument": instrument,
            "items": _items_from_form(data),
            **_clean(data, "context", "time"),
            "gi_attributed_to_product": data.get("gi_attributed_to_product") == "on",
            "raw": {"pulse_bpm": data["raw.pulse_bpm"]} if data.get("raw.pulse_bpm") else {},
        },
    )
    result = services.assess(session, user, study, code, body)
    return _render(request, "fragments/saved.html", user, study=study, code=code, result=result)


# -- doses, vitals, adverse events, enrolment, randomisation -------------------------------------
def _units(study: Study) -> list[str]:
    from taperwise.store.studies import protocol_of

    return sorted({arm.regimen.unit for arm in protocol_of(study).arms})


FORMS = {
    "dose": ("dose.html", "dose"),
    "vitals": ("vitals.html", "vitals"),
    "ae": ("ae.html", "adverse_event"),
    "randomise": ("randomise.html", "randomise"),
}


@router.get("/studies/{study_id}/participants/{code}/{form}")
def record_form(
    request: Request, study_id: str, code: str, form: str, session: SessionDep, user: CurrentUser
):
    from taperwise.store.records import OUTCOMES, RELATEDNESS

    if form not in FORMS:
        from taperwise.errors import NotFoundError

        raise NotFoundError(f"no form '{form}'")
    template, permission = FORMS[form]
    user.require(permission)
    study = scoped_study(session, user, study_id)
    person = scoped_participant(session, user, study, code)
    extra: dict[str, Any] = {}
    if form == "dose":
        extra["units"] = _units(study)
        label, arm = queries.arm_view(study, person.arm_id, user)
        extra["arm_label"], extra["arm"] = label, arm
        if arm is not None:
            from taperwise.store.studies import protocol_of

            extra["regimen"] = protocol_of(study).arm(arm).regimen
    if form == "ae":
        from taperwise.safety import SERIOUSNESS_CRITERIA

        extra.update(criteria=SERIOUSNESS_CRITERIA, relatedness=RELATEDNESS, outcomes=OUTCOMES)
    return _render(request, template, user, study=study, code=code, participant=person, **extra)


@router.post("/studies/{study_id}/participants/{code}/dose")
def dose_save(
    request: Request,
    study_id: str,
    code: str,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    body = _parse(
        DoseCreate,
        {
            **_clean(data, "amount", "unit", "hold_reason", "time"),
            "given": data.get("given", "yes") == "yes",
        },
    )
    result = services.dose(session, user, study, code, body)
    return _render(request, "fragments/saved.html", user, study=study, code=code, result=result)


@router.post("/studies/{study_id}/participants/{code}/vitals")
def vitals_save(
    request: Request,
    study_id: str,
    code: str,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    body = _parse(
        VitalsCreate,
        {
            **_clean(data, "sbp", "dbp", "hr", "temperature", "time"),
            "symptomatic": data.get("symptomatic") == "on",
        },
    )
    result = services.vitals(session, user, study, code, body)
    return _render(request, "fragments/saved.html", user, study=study, code=code, result=result)


@router.post("/studies/{study_id}/participants/{code}/ae")
def ae_save(
    request: Request,
    study_id: str,
    code: str,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    criteria = data.get("seriousness", [])
    body = _parse(
        AdverseEventCreate,
        {
            **_clean(data, "term", "grade", "relatedness", "outcome", "onset"),
            "seriousness": criteria if isinstance(criteria, list) else [criteria],
            "led_to_discontinuation": data.get("led_to_discontinuation") == "on",
        },
    )
    result = services.adverse_event(session, user, study, code, body)
    return _render(request, "fragments/saved.html", user, study=study, code=code, result=result)


@router.post("/studies/{study_id}/participants/{code}/randomise")
def randomise_save(
    request: Request,
    study_id: str,
    code: str,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    if data.get("confirm") != "on":
        raise ValidationError("confirm that eligibility and consent were checked")
    outcome = services.randomise(session, user, study, code)
    return _render(request, "fragments/randomised.html", user, study=study, outcome=outcome)


@router.get("/studies/{study_id}/enrol")
def enrol_form(request: Request, study_id: str, session: SessionDep, user: CurrentUser):
    from taperwise.store.studies import protocol_of

    user.require("enrol")
    study = scoped_study(session, user, study_id)
    strata = {
        k: [str(v) for v in vals]
        for k, vals in (protocol_of(study).randomisation.strata or {}).items()
        if k != "site"
    }
    sites = queries.study_public(session, study)["sites"]
    if user.site_code:
        sites = [s for s in sites if s == user.site_code]
    return _render(request, "enrol.html", user, study=study, strata=strata, sites=sites)


@router.post("/studies/{study_id}/enrol")
def enrol_save(
    request: Request, study_id: str, data: FormDep, session: WriteSessionDep, user: CurrentUser
):
    study = scoped_study(session, user, study_id)
    strata = {k[7:]: v for k, v in data.items() if k.startswith("strata.") and v}
    meds = [m.strip() for m in str(data.get("comedications", "")).split(",") if m.strip()]
    body = _parse(
        ParticipantCreate,
        {
            **_clean(
                data,
                "code",
                "site",
                "consent_version",
                "consent_date",
                "opioid_class",
                "last_opioid_use_at",
                "egfr",
            ),
            "strata": strata,
            "comedications": meds,
            "eligible": data.get("eligible") == "on",
        },
    )
    result = services.enrol(session, user, study, body)
    return _render(
        request, "fragments/saved.html", user, study=study, code=body.code, result=result
    )


# -- alerts, audit, exports ----------------------------------------------------------------------
@router.get("/studies/{study_id}/alerts")
def alerts(
    request: Request,
    study_id: str,
    session: SessionDep,
    user: CurrentUser,
    show: str = "open",
):
    study = scoped_study(session, user, study_id)
    rows = queries.alerts_for(session, user, study, open_only=show != "all")
    return _render(request, "alerts.html", user, study=study, rows=rows, show=show)


@router.post("/studies/{study_id}/alerts/{alert_id}/ack")
def acknowledge(
    request: Request,
    study_id: str,
    alert_id: int,
    session: WriteSessionDep,
    user: CurrentUser,
):
    study = scoped_study(session, user, study_id)
    row = services.acknowledge(session, user, alert_id)
    if _is_htmx(request):
        return _render(request, "fragments/alert_row.html", user, study=study, a=row)
    return RedirectResponse(f"/studies/{study.id}/alerts", status_code=303)


@router.get("/audit/{entity}/{entity_id}")
def audit_page(
    request: Request, entity: str, entity_id: str, session: SessionDep, user: CurrentUser
):
    services.check_record_access(session, user, entity, entity_id)
    rows = queries.audit_entries(session, user, entity=entity, entity_id=entity_id)
    participant = queries.participant_of_record(session, entity, entity_id)
    return _render(
        request,
        "audit.html",
        user,
        entity=entity,
        entity_id=entity_id,
        rows=rows,
        participant=participant,
    )


@router.post("/audit/{entity}/{entity_id}/edit")
def audit_edit(
    request: Request,
    entity: str,
    entity_id: int,
    data: FormDep,
    session: WriteSessionDep,
    user: CurrentUser,
):
    field = str(data.get("field", "")).strip()
    if not field:
        raise ValidationError("choose the field to change")
    value: Any = data.get("value", "")
    if field == "items":
        raise ValidationError("edit item scores through the API (PATCH /api/records/...)")
    value = _coerce(value)
    services.edit(
        session,
        user,
        entity=entity,
        entity_id=entity_id,
        changes={field: value},
        reason=str(data.get("reason", "")),
    )
    return RedirectResponse(f"/audit/{entity}/{entity_id}", status_code=303)


def _coerce(value: str) -> Any:
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


@router.get("/studies/{study_id}/exports")
def exports(request: Request, study_id: str, session: SessionDep, user: CurrentUser):
    user.require("export")
    study = scoped_study(session, user, study_id)
    tables = [
        "participants",
        "assessments",
        "doses",
        "adverse_events",
        "vitals",
        "alerts",
        "sdtm_qs",
    ]
    return _render(request, "exports.html", user, study=study, tables=tables)
