"""Pydantic schemas of the web API in Base / Create / Public layers.

``*Base`` holds the fields shared by input and output, ``*Create`` what a client sends to make a
record, ``*Public`` what the API returns. Domain validation (allowed item scores, protocol dose
limits, CTCAE grades) stays in the store services, so the API, the HTML forms and the CLI refuse
the same input with the same one-line message.

Example
-------
>>> from taperwise.web.schemas import AssessmentCreate
>>> AssessmentCreate(instrument="cows", items={"pulse": 1}).context
'unscheduled'
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from taperwise.store.records import OUTCOMES, RELATEDNESS

Role = Literal["rater", "investigator", "pharmacist", "monitor", "admin"]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- users and tokens ----------------------------------------------------------------------------
class UserBase(_Schema):
    username: str = Field(min_length=2, max_length=64)
    role: Role
    site_code: str | None = None


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=1024)


class UserPublic(UserBase):
    id: int
    active: bool
    unblinded: bool


class TokenPublic(_Schema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# -- studies and participants --------------------------------------------------------------------
class StudyPublic(_Schema):
    id: str
    title: str
    protocol_id: str
    protocol_version: str
    sites: list[str]


class ParticipantBase(_Schema):
    code: str = Field(min_length=1, max_length=64)
    site: str | None = None


class ParticipantCreate(ParticipantBase):
    strata: dict[str, str] = Field(default_factory=dict)
    consent_version: str | None = Field(default=None, max_length=32)
    consent_date: dt.date | None = None
    eligible: bool = True
    opioid_class: str | None = Field(default=None, max_length=32)
    last_opioid_use_at: dt.datetime | None = None
    comedications: list[str] = Field(default_factory=list)
    egfr: float | None = Field(default=None, ge=0, le=250)
    renal_impairment: bool = False


class ParticipantPublic(ParticipantBase):
    randomised: bool
    arm_label: str | None = None
    arm: str | None = Field(default=None, description="Only for unblinded roles (pharmacist).")
    stage: str | None = None
    last_cows_total: int | None = None
    last_cows_band: str | None = None
    last_cows_time: dt.datetime | None = None
    open_alerts: int = 0
    exited: bool = False


class ParticipantsPublic(_Schema):
    data: list[ParticipantPublic]
    count: int


# -- records ---------------------------------------------------------------------------------------
Context = Literal[
    "screening", "baseline", "pre-dose", "+30min", "+2h", "daily", "unscheduled", "exit"
]


class AssessmentBase(_Schema):
    instrument: str = Field(min_length=1, max_length=32)
    items: dict[str, int | None] = Field(default_factory=dict)


class AssessmentCreate(AssessmentBase):
    context: Context = "unscheduled"
    time: dt.datetime | None = None
    raw: dict[str, float] = Field(default_factory=dict)
    gi_attributed_to_product: bool = False


class AssessmentPublic(AssessmentBase):
    id: int
    version: str
    time: dt.datetime
    context: str
    total: int | None
    complete: bool
    band: str | None
    subtotal_no_gi: int | None
    rater: str


class ScoreRequest(_Schema):
    items: dict[str, int | None] = Field(default_factory=dict)


class ScorePublic(_Schema):
    instrument: str
    answered: int
    n_items: int
    complete: bool
    total: int | None
    partial_sum: int | None
    band: str | None
    max_total: int


class DoseCreate(_Schema):
    amount: float = Field(ge=0, le=1e6)
    unit: str = Field(min_length=1, max_length=16)
    given: bool = True
    hold_reason: str | None = Field(default=None, max_length=500)
    time: dt.datetime | None = None


class DosePublic(DoseCreate):
    id: int
    time: dt.datetime  # type: ignore[assignment]


class VitalsCreate(_Schema):
    sbp: float | None = None
    dbp: float | None = None
    hr: float | None = None
    temperature: float | None = None
    symptomatic: bool = False
    time: dt.datetime | None = None


class VitalsPublic(VitalsCreate):
    id: int
    time: dt.datetime  # type: ignore[assignment]


# the store's vocabularies, so that the API accepts exactly what the store records
Relatedness = Literal[RELATEDNESS]  # type: ignore[valid-type]
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]


class AdverseEventBase(_Schema):
    term: str = Field(min_length=1, max_length=200)
    grade: int = Field(ge=1, le=5, description="CTCAE v5 grade 1-5")
    seriousness: list[str] = Field(default_factory=list, description="ICH E2A criteria met")
    relatedness: Relatedness = "not_assessed"
    outcome: Outcome = "not_recovered"
    led_to_discontinuation: bool = False


class AdverseEventCreate(AdverseEventBase):
    onset: dt.datetime | None = None


class AdverseEventPublic(AdverseEventBase):
    id: int
    onset: dt.datetime
    serious: bool


class AlertPublic(_Schema):
    id: int
    participant: str
    rule_id: str
    severity: str
    message: str
    created_at: dt.datetime
    source_entity: str | None = None
    source_id: int | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None


class AlertsPublic(_Schema):
    data: list[AlertPublic]
    count: int


class WriteResult(_Schema):
    """A saved record and the safety alerts its save raised."""

    entity: str
    record: dict[str, Any]
    alerts: list[AlertPublic]


class RandomisationPublic(_Schema):
    participant: str
    arm_label: str
    stratum: str
    warning: str | None = None
    used: int | None = None
    size: int | None = None
    arm: str | None = Field(default=None, description="Only for unblinded roles (pharmacist).")
    sequence: int | None = Field(default=None, description="Only for unblinded roles.")


class AuditEntryPublic(_Schema):
    seq: int
    ts: dt.datetime
    user: str
    action: str
    field: str
    old: str | None
    new: str | None
    reason: str | None


class EditRequest(_Schema):
    changes: dict[str, Any] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=1000)


class DeleteRequest(_Schema):
    reason: str = Field(min_length=1, max_length=1000)


class DashboardPublic(_Schema):
    study: str
    enrolled: int
    randomised: int
    by_arm: dict[str, int] = Field(description="Keyed by blinded label unless unblinded.")
    by_site: dict[str, int]
    exited: int
    completed: int
    open_alerts: int
    open_alerts_by_severity: dict[str, int]
    allocation_usage: dict[str, dict[str, int]]


class ParticipantDetail(ParticipantPublic):
    assessments: list[AssessmentPublic]
    doses: list[DosePublic]
    vitals: list[VitalsPublic]
    adverse_events: list[AdverseEventPublic]
    alerts: list[AlertPublic]


class EditResult(_Schema):
    entity: str
    id: int
    changed: dict[str, list[Any]]
