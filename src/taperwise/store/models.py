"""SQLAlchemy 2 models of the study store.

Clinical rows are never deleted: a delete sets ``deleted_at``/``deleted_by``/``delete_reason``.
Every change to a clinical row goes through :mod:`taperwise.store.audit`, which appends one row per
changed field to the hash-chained ``audit_log``. Participants are identified by a pseudonymous
code only; the store holds no names, birth dates or contact details.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class SoftDeleteMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))  # rater, investigator, pharmacist, monitor, admin
    site_code: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: all sites
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(32))
    protocol_yaml: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="study")


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")

    study: Mapped[Study] = relationship(back_populates="sites")


class Participant(SoftDeleteMixin, Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # pseudonymous id
    site_code: Mapped[str] = mapped_column(String(64))
    strata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    consent_date: Mapped[dt.date | None] = mapped_column(nullable=True)
    eligible: Mapped[bool] = mapped_column(Boolean, default=True)
    opioid_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_opioid_use_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comedications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    egfr: Mapped[float | None] = mapped_column(Float, nullable=True)
    renal_impairment: Mapped[bool] = mapped_column(Boolean, default=False)
    arm_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    randomised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    allocation_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AllocationEntry(Base):
    """One concealed row of a randomisation list; revealed only when used for a participant."""

    __tablename__ = "allocation_entries"
    __table_args__ = (UniqueConstraint("study_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(255), index=True)
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm_id: Mapped[str] = mapped_column(String(64))
    used_by: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id"), nullable=True, unique=True
    )
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AllocationListInfo(Base):
    __tablename__ = "allocation_lists"

    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Dose(SoftDeleteMixin, Base):
    __tablename__ = "doses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    arm_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    given: Mapped[bool] = mapped_column(Boolean, default=True)
    hold_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Assessment(SoftDeleteMixin, Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    context: Mapped[str] = mapped_column(String(32), default="unscheduled")
    items: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # raw observations, e.g. pulse_bpm
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subtotal_no_gi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    band: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rater: Mapped[str] = mapped_column(String(64))
    gi_attributed_to_product: Mapped[bool] = mapped_column(Boolean, default=False)


class Vitals(SoftDeleteMixin, Base):
    __tablename__ = "vitals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sbp: Mapped[float | None] = mapped_column(Float, nullable=True)
    dbp: Mapped[float | None] = mapped_column(Float, nullable=True)
    hr: Mapped[float | None] = mapped_column(Float, nullable=True)
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    symptomatic: Mapped[bool] = mapped_column(Boolean, default=False)


class AdverseEvent(SoftDeleteMixin, Base):
    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    term: Mapped[str] = mapped_column(Text)
    onset: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    grade: Mapped[int] = mapped_column(Integer)  # CTCAE v5 1-5
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    seriousness: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ICH E2A criteria met
    relatedness: Mapped[str] = mapped_column(String(32), default="not_assessed")
    outcome: Mapped[str] = mapped_column(String(32), default="not_recovered")
    led_to_discontinuation: Mapped[bool] = mapped_column(Boolean, default=False)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    source_entity: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Deviation(SoftDeleteMixin, Base):
    __tablename__ = "deviations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)


class StudyExit(SoftDeleteMixin, Base):
    __tablename__ = "study_exits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    day: Mapped[int] = mapped_column(Integer)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(Base):
    """Append-only, hash-chained record of every change (DB triggers refuse UPDATE/DELETE)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user: Mapped[str] = mapped_column(String(64))
    study_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create, update, delete
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text, nullable=True)
    new: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A signed-in web session or API token, shared by every server process.

    Not clinical data and not audited. The row holds a SHA-256 digest of the random session id,
    never the id itself, so reading this table does not yield a usable cookie or token. Times are
    seconds since the epoch (the web layer's clock).
    """

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cookie, bearer
    csrf: Mapped[str] = mapped_column(String(64))
    created_s: Mapped[float] = mapped_column(Float)
    last_seen_s: Mapped[float] = mapped_column(Float)


class LoginFailure(Base):
    """One failed login, counted by the login rate limiter (key stored as a SHA-256 digest)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at_s: Mapped[float] = mapped_column(Float)


CLINICAL_ENTITIES: dict[str, type[Base]] = {
    "participant": Participant,
    "dose": Dose,
    "assessment": Assessment,
    "vitals": Vitals,
    "adverse_event": AdverseEvent,
    "deviation": Deviation,
    "study_exit": StudyExit,
}
