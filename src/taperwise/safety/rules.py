"""The safety rules. Each is a pure function ``(protocol, facts, event) -> list[AlertDraft]``.

Messages carry only the pseudonymous participant code, numbers and protocol limits: never free
text typed by a user (AE verbatim terms and co-medication entries may identify someone) and never
a proposed dose (DESIGN.md §4).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from taperwise.safety.facts import (
    AdverseEventFact,
    AlertDraft,
    AssessmentFact,
    DoseFact,
    Event,
    ParticipantFacts,
    VitalsFact,
)
from taperwise.safety.interactions import match_interacting

if TYPE_CHECKING:
    from taperwise.protocol import Arm, Protocol, SafetyParams

_EPS = 1e-9


def _cows_value(a: AssessmentFact) -> tuple[int, bool]:
    """(value, exact): the total of a complete form, else the partial sum (a lower bound)."""
    if a.complete and a.total is not None:
        return int(a.total), True
    return int(sum(v for v in a.items.values() if v is not None)), False


def _is_cows(a: AssessmentFact) -> bool:
    return a.instrument.lower() == "cows"


def _dose_arm(protocol: Protocol, facts: ParticipantFacts, dose: DoseFact) -> Arm | None:
    for arm in protocol.arms:
        if arm.id == dose.arm_id:
            return arm
    return facts.arm


def _given_same_arm(facts: ParticipantFacts, dose: DoseFact) -> list[DoseFact]:
    return [d for d in facts.doses if d.given and d.arm_id == dose.arm_id and d.time <= dose.time]


# --- COWS -------------------------------------------------------------------------------


def cows_severe(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """COWS total above ``cows_severe_total`` (> 36 = severe withdrawal)."""
    if not isinstance(event, AssessmentFact) or not _is_cows(event):
        return []
    limit = protocol.safety.cows_severe_total
    value, exact = _cows_value(event)
    if value <= limit:
        return []
    if exact:
        text = f"COWS total {value} > {limit} (severe withdrawal)"
    else:
        text = f"incomplete COWS form already sums to {value} > {limit} (severe withdrawal)"
    return [
        AlertDraft("cows.severe", "urgent", f"{facts.participant}: {text}; clinician review now")
    ]


def cows_rise(protocol: Protocol, facts: ParticipantFacts, event: Event | None) -> list[AlertDraft]:
    """COWS rise of at least ``cows_rise_24h`` points over the lowest complete total in the window."""
    if not isinstance(event, AssessmentFact) or not _is_cows(event):
        return []
    params = protocol.safety
    window = dt.timedelta(hours=params.cows_rise_window_hours)
    value, exact = _cows_value(event)
    earlier = [
        a.total
        for a in facts.assessments
        if _is_cows(a)
        and a.complete
        and a.total is not None
        and event.time - window <= a.time <= event.time
    ]
    if not earlier:
        return []
    lowest = min(earlier)
    rise = value - lowest
    if rise < params.cows_rise_24h:
        return []
    what = f"to {value}" if exact else f"to at least {value} (incomplete form)"
    return [
        AlertDraft(
            "cows.rise_24h",
            "warning",
            f"{facts.participant}: COWS rose by {rise} (from {lowest} {what}) within "
            f"{params.cows_rise_window_hours:g} h (rule: rise >= {params.cows_rise_24h}); clinician review",
        )
    ]


# --- buprenorphine ----------------------------------------------------------------------


def _bup_threshold(params: SafetyParams, prior_class: str | None) -> tuple[int, str]:
    from taperwise.errors import ValidationError
    from taperwise.protocol.stages import normalise_opioid_class

    try:
        cls = normalise_opioid_class(prior_class) if prior_class else None
    except ValidationError:
        cls = None
    if cls == "long_acting":
        return (
            params.buprenorphine_min_cows_after_methadone,
            " (long-acting opioid, e.g. methadone)",
        )
    return params.buprenorphine_min_cows, ""


def bup_below_threshold(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Buprenorphine given while the latest complete COWS is below the protocol threshold."""
    if not isinstance(event, DoseFact) or not event.given:
        return []
    arm = _dose_arm(protocol, facts, event)
    if arm is None or not arm.is_buprenorphine:
        return []
    params = protocol.safety
    if params.buprenorphine_check == "first_dose" and _given_same_arm(facts, event):
        return []
    threshold, why = _bup_threshold(params, facts.prior_opioid_class)
    cows = [
        a
        for a in facts.assessments
        if _is_cows(a) and a.complete and a.total is not None and a.time <= event.time
    ]
    which = "first " if params.buprenorphine_check == "first_dose" else ""
    if not cows:
        return [
            AlertDraft(
                "bup.below_cows_threshold",
                "warning",
                f"{facts.participant}: {which}buprenorphine dose recorded with no complete COWS "
                f"before it (protocol threshold COWS >= {threshold}{why}); risk of precipitated "
                "withdrawal: clinician review",
            )
        ]
    latest = max(cows, key=lambda a: a.time)
    if latest.total is not None and latest.total < threshold:
        return [
            AlertDraft(
                "bup.below_cows_threshold",
                "warning",
                f"{facts.participant}: {which}buprenorphine dose recorded when the latest COWS was "
                f"{latest.total} < {threshold}{why}; risk of precipitated withdrawal: clinician review",
            )
        ]
    return []


