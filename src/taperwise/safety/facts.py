"""Plain, frozen facts the safety rules read (the store builds them from its rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from taperwise.protocol import Arm

Severity = Literal["info", "warning", "urgent"]


@dataclass(frozen=True)
class AssessmentFact:
    """One instrument administration (``total`` is None when the form is incomplete)."""

    time: dt.datetime
    instrument: str
    total: int | None
    complete: bool
    items: dict[str, int]
    gi_attributed_to_product: bool = False


@dataclass(frozen=True)
class DoseFact:
    """A supervised dose of the study product, given or held."""

    time: dt.datetime
    arm_id: str
    amount: float
    unit: str
    given: bool


@dataclass(frozen=True)
class VitalsFact:
    """Vital signs (any may be missing) and whether hypotension/bradycardia is symptomatic."""

    time: dt.datetime
    sbp: float | None
    dbp: float | None
    hr: float | None
    symptomatic: bool = False


@dataclass(frozen=True)
class AdverseEventFact:
    """An adverse event: verbatim term, CTCAE grade 1-5, ICH E2A seriousness."""

    time: dt.datetime
    term: str
    grade: int
    serious: bool


Event = AssessmentFact | DoseFact | VitalsFact | AdverseEventFact


@dataclass(frozen=True)
class ParticipantFacts:
    """What the rules know about one participant: the history BEFORE the event evaluated.

    ``arm`` is None before randomisation. ``participant`` is the pseudonymous code, the only
    identifier an alert message may carry.
    """

    participant: str
    arm: Arm | None
    comedications: tuple[str, ...] = ()
    egfr: float | None = None
    renal_impairment: bool = False
    prior_opioid_class: str | None = None
    assessments: tuple[AssessmentFact, ...] = field(default_factory=tuple)
    doses: tuple[DoseFact, ...] = field(default_factory=tuple)
    vitals: tuple[VitalsFact, ...] = field(default_factory=tuple)
    adverse_events: tuple[AdverseEventFact, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AlertDraft:
    """An alert the store saves: stable rule id, severity and a message without a dose."""

    rule_id: str
    severity: Severity
    message: str
