"""taperwise.simulate: in-silico withdrawal trials.

A calibrated generating model of daily withdrawal scores (gamma-shaped course peaking on day 2-3,
between-subject heterogeneity, AR(1) within-subject correlation, Emax treatment effect, a GI
confound for magnesium-containing products, and dropout that depends on the current score), a
trial simulator that emits analysis datasets, and operating characteristics (power, type I error,
bias, CI coverage, sample-size search) on serial, process or Dask executors with identical
results for a seed.

Examples
--------
>>> import numpy as np
>>> from taperwise.simulate import load_scenario, simulate_trial
>>> trial = simulate_trial(load_scenario("lofexidine-phase3"), np.random.default_rng(7))
>>> [row["arm"] for row in trial.arm_summary()]
['PBO', 'LFX216', 'LFX288']
"""

from taperwise.simulate.model import (
    EXIT_REASONS,
    SimulatedTrial,
    expected_scores,
    simulate_trial,
    true_effects,
)
from taperwise.simulate.params import (
    AnalysisSettings,
    ArmModel,
    DoseResponse,
    DropoutParams,
    Scenario,
    TrajectoryParams,
)
from taperwise.simulate.scenarios import (
    builtin_scenarios,
    load_scenario,
    scenario_for_protocol_file,
    scenario_from_dict,
    scenario_from_protocol,
)

__all__ = [
    "EXIT_REASONS",
    "AnalysisSettings",
    "ArmModel",
    "DoseResponse",
    "DropoutParams",
    "Scenario",
    "SimulatedTrial",
    "TrajectoryParams",
    "builtin_scenarios",
    "expected_scores",
    "load_scenario",
    "scenario_for_protocol_file",
    "scenario_from_dict",
    "scenario_from_protocol",
    "simulate_trial",
    "true_effects",
]