# --- alpha-2 agonists -------------------------------------------------------------------


def _hold_reasons(v: VitalsFact, params: SafetyParams) -> list[str]:
    reasons = []
    if v.sbp is not None and v.sbp < params.alpha2_hold_sbp_below:
        reasons.append(f"SBP {v.sbp:g} < {params.alpha2_hold_sbp_below:g} mmHg")
    if v.dbp is not None and v.dbp < params.alpha2_hold_dbp_below:
        reasons.append(f"DBP {v.dbp:g} < {params.alpha2_hold_dbp_below:g} mmHg")
    if v.hr is not None and v.hr < params.alpha2_hold_hr_below:
        reasons.append(f"HR {v.hr:g} < {params.alpha2_hold_hr_below:g} bpm")
    if v.symptomatic and params.alpha2_hold_if_symptomatic:
        reasons.append("symptomatic hypotension/bradycardia")
    return reasons


def alpha2_hold(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Alpha-2 agonist arm: vitals meet the hold rule, or a dose was given after such vitals."""
    params = protocol.safety
    if isinstance(event, VitalsFact):
        arm = facts.arm
        if arm is None or not arm.is_alpha2_agonist:
            return []
        reasons = _hold_reasons(event, params)
        if not reasons:
            return []
        return [
            AlertDraft(
                "alpha2.hold_vitals",
                "warning",
                f"{facts.participant}: protocol hold rule met ({'; '.join(reasons)}): hold the next "
                "dose of study medication pending clinician review",
            )
        ]
    if isinstance(event, DoseFact) and event.given:
        arm = _dose_arm(protocol, facts, event)
        if arm is None or not arm.is_alpha2_agonist:
            return []
        before = [v for v in facts.vitals if v.time <= event.time]
        if not before:
            return []
        latest = max(before, key=lambda v: v.time)
        reasons = _hold_reasons(latest, params)
        if not reasons:
            return []
        return [
            AlertDraft(
                "alpha2.hold_vitals",
                "urgent",
                f"{facts.participant}: dose recorded as given although the latest vitals met the "
                f"protocol hold rule ({'; '.join(reasons)}); clinician review now",
            )
        ]
    return []


# --- dose limits ------------------------------------------------------------------------


def _same_window(params: SafetyParams, earlier: dt.datetime, now: dt.datetime) -> bool:
    if params.dose_daily_window == "calendar_day":
        return earlier.date() == now.date() and earlier <= now
    return now - dt.timedelta(hours=24) < earlier <= now


def dose_limits(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Unit mismatch, single and daily maxima, minimum interval and doses per day."""
    if not isinstance(event, DoseFact) or not event.given:
        return []
    arm = _dose_arm(protocol, facts, event)
    if arm is None:
        return []
    reg, params, pid = arm.regimen, protocol.safety, facts.participant
    if event.unit != reg.unit:
        return [
            AlertDraft(
                "dose.unit_mismatch",
                "warning",
                f"{pid}: dose recorded in '{event.unit}' but the protocol regimen uses '{reg.unit}'; "
                "limits could not be checked",
            )
        ]
    out: list[AlertDraft] = []
    if event.amount > reg.max_single_dose + _EPS:
        out.append(
            AlertDraft(
                "dose.max_single",
                "urgent",
                f"{pid}: single dose {event.amount:g} {reg.unit} exceeds the protocol maximum "
                f"{reg.max_single_dose:g} {reg.unit}; clinician review now",
            )
        )
    window = "rolling 24 h" if params.dose_daily_window == "rolling_24h" else "calendar day"
    in_window = [
        d
        for d in _given_same_arm(facts, event)
        if d.unit == reg.unit and _same_window(params, d.time, event.time)
    ]
    total = sum(d.amount for d in in_window) + event.amount
    if total > reg.max_daily_dose + _EPS:
        out.append(
            AlertDraft(
                "dose.max_daily",
                "urgent",
                f"{pid}: {total:g} {reg.unit} given in the {window} exceeds the protocol daily "
                f"maximum {reg.max_daily_dose:g} {reg.unit}; clinician review now",
            )
        )
    if len(in_window) + 1 > reg.doses_per_day:
        out.append(
            AlertDraft(
                "dose.frequency",
                "warning",
                f"{pid}: {len(in_window) + 1} doses given in the {window}; the protocol allows "
                f"{reg.doses_per_day}",
            )
        )
    if reg.min_interval_hours > 0:
        gap = dt.timedelta(hours=reg.min_interval_hours)
        recent = [d for d in _given_same_arm(facts, event) if event.time - d.time < gap]
        if recent:
            last = max(recent, key=lambda d: d.time)
            hours = (event.time - last.time).total_seconds() / 3600
            out.append(
                AlertDraft(
                    "dose.min_interval",
                    "warning",
                    f"{pid}: dose given {hours:.1f} h after the previous one; the protocol minimum "
                    f"interval is {reg.min_interval_hours:g} h",
                )
            )
    return out


# --- magnesium and kratom -----------------------------------------------------------------


def gi_confound(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Positive (or product-attributed) GI items in a study with a magnesium-citrate arm.

    With ``safety.gi_flag_all_arms`` (default) every arm of such a study is flagged, so that the
    flag itself does not reveal the allocation; otherwise only magnesium-containing arms. The flag
    is raised at most once per participant in any 24 h: an earlier GI-positive (or attributed)
    assessment of the same instrument within the 24 h before this one already raised it.
    """
    if not isinstance(event, AssessmentFact):
        return []
    mg_arms = [a for a in protocol.arms if a.contains_magnesium]
    if not mg_arms:
        return []
    if not protocol.safety.gi_flag_all_arms and not (facts.arm and facts.arm.contains_magnesium):
        return []
    from taperwise.protocol.instrument_ref import gi_item_keys

    keys = gi_item_keys(event.instrument.lower())
    positive = {k: v for k, v in sorted(event.items.items()) if k in keys and v}
    if not positive and not event.gi_attributed_to_product:
        return []
    if _gi_flagged_within_24h(facts, event, keys):
        return []  # one flag per participant and 24 h keeps the alert inbox usable
    parts = [", ".join(f"{k}={v}" for k, v in positive.items())] if positive else []
    if event.gi_attributed_to_product:
        parts.append("rater attributed GI symptoms to the study product")
    return [
        AlertDraft(
            "gi.confound_magnesium",
            "info",
            f"{facts.participant}: {event.instrument.upper()} GI item(s) positive or attributed "
            f"({'; '.join(parts)}); the study has a magnesium citrate (osmotic laxative) arm: "
            "record the attribution flag; the SAP's no-GI-items sensitivity analysis applies",
        )
    ]


def _gi_flagged_within_24h(facts: ParticipantFacts, event: AssessmentFact, keys: object) -> bool:
    """Whether the rule already fired for this participant less than 24 h before ``event``.

    Replays the rule over the earlier GI-positive assessments of the same instrument: a flag is
    raised at a positive assessment when no flag was raised in the 24 h before it.
    """
    day = dt.timedelta(hours=24)
    last_flag: dt.datetime | None = None
    for earlier in sorted(facts.assessments, key=lambda a: a.time):
        if earlier.instrument != event.instrument or earlier.time > event.time:
            continue
        positive = earlier.gi_attributed_to_product or any(earlier.items.get(k) for k in keys)
        if positive and (last_flag is None or earlier.time - last_flag >= day):
            last_flag = earlier.time
    return last_flag is not None and event.time - last_flag < day


def _enrolment_arms(protocol: Protocol, facts: ParticipantFacts) -> list[Arm]:
    # before randomisation every arm is possible; naming protocol arms does not unblind
    return [facts.arm] if facts.arm is not None else list(protocol.arms)


def magnesium_renal(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Enrolment: renal impairment (flag or eGFR below the limit) with a magnesium arm."""
    if event is not None:
        return []
    arms = [a for a in _enrolment_arms(protocol, facts) if a.contains_magnesium]
    if not arms:
        return []
    limit = protocol.safety.magnesium_renal_egfr_below
    low_egfr = facts.egfr is not None and facts.egfr < limit
    if not (facts.renal_impairment or low_egfr):
        return []
    why = f"eGFR {facts.egfr:g} < {limit:g}" if low_egfr else "renal impairment recorded"
    names = ", ".join(a.id for a in arms)
    return [
        AlertDraft(
            "magnesium.renal",
            "warning",
            f"{facts.participant}: {why}; magnesium-containing arm(s) {names} risk "
            "hypermagnesaemia: review eligibility and magnesium monitoring",
        )
    ]


def kratom_cyp3a4(
    protocol: Protocol, facts: ParticipantFacts, event: Event | None
) -> list[AlertDraft]:
    """Enrolment: a CYP3A4-interacting co-medication with a kratom-product arm."""
    if event is not None:
        return []
    arms = [a for a in _enrolment_arms(protocol, facts) if a.is_kratom_product]
    if not arms:
        return []
    matched = match_interacting(facts.comedications, protocol.safety.cyp3a4_interacting)
    if not matched:
        return []
    names = ", ".join(a.id for a in arms)
    return [
        AlertDraft(
            "kratom.cyp3a4_comedication",
            "warning",
            f"{facts.participant}: co-medication(s) {', '.join(matched)} interact through CYP3A4 "
            f"with kratom (arm(s) {names}); review eligibility and monitoring",
        )
    ]


# --- adverse events -----------------------------------------------------------------------


def ae_rules(protocol: Protocol, facts: ParticipantFacts, event: Event | None) -> list[AlertDraft]:
    """Seizure term, CTCAE grade at or above ``ae_urgent_grade``, ICH E2A serious."""
    if not isinstance(event, AdverseEventFact):
        return []
    params, pid = protocol.safety, facts.participant
    out = []
    term = event.term.lower()
    if any(t.lower() in term for t in params.ae_seizure_terms if t.strip()):
        out.append(
            AlertDraft(
                "ae.seizure",
                "urgent",
                f"{pid}: adverse event coded as seizure/convulsion; clinician review now",
            )
        )
    if event.grade is not None and event.grade >= params.ae_urgent_grade:
        label = "death" if event.grade == 5 else f"grade {event.grade}"
        out.append(
            AlertDraft(
                "ae.grade_ge3",
                "urgent",
                f"{pid}: adverse event CTCAE {label} (>= {params.ae_urgent_grade}); clinician review now",
            )
        )
    if event.serious:
        out.append(
            AlertDraft(
                "ae.serious",
                "urgent",
                f"{pid}: serious adverse event (ICH E2A); expedited-reporting assessment needed",
            )
        )
    return out
