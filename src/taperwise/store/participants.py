"""Participants: enrolment (pseudonymous) and concealed randomisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taperwise.errors import ConflictError, NotFoundError, ValidationError
from taperwise.store import audit
from taperwise.store.audit import Actor
from taperwise.store.models import (
    AllocationEntry,
    AllocationListInfo,
    Participant,
    Site,
    Study,
    utcnow,
)
from taperwise.store.safety_hooks import run_safety
from taperwise.store.studies import get_study, protocol_of


def get_participant(session: Session, study: Study, code: str) -> Participant:
    participant = session.execute(
        select(Participant).where(Participant.study_id == study.id, Participant.code == code)
    ).scalar_one_or_none()
    if participant is None or participant.deleted_at is not None:
        raise NotFoundError(f"participant '{code}' not found in study '{study.id}'")
    return participant


def enroll(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    site: str | None = None,
    strata: dict[str, str] | None = None,
    consent_version: str | None = None,
    consent_date: dt.date | None = None,
    eligible: bool = True,
    opioid_class: str | None = None,
    last_opioid_use_at: dt.datetime | None = None,
    comedications: list[str] | None = None,
    egfr: float | None = None,
    renal_impairment: bool = False,
) -> tuple[Participant, list[Any]]:
    """Enrol a participant under a pseudonymous code; returns the participant and any alerts."""
    study = get_study(session, study_id)
    protocol = protocol_of(study)
    code = code.strip()
    if not code:
        raise ValidationError("participant code must not be empty")
    exists = session.execute(
        select(Participant.id).where(Participant.study_id == study.id, Participant.code == code)
    ).first()
    if exists:
        raise ConflictError(f"participant '{code}' is already enrolled in study '{study.id}'")
    sites = list(session.execute(select(Site.code).where(Site.study_id == study.id)).scalars())
    site_code = site or (sites[0] if len(sites) == 1 else None)
    if site_code not in sites:
        raise ValidationError(
            f"site '{site}' is not a site of study '{study.id}'; allowed: {', '.join(sites)}"
        )
    if actor.site_code and actor.site_code != site_code:
        raise ValidationError(f"user '{actor.username}' may enrol only at site '{actor.site_code}'")
    strata = dict(strata or {})
    declared = dict(protocol.randomisation.strata or {})
    for factor, level in strata.items():
        if factor not in declared:
            raise ValidationError(
                f"stratum factor '{factor}' is not in the protocol; allowed: {', '.join(declared) or 'none'}"
            )
        if level not in [str(v) for v in declared[factor]]:
            allowed = ", ".join(str(v) for v in declared[factor])
            raise ValidationError(f"stratum {factor}='{level}' is not allowed; allowed: {allowed}")
    if opioid_class is not None:
        opioid_class = opioid_class.strip()
    participant = Participant(
        study_id=study.id,
        code=code,
        site_code=site_code,
        strata=strata,
        consent_version=consent_version,
        consent_date=consent_date,
        eligible=eligible,
        opioid_class=opioid_class or protocol.opioid_class_default,
        last_opioid_use_at=last_opioid_use_at,
        comedications=list(comedications or []),
        egfr=egfr,
        renal_impairment=renal_impairment,
    )
    audit.record_create(session, actor, participant, entity="participant", study_id=study.id)
    alerts = run_safety(
        session, study, participant, event=None, source=("participant", participant.id)
    )
    return participant, alerts


@dataclass(frozen=True)
class RandomisationOutcome:
    participant: str
    arm: str
    blinded_label: str
    sequence: int | None
    stratum: str
    warning: str | None
    used: int | None
    size: int | None

    def public(self, *, unblinded: bool) -> dict[str, Any]:
        """What may be shown: blinded roles see the blinded label only."""
        data = {
            "participant": self.participant,
            "arm_label": self.blinded_label,
            "stratum": self.stratum,
            "warning": self.warning,
            "used": self.used,
            "size": self.size,
        }
        if unblinded:
            data["arm"] = self.arm
            data["sequence"] = self.sequence
        return data


def _stratum_levels(participant: Participant, factors: list[str]) -> dict[str, str]:
    levels: dict[str, str] = {}
    for factor in factors:
        if factor == "site":
            levels[factor] = participant.site_code
        elif factor in (participant.strata or {}):
            levels[factor] = str(participant.strata[factor])
        else:
            raise ValidationError(
                f"participant '{participant.code}' has no level for stratum factor '{factor}'; record it at enrolment"
            )
    return levels


def randomise(
    session: Session,
    actor: Actor,
    *,
    study_id: str | None,
    code: str,
    at: dt.datetime | None = None,
) -> RandomisationOutcome:
    """Reveal the next concealed assignment for an eligible, consented participant.

    ``at`` overrides the randomisation time; only simulated studies (the demo) use it, so that the
    simulated clock and the randomisation time agree. Real randomisation is stamped with now.
    """
    from taperwise.randomize import next_assignment, stratum_key

    study = get_study(session, study_id)
    protocol = protocol_of(study)
    participant = get_participant(session, study, code)
    if participant.arm_id is not None:
        raise ConflictError(f"participant '{code}' is already randomised")
    if not participant.eligible:
        raise ValidationError(
            f"participant '{code}' is not eligible; only eligible participants can be randomised"
        )
    if not participant.consent_version or participant.consent_date is None:
        raise ValidationError(
            f"participant '{code}' has no recorded consent (version and date); record consent before randomising"
        )
    settings = protocol.randomisation
    factors = list((settings.strata or {}).keys())
    levels = _stratum_levels(participant, factors)
    stratum = stratum_key(levels, factors)
    warning = used = size = sequence = None
    if getattr(settings, "method", "permuted_blocks") == "minimisation":
        arm = _minimise(session, study, protocol, participant)
    else:
        rows = list(
            session.execute(
                select(AllocationEntry)
                .where(AllocationEntry.study_id == study.id)
                .order_by(AllocationEntry.sequence)
            ).scalars()
        )
        if not rows:
            raise ConflictError(f"study '{study.id}' has no allocation list")
        used_sequences = {r.sequence for r in rows if r.used_by is not None}
        assignment = next_assignment([_entry(r) for r in rows], used_sequences, stratum)
        entry_row = next(r for r in rows if r.sequence == assignment.entry.sequence)
        entry_row.used_by, entry_row.used_at = participant.id, at or utcnow()
        arm, sequence = entry_row.arm_id, entry_row.sequence
        warning, used, size = assignment.warning, assignment.used_after, assignment.size
    old = {
        "arm_id": participant.arm_id,
        "randomised_at": participant.randomised_at,
        "allocation_sequence": None,
    }
    participant.arm_id = arm
    participant.randomised_at = at or utcnow()
    participant.allocation_sequence = sequence
    audit.append(
        session,
        actor=actor,
        study_id=study.id,
        entity="participant",
        entity_id=participant.id,
        action="randomise",
        changes={
            "arm_id": (old["arm_id"], arm),
            "randomised_at": (old["randomised_at"], participant.randomised_at),
            "allocation_sequence": (None, sequence),
        },
    )
    label = protocol.arm(arm).blinded_label
    return RandomisationOutcome(code, arm, label, sequence, stratum, warning, used, size)


def _entry(row: AllocationEntry) -> Any:
    from taperwise.randomize import AllocationEntry as Entry

    return Entry(
        sequence=row.sequence,
        stratum=row.stratum,
        block=row.block,
        block_size=row.block_size,
        arm=row.arm_id,
    )


def _minimise(session: Session, study: Study, protocol: Any, participant: Participant) -> str:
    from taperwise.randomize import Minimiser

    settings = protocol.randomisation
    factors = {k: [str(v) for v in vals] for k, vals in (settings.strata or {}).items()}
    previous = session.execute(
        select(Participant)
        .where(Participant.study_id == study.id, Participant.arm_id.is_not(None))
        .order_by(Participant.randomised_at, Participant.id)
    ).scalars()
    history = [(_stratum_levels(p, list(factors)), p.arm_id) for p in previous]
    arms = [a.id for a in protocol.arms]
    ratio = dict(settings.ratio) if settings.ratio else {a: 1 for a in arms}
    info = session.get(AllocationListInfo, study.id)
    base_seed = info.seed if info else (settings.seed or 0)
    minimiser = Minimiser(
        arms=arms,
        ratio=[int(ratio.get(a, 1)) for a in arms],
        factors=factors,
        seed=int(base_seed),  # the minimiser derives each participant's draw from its position
        **_minimisation_options(settings),
    )
    return minimiser.assign(_stratum_levels(participant, list(factors)), history).arm


def _minimisation_options(settings: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"method": getattr(settings, "imbalance", "range")}
    for name in ("weights", "p_best"):
        value = getattr(settings, name, None)
        if value is not None:
            options[name] = value
    return options


def allocation_usage(session: Session, study: Study) -> dict[str, dict[str, int]]:
    """Per stratum: entries used and list size (for the 80 % warning on dashboards)."""
    rows = session.execute(
        select(
            AllocationEntry.stratum,
            func.count(AllocationEntry.id),
            func.count(AllocationEntry.used_by),
        )
        .where(AllocationEntry.study_id == study.id)
        .group_by(AllocationEntry.stratum)
    ).all()
    return {stratum: {"size": size, "used": used} for stratum, size, used in rows}
