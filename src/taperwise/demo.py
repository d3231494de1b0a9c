"""The demo study: KMC vs buprenorphine vs placebo with about 60 simulated participants.

Every record goes through the same service functions as bedside entry (scoring, safety rules,
audit), so the demo shows alerts, holds and the audit trail as a real study would. The data are
SIMULATED by :class:`taperwise.simulate.participants.ParticipantSimulator` from the protocol's
default scenario and say nothing about any product: the candidate arm is given no effect on
withdrawal (the default assumption until a trial measures one), buprenorphine its default class
effect, and magnesium citrate a laxative GI effect (DESIGN.md §4). Doses are the amounts written in the example
protocol's regimen; the software never proposes a dose.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: The shipped example protocols (package data; `examples/` in the repository links to them).
EXAMPLES = Path(__file__).resolve().parent / "examples"
DEMO_PROTOCOL = EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml"
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


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


def build_demo(
    engine,
    *,
    n_participants: int = 60,
    seed: int = 20261124,
    protocol_path: Path = DEMO_PROTOCOL,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Create the demo study in ``engine`` and fill it with simulated participants."""
    from taperwise.simulate.participants import ParticipantSimulator
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
    simulator = ParticipantSimulator(protocol)
    strata = dict(protocol.randomisation.strata or {})
    counts = {"assessments": 0, "doses": 0, "alerts": 0, "completed": 0}
    randomised: dict[str, int] = {}
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
        course = simulator.participant(arm.id, rng)
        first_dose = enrolled_at + dt.timedelta(hours=1)
        with transaction(engine) as session:
            _, alerts = record_assessment(
                session,
                rater,
                study_id=study_id,
                code=code,
                instrument=course.instrument,
                items=course.baseline_items,
                time=enrolled_at,
                context="baseline",
            )
            counts["assessments"] += 1
            counts["alerts"] += len(alerts)
            for day in range(1, course.exit_day + 1):
                when = first_dose + dt.timedelta(days=day - 1)
                score = course.scores[day - 1]
                _, alerts = record_assessment(
                    session,
                    rater,
                    study_id=study_id,
                    code=code,
                    instrument=course.instrument,
                    items=course.items[day - 1],
                    time=when,
                    context="pre-dose",
                    gi_attributed_to_product=course.gi_attributed[day - 1],
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
                if arm.contains_magnesium and rng.random() < 0.08:
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
            record_exit(
                session,
                investigator,
                study_id=study_id,
                code=code,
                day=course.exit_day,
                reason=course.exit_reason,
                time=first_dose + dt.timedelta(days=course.exit_day),
            )
            counts["completed"] += int(course.completed)
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
