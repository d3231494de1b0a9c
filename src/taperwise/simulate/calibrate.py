"""Calibration of a three-arm placebo / low dose / high dose scenario to published marginals.

The shipped ``lofexidine-phase3`` scenario was produced by :func:`calibrate_dose_scenario` with the
Fishman 2019 / Alam 2020 targets in :data:`FISHMAN_2019_TARGETS` (damped fixed-point iteration
on a large simulated population with common random numbers). Completion, the arm means, the AE
and the pooled "other" discontinuation fractions are matched; the lack-of-efficacy fractions
follow from them (they are reported, not fitted). Re-run it with::

    python -m taperwise.simulate.calibrate
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from taperwise.simulate.model import simulate_trial
from taperwise.simulate.params import DoseResponse, Scenario

log = logging.getLogger(__name__)

#: Published marginals of Fishman 2019 Study 1 (placebo, 2.16 mg/day, 2.88 mg/day).
#: completion: Fishman 2019 abstract; mean_score: Alam 2020 (mean SOWS-Gossop days 1-7);
#: lack_of_efficacy / adverse_event / other: Fishman 2019 Table 2 discontinuation reasons
#: (other = withdrawal of consent + personal/family + other); sd_subject_mean: derived,
#: SE x sqrt(n) from Alam 2020 (trial-design.md §4.3), approximate.
FISHMAN_2019_TARGETS: dict[str, tuple[float, float, float]] = {
    "completion": (0.278, 0.415, 0.396),
    "mean_score_days_1_7": (8.8, 6.5, 6.1),
    "dropout_lack_of_efficacy": (0.351, 0.191, 0.135),
    "dropout_adverse_event": (0.013, 0.065, 0.135),
    "dropout_other": (0.357, 0.332, 0.334),
    "sd_subject_mean": (5.8, 5.1, 5.2),
}

_FREE = (
    "amplitude",
    "effect_low",
    "effect_high",
    "loe_intercept",
    "loe_odds_low",
    "loe_odds_high",
    "log_ae_0",
    "log_ae_1",
    "log_ae_2",
    "log_other",
    "sd_subject",
)


def _apply(base: Scenario, x: np.ndarray, n: int) -> Scenario:
    p = dict(zip(_FREE, x, strict=True))
    arms = []
    for k, arm in enumerate(base.arms):
        eff = 0.0 if k == 0 else (p["effect_low"] if k == 1 else p["effect_high"])
        odds = 0.0 if k == 0 else (p["loe_odds_low"] if k == 1 else p["loe_odds_high"])
        arms.append(
            dataclasses.replace(
                arm,
                n=n,
                effect=float(eff),
                dose=None,
                ae_hazard=float(np.exp(p[f"log_ae_{k}"])),
                loe_log_odds=float(odds),
            )
        )
    return dataclasses.replace(
        base,
        arms=tuple(arms),
        dose_response=None,
        trajectory=dataclasses.replace(
            base.trajectory, amplitude=float(p["amplitude"]), sd_subject=float(p["sd_subject"])
        ),
        dropout=dataclasses.replace(
            base.dropout,
            loe_intercept=float(p["loe_intercept"]),
            other_hazard=float(np.exp(p["log_other"])),
        ),
    )


def summarise(scenario: Scenario, *, n: int = 20000, seed: int = 1) -> list[dict[str, Any]]:
    """Large-sample arm summaries of ``scenario`` (each arm resized to ``n``)."""
    return simulate_trial(scenario.with_n(n), np.random.default_rng(seed)).arm_summary()


def calibrate_dose_scenario(
    base: Scenario,
    *,
    targets: dict[str, tuple[float, float, float]] = FISHMAN_2019_TARGETS,
    n: int = 20000,
    seed: int = 20190101,
    iterations: int = 60,
    damp: float = 0.7,
    doses: tuple[float, float] = (2.16, 2.88),
) -> tuple[Scenario, dict[str, Any]]:
    """Fit the free parameters of a 3-arm scenario to ``targets``; return it and the fit report.

    The two fitted effects are converted to the Emax model through ``doses`` (exact for two doses).
    """
    a0 = base.arms
    x = np.array(
        [
            base.trajectory.amplitude,
            max(base.arm_effect(a0[1]), 0.05),
            max(base.arm_effect(a0[2]), 0.05),
            base.dropout.loe_intercept,
            a0[1].loe_log_odds,
            a0[2].loe_log_odds,
            np.log(max(a0[0].ae_hazard, 1e-4)),
            np.log(max(a0[1].ae_hazard, 1e-4)),
            np.log(max(a0[2].ae_hazard, 1e-4)),
            np.log(base.dropout.other_hazard),
            base.trajectory.sd_subject,
        ]
    )
    # damped fixed-point iteration: each parameter is moved by the log-ratio of its target to
    # the achieved value (simulation with common random numbers); robust to the rounding noise
    # that defeats finite-difference Jacobians
    history = []
    for _ in range(iterations):
        rows = simulate_trial(_apply(base, x, n), np.random.default_rng(seed)).arm_summary()
        got = {key: np.array([r[key] for r in rows]) for key in targets}
        tgt = {key: np.asarray(v, dtype=float) for key, v in targets.items()}
        history.append(float(np.max(np.abs(got["completion"] - tgt["completion"]))))
        m_got, m_tgt = got["mean_score_days_1_7"], tgt["mean_score_days_1_7"]
        x[0] *= (m_tgt[0] / m_got[0]) ** damp
        for k in (1, 2):
            keep = (1 - x[k]) * (m_tgt[k] / m_got[k]) / (m_tgt[0] / m_got[0])
            x[k] = float(np.clip(1 - (1 - x[k]) * (keep / (1 - x[k])) ** damp, 0.0, 0.95))
        # completion is the priority target: the lack-of-efficacy intercept (placebo) and arm
        # shifts absorb what the score-driven hazard leaves unexplained
        c_got, c_tgt = got["completion"], tgt["completion"]
        x[3] += damp * float(np.log((1 - c_tgt[0]) / (1 - c_got[0]) * c_got[0] / c_tgt[0]))
        for k in (1, 2):
            x[3 + k] += damp * float(np.log((1 - c_tgt[k]) / (1 - c_got[k]) * c_got[k] / c_tgt[k]))
        for k in range(3):
            ratio = tgt["dropout_adverse_event"][k] / max(got["dropout_adverse_event"][k], 1e-4)
            x[6 + k] += damp * np.log(ratio)
        x[9] += damp * float(np.log(tgt["dropout_other"].mean() / got["dropout_other"].mean()))
        x[10] *= float(tgt["sd_subject_mean"].mean() / got["sd_subject_mean"].mean()) ** (damp / 2)
    log.info("calibration: max completion error by iteration %s", history)

    p = dict(zip(_FREE, x, strict=True))
    e1, e2 = float(p["effect_low"]), float(p["effect_high"])
    d1, d2 = doses
    q = e2 / e1
    ed50 = d2 * (1 - q) / (q - d2 / d1) if abs(q - d2 / d1) > 1e-9 else float("inf")
    emax = e1 * (ed50 + d1) / d1
    arms = tuple(
        dataclasses.replace(
            arm,
            ae_hazard=float(np.exp(p[f"log_ae_{k}"])),
            dose=(0.0, d1, d2)[k],
            effect=0.0 if k == 0 else (e1, e2)[k - 1],
            loe_log_odds=0.0 if k == 0 else float(p[("loe_odds_low", "loe_odds_high")[k - 1]]),
        )
        for k, arm in enumerate(base.arms)
    )
    scenario = dataclasses.replace(
        _apply(base, x, 1),
        arms=arms,
        dose_response=DoseResponse(emax=float(emax), ed50=float(ed50)),
    )
    achieved = summarise(scenario, n=n, seed=seed + 1)
    report = {
        "parameters": {k: float(v) for k, v in p.items()},
        "emax": float(emax),
        "ed50": float(ed50),
        "max_completion_error": history[-1] if history else None,
        "achieved": achieved,
        "targets": targets,
    }
    return scenario, report


if __name__ == "__main__":  # pragma: no cover - maintenance script
    import json

    from taperwise.simulate.scenarios import load_scenario

    sc, rep = calibrate_dose_scenario(load_scenario("lofexidine-phase3"))
    print(json.dumps(rep, indent=2, default=float))
