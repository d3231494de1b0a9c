"""The demo study: KMC vs buprenorphine vs placebo with about 60 simulated participants.

Every record goes through the same service functions as bedside entry (scoring, safety rules,
audit), so the demo shows alerts, holds and the audit trail as a real study would. The data are
SIMULATED and say nothing about any product: the candidate arm is given no effect on withdrawal
(the default assumption until a trial measures one), buprenorphine a moderate one, and magnesium
citrate a laxative GI effect (DESIGN.md §4). Doses are the amounts written in the example
protocol's regimen; the software never proposes a dose.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from taperwise.simulate.cows_items import cows_items_for_total

log = logging.getLogger(__name__)

#: The shipped example protocols (package data; `examples/` in the repository links to them).
EXAMPLES = Path(__file__).resolve().parent / "examples"
DEMO_PROTOCOL = EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml"
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

#: Relative reduction of the withdrawal curve by arm drug class in the demo (assumptions, not findings).
DEMO_ARM_EFFECT = {"buprenorphine": 0.45, "kratom_product": 0.0, "placebo": 0.0}


@dataclass(frozen=True)
class DemoSummary:
    study: str
    participants: int
    randomised: dict[str, int]
    assessments: int
    doses: int
    alerts: int
    completed: int

    def to_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def withdrawal_curve(hours_since_last_use: np.ndarray, peak: float) -> np.ndarray:
    """Mean COWS by hours since last short-acting opioid use: rises from ~8 h, peaks ~36-48 h."""
    h = np.asarray(hours_since_last_use, dtype=float)
    shape = (h / 42.0) ** 2.2 * np.exp(2.2 * (1 - h / 42.0))
    return 2.0 + peak * np.clip(shape, 0.0, None)


def build_demo(
    engine,
    *,
    n_participants: int = 60,
    seed: int = 20261124,
    protocol_path: Path = DEMO_PROTOCOL,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Create the demo study in ``engine`` and fill it with simulated participants."""
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.store.participants import enroll, randomise
    from taperwise.store.records import (
        record_adverse_event,
        record_assessment,
        record_dose,
        record_exit,
        record_vitals,
    )
    from taperwise.store.studies import create_study, protocol_of

    rng = np.random.default_rng(seed)
    admin, investigator = Actor("demo-admin", "admin"), Actor("demo-investigator", "investigator")
    rater, nurse = Actor("demo-rater", "rater"), Actor("demo-nurse", "investigator")
    with transaction(engine) as session:
        study = create_study(
            session,
            admin,
            protocol_text=protocol_path.read_text(),
            source=str(protocol_path),
            seed=seed % 100000,
        )
        study_id = study.id
        protocol = protocol_of(study)
    strata = dict(protocol.randomisation.strata or {})
    counts = {"assessments": 0, "doses": 0, "alerts": 0, "completed": 0}
    randomised: dict[str, int] = {}
    days = int(protocol.schedule.days)
    for index in range(n_participants):
        code = f"D{index + 1:03d}"
        levels = {k: str(rng.choice([str(v) for v in vals])) for k, vals in strata.items()}
        site = levels.pop("site", None)
        enrolled_at = START + dt.timedelta(days=int(index // 6), hours=int(rng.integers(0, 6)))
        last_use = enrolled_at - dt.timedelta(hours=float(rng.uniform(10, 20)))
        with transaction(engine) as session:
            _, alerts = enroll(
                session,
                investigator,
                study_id=study_id,
                code=code,
                site=site,
                strata=levels,
                consent_version="1.0",
                consent_date=enrolled_at.date(),
                opioid_class="short_acting",
                last_opioid_use_at=last_use,
                comedications=["midazolam"] if rng.random() < 0.05 else [],
            )
            counts["alerts"] += len(alerts)
            outcome = randomise(
                session,
                investigator,
                study_id=study_id,
                code=code,
                at=enrolled_at + dt.timedelta(minutes=30),
            )
        arm = protocol.arm(outcome.arm)
        randomised[arm.id] = randomised.get(arm.id, 0) + 1
        effect = DEMO_ARM_EFFECT.get(arm.drug_class, 0.2)
        peak = float(rng.normal(14.0, 3.5)) * (1 - effect)
        gi_boost = 0.25 if arm.contains_magnesium else 0.0
        dropout_day = None
        first_dose = enrolled_at + dt.timedelta(hours=1)
        with transaction(engine) as session:
            baseline = float(
                withdrawal_curve(np.array([(enrolled_at - last_use).total_seconds() / 3600]), 14.0)[
                    0
                ]
            )
            _, alerts = record_assessment(
                session,
                rater,
                study_id=study_id,
                code=code,
                instrument="cows",
                items=cows_items_for_total(max(baseline, 8.0), rng),
                time=enrolled_at,
                context="baseline",
            )
            counts["assessments"] += 1
            counts["alerts"] += len(alerts)
            for day in range(1, days + 1):
                when = first_dose + dt.timedelta(days=day - 1)
                hours = (when - last_use).total_seconds() / 3600
                mean = float(withdrawal_curve(np.array([hours]), peak)[0])
                score = max(0.0, rng.normal(mean, 2.0))
                _, alerts = record_assessment(
                    session,
                    rater,
                    study_id=study_id,
                    code=code,
                    instrument="cows",
                    items=cows_items_for_total(score, rng, gi_boost=gi_boost),
                    time=when,
                    context="pre-dose",
                    gi_attributed_to_product=bool(gi_boost and rng.random() < 0.3),
                )
                counts["assessments"] += 1
                counts["alerts"] += len(alerts)
                sbp, hr = float(rng.normal(118, 12)), float(rng.normal(78, 10))
                _, alerts = record_vitals(
                    session,
                    nurse,
                    study_id=study_id,
                    code=code,
                    sbp=round(sbp),
                    dbp=round(sbp * 0.65),
                    hr=round(hr),
                    time=when + dt.timedelta(minutes=5),
                )
                counts["alerts"] += len(alerts)
                amount = _scheduled_amount(arm, day)
                below_induction = (
                    arm.is_buprenorphine
                    and day == 1
                    and score < protocol.safety.buprenorphine_min_cows
                )
                if amount is not None and below_induction:
                    # the protocol's induction rule: hold the first buprenorphine dose below the COWS threshold
                    _, alerts = record_dose(
                        session,
                        nurse,
                        study_id=study_id,
                        code=code,
                        amount=amount,
                        unit=arm.regimen.unit,
                        given=False,
                        hold_reason="COWS below the protocol's buprenorphine induction threshold",
                        time=when + dt.timedelta(minutes=15),
                    )
                    counts["alerts"] += len(alerts)
                elif amount is not None:
                    _, alerts = record_dose(
                        session,
                        nurse,
                        study_id=study_id,
                        code=code,
                        amount=amount,
                        unit=arm.regimen.unit,
                        time=when + dt.timedelta(minutes=15),
                    )
                    counts["doses"] += 1
                    counts["alerts"] += len(alerts)
                if gi_boost and rng.random() < 0.08:
                    _, alerts = record_adverse_event(
                        session,
                        nurse,
                        study_id=study_id,
                        code=code,
                        term="Diarrhoea",
                        grade=int(rng.choice([1, 2])),
                        relatedness="probable",
                        onset=when + dt.timedelta(hours=3),
                    )
                    counts["alerts"] += len(alerts)
                if rng.random() < 0.02 + 0.006 * score:
                    dropout_day = day
                    break
            if dropout_day is None:
                record_exit(
                    session,
                    investigator,
                    study_id=study_id,
                    code=code,
                    day=days,
                    reason="completed",
                    time=first_dose + dt.timedelta(days=days),
                )
                counts["completed"] += 1
            else:
                reason = str(
                    rng.choice(["withdrew_consent", "lost_to_follow_up", "lack_of_efficacy"])
                )
                record_exit(
                    session,
                    investigator,
                    study_id=study_id,
                    code=code,
                    day=dropout_day,
                    reason=reason,
                    time=first_dose + dt.timedelta(days=dropout_day),
                )
        if progress:
            progress(index + 1, n_participants)
    return DemoSummary(
        study_id,
        n_participants,
        randomised,
        counts["assessments"],
        counts["doses"],
        counts["alerts"],
        counts["completed"],
    )


def _scheduled_amount(arm, day: int) -> float | None:
    """The amount the protocol's regimen writes for this study day (None when nothing is scheduled)."""
    schedule = list(arm.regimen.schedule or [])
    entry = next((s for s in schedule if int(s.day) == day), None)
    if entry is None and schedule:
        entry = schedule[-1] if day > max(int(s.day) for s in schedule) else None
    if entry is None or entry.dose is None:
        return None
    return float(entry.dose)
