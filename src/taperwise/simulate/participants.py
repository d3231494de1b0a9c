"""One simulated participant at a time, for callers that record data through the capture path
(the demo study): daily totals, valid item forms, GI attribution flags and the exit.

Examples
--------
>>> import numpy as np
>>> from taperwise.protocol import load_protocol
>>> from taperwise.demo import DEMO_PROTOCOL
>>> sim = ParticipantSimulator(load_protocol(DEMO_PROTOCOL))
>>> course = sim.participant("KMC", np.random.default_rng(1))
>>> course.instrument, len(course.scores) == course.exit_day
('cows', True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from taperwise.simulate.dataset import items_for_total
from taperwise.simulate.model import EXIT_REASONS, simulate_trial
from taperwise.simulate.params import Scenario


@dataclass(frozen=True)
class ParticipantCourse:
    """The simulated record of one participant.

    Attributes
    ----------
    arm, instrument : str
        Arm id and the instrument whose forms are given.
    baseline : int
        Day-0 (pre-dose) total; ``baseline_items`` its form.
    scores : list of int
        Daily totals on days 1..exit_day; ``items`` the matching forms.
    gi_attributed : list of bool
        Rater flag "GI symptom attributed to the study product" per day.
    exit_day : int
        Last study day assessed (= days for completers).
    exit_reason : str
        ``completed``, ``lack_of_efficacy``, ``adverse_event`` or ``other`` (store exit reasons).
    """

    arm: str
    instrument: str
    baseline: int
    baseline_items: dict[str, int]
    scores: list[int]
    items: list[dict[str, int]]
    gi_attributed: list[bool]
    exit_day: int
    exit_reason: str

    @property
    def completed(self) -> bool:
        return self.exit_reason == "completed"


class ParticipantSimulator:
    """Draws participants of a protocol's arms from the scenario model.

    Parameters
    ----------
    protocol : Protocol
        The study protocol (arms, days, primary instrument).
    scenario : Scenario, optional
        The model; default :func:`~taperwise.simulate.scenario_from_protocol` (the candidate has
        no effect; buprenorphine and alpha-2 agonists their default class effects).
    effects : dict, optional
        Arm id -> fractional reduction, overriding the defaults.
    """

    def __init__(
        self,
        protocol: Any,
        scenario: Scenario | None = None,
        *,
        effects: dict[str, float] | None = None,
    ):
        from taperwise.simulate.scenarios import scenario_from_protocol

        self.scenario = scenario or scenario_from_protocol(protocol, n_per_arm=2, effects=effects)

    def participant(self, arm_id: str, rng: np.random.Generator) -> ParticipantCourse:
        """One participant of arm ``arm_id`` drawn from ``rng``."""
        arm = self.scenario.arm(arm_id)
        one = dataclasses.replace(self.scenario, arms=(dataclasses.replace(arm, n=1),))
        trial = simulate_trial(one, rng)
        instrument = one.trajectory.instrument
        exit_day = int(trial.exit_day[0])
        scores = [int(s) for s in trial.scores[0, :exit_day]]
        gi = [int(g) for g in trial.gi_points[0, :exit_day]]
        baseline = int(trial.baseline[0])
        return ParticipantCourse(
            arm=arm_id,
            instrument=instrument,
            baseline=baseline,
            baseline_items=items_for_total(instrument, baseline, rng),
            scores=scores,
            items=[
                items_for_total(instrument, s, rng, gi_points=g)
                for s, g in zip(scores, gi, strict=True)
            ],
            gi_attributed=[bool(f) for f in trial.gi_flag[0, :exit_day]],
            exit_day=exit_day,
            exit_reason=EXIT_REASONS[int(trial.reason[0])],
        )
