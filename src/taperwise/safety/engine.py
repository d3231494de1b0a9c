"""Evaluate the protocol's safety rules for one new event (pure: no database, no I/O)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from taperwise.safety import rules
from taperwise.safety.facts import AlertDraft, Event, ParticipantFacts

if TYPE_CHECKING:
    from taperwise.protocol import Protocol

log = logging.getLogger(__name__)

RuleFn = Callable[["Protocol", ParticipantFacts, "Event | None"], list[AlertDraft]]


@dataclass(frozen=True)
class RuleInfo:
    """One entry of the rule catalogue (for docs, `taperwise protocol rules` and the UI)."""

    rule_id: str
    severity: str
    trigger: str
    description: str
    parameters: tuple[str, ...]


RULE_CATALOGUE: tuple[RuleInfo, ...] = (
    RuleInfo(
        "cows.severe",
        "urgent",
        "assessment",
        "COWS total > cows_severe_total (an incomplete form whose recorded items already exceed it also fires)",
        ("cows_severe_total",),
    ),
    RuleInfo(
        "cows.rise_24h",
        "warning",
        "assessment",
        "COWS rise >= cows_rise_24h over the lowest complete COWS in the previous cows_rise_window_hours",
        ("cows_rise_24h", "cows_rise_window_hours"),
    ),
    RuleInfo(
        "bup.below_cows_threshold",
        "warning",
        "dose",
        "buprenorphine given when the latest complete COWS is below the threshold (13 after a long-acting opioid) or none is recorded; first dose only unless buprenorphine_check=every_dose",
        ("buprenorphine_min_cows", "buprenorphine_min_cows_after_methadone", "buprenorphine_check"),
    ),
    RuleInfo(
        "alpha2.hold_vitals",
        "warning / urgent",
        "vitals / dose",
        "alpha-2 agonist arm: vitals below SBP/DBP/HR limits or symptomatic (warning: hold next dose); a dose given when the latest vitals met the rule (urgent)",
        (
            "alpha2_hold_sbp_below",
            "alpha2_hold_dbp_below",
            "alpha2_hold_hr_below",
            "alpha2_hold_if_symptomatic",
        ),
    ),
    RuleInfo(
        "dose.unit_mismatch",
        "warning",
        "dose",
        "dose unit differs from the regimen unit (limits not checked)",
        (),
    ),
    RuleInfo("dose.max_single", "urgent", "dose", "dose above regimen.max_single_dose", ()),
    RuleInfo(
        "dose.max_daily",
        "urgent",
        "dose",
        "given doses in the window (rolling 24 h or calendar day) above regimen.max_daily_dose",
        ("dose_daily_window",),
    ),
    RuleInfo(
        "dose.frequency",
        "warning",
        "dose",
        "more given doses in the window than regimen.doses_per_day",
        ("dose_daily_window",),
    ),
    RuleInfo(
        "dose.min_interval",
        "warning",
        "dose",
        "dose within regimen.min_interval_hours of the previous given dose",
        (),
    ),
    RuleInfo(
        "gi.confound_magnesium",
        "info",
        "assessment",
        "GI item positive or attributed to the product in a study with a magnesium-citrate arm",
        ("gi_flag_all_arms",),
    ),
    RuleInfo(
        "magnesium.renal",
        "warning",
        "enrolment",
        "renal impairment or eGFR below the limit with a magnesium-containing arm",
        ("magnesium_renal_egfr_below",),
    ),
    RuleInfo(
        "kratom.cyp3a4_comedication",
        "warning",
        "enrolment",
        "CYP3A4-interacting co-medication with a kratom-product arm",
        ("cyp3a4_interacting",),
    ),
    RuleInfo(
        "ae.seizure",
        "urgent",
        "adverse event",
        "AE term matches a seizure term",
        ("ae_seizure_terms",),
    ),
    RuleInfo(
        "ae.grade_ge3",
        "urgent",
        "adverse event",
        "CTCAE grade >= ae_urgent_grade",
        ("ae_urgent_grade",),
    ),
    RuleInfo(
        "ae.serious", "urgent", "adverse event", "AE meets an ICH E2A seriousness criterion", ()
    ),
)

#: Rule functions in evaluation order (a function may emit several rule ids).
RULES: tuple[RuleFn, ...] = (
    rules.cows_severe,
    rules.cows_rise,
    rules.bup_below_threshold,
    rules.alpha2_hold,
    rules.dose_limits,
    rules.gi_confound,
    rules.magnesium_renal,
    rules.kratom_cyp3a4,
    rules.ae_rules,
)


def evaluate(protocol: Protocol, facts: ParticipantFacts, event: Event | None) -> list[AlertDraft]:
    """Alerts raised by ``event`` given the participant's earlier history.

    Parameters
    ----------
    protocol
        The study protocol (rule parameters in ``protocol.safety``, limits in each regimen).
    facts
        The participant's history BEFORE ``event``.
    event
        The new assessment, dose, vitals or adverse event; None evaluates the enrolment rules
        (CYP3A4 co-medication with a kratom product, magnesium with renal impairment).

    Returns
    -------
    list of AlertDraft
        In catalogue order; empty when nothing fires.

    Examples
    --------
    >>> import datetime as dt
    >>> from taperwise.protocol import load_protocol
    >>> p = load_protocol("examples/kmc-vs-buprenorphine-vs-placebo.yaml")  # doctest: +SKIP
    >>> facts = ParticipantFacts("P-001", p.arm("BUP"))  # doctest: +SKIP
    >>> ev = AssessmentFact(dt.datetime(2026, 1, 1, 8), "cows", 38, True, {})  # doctest: +SKIP
    >>> [a.rule_id for a in evaluate(p, facts, ev)]  # doctest: +SKIP
    ['cows.severe']
    """
    facts, event = _comparable_times(facts, event)
    drafts: list[AlertDraft] = []
    for rule in RULES:
        drafts.extend(rule(protocol, facts, event))
    if drafts:
        log.debug("safety rules fired: %s", ", ".join(d.rule_id for d in drafts))
    return drafts


def _comparable_times(
    facts: ParticipantFacts, event: Event | None
) -> tuple[ParticipantFacts, Event | None]:
    """Make naive and aware datetimes comparable (naive ones are taken as UTC) when mixed."""
    history = (*facts.assessments, *facts.doses, *facts.vitals, *facts.adverse_events)
    items = (*history, event) if event is not None else history
    kinds = {x.time.tzinfo is None for x in items}
    if len(kinds) < 2:
        return facts, event

    def fix(x):  # noqa: ANN001, ANN202 - any fact dataclass
        if x.time.tzinfo is None:
            return dataclasses.replace(x, time=x.time.replace(tzinfo=dt.UTC))
        return x

    facts = dataclasses.replace(
        facts,
        assessments=tuple(map(fix, facts.assessments)),
        doses=tuple(map(fix, facts.doses)),
        vitals=tuple(map(fix, facts.vitals)),
        adverse_events=tuple(map(fix, facts.adverse_events)),
    )
    return facts, (fix(event) if event is not None else None)
