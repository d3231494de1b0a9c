"""The simulator's pattern-moment MMRM equals the MMRM engine and the analysis pipeline.

Reference: ``taperwise.stats.mmrm.MMRM`` (itself checked against R mmrm in tests/stats/mmrm) and
``taperwise.analysis.run_primary`` on the emitted analysis dataset -- the same model
(``score ~ baseline + arm * day + us(day | participant)``, REML, Satterthwaite). Tolerances:
estimates and SEs 1e-6 relative (both are exact REML solutions; the optimisers stop at
|gradient| < 1e-4 or better); df 1e-4 relative (the fast path's Hessian is a central difference of
the exact gradient).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taperwise.simulate import load_scenario, simulate_trial
from taperwise.simulate.fastmmrm import analyse_primary
from taperwise.simulate.operating import analyse_trial

DAYS = [1, 2, 3, 4, 5, 6, 7]


def _long(trial) -> pd.DataFrame:
    rows = []
    n, T = trial.scores.shape
    for i in range(n):
        for d in range(T):
            if np.isfinite(trial.scores[i, d]):
                rows.append(
                    (
                        f"s{i:04d}",
                        str(d + 1),
                        trial.arms[trial.arm_index[i]],
                        float(trial.baseline[i]),
                        float(trial.scores[i, d]),
                    )
                )
    return pd.DataFrame(rows, columns=["id", "day", "arm", "baseline", "score"])


@pytest.fixture(scope="module")
def trial():
    sc = load_scenario("lofexidine-phase3").with_n(60)
    return simulate_trial(sc, np.random.default_rng(11))


def test_fast_equals_engine(trial):
    from taperwise.stats.mmrm import MMRM

    fast = analyse_primary(
        trial.scores, trial.arm_index, trial.baseline, n_arms=3, control=0, days=DAYS
    )
    res = MMRM(
        "score ~ baseline + arm*day + us(day | id)",
        levels={"arm": list(trial.arms), "day": [str(d) for d in DAYS]},
    ).fit(_long(trial))
    names = list(res.coef.index)
    for k, arm in ((1, "LFX216"), (2, "LFX288")):
        L = np.zeros(len(names))
        L[names.index(f"arm{arm}")] = 1.0
        for d in DAYS[1:]:
            L[names.index(f"arm{arm}:day{d}")] += 1.0 / len(DAYS)
        ref = res.contrast(L)
        got = fast[k]
        assert got["estimate"] == pytest.approx(ref["estimate"], rel=1e-6)
        assert got["se"] == pytest.approx(ref["se"], rel=1e-6)
        assert got["df"] == pytest.approx(ref["df"], rel=1e-4)
        assert got["p"] == pytest.approx(ref["p"], rel=1e-3)


def test_fast_equals_analysis_pipeline(trial):
    """The fast path and run_primary on the emitted dataset give the same primary contrasts."""
    sc = trial.scenario
    fast = analyse_trial(trial, sc, "fast")
    sap = analyse_trial(trial, sc, "sap")
    assert set(fast) == set(sap) == {"LFX216_vs_PBO", "LFX288_vs_PBO"}
    for name in fast:
        for key in ("estimate", "se", "lower", "upper"):
            assert fast[name][key] == pytest.approx(sap[name][key], rel=1e-6), (name, key)
        assert fast[name]["df"] == pytest.approx(sap[name]["df"], rel=1e-4)


def test_intermittent_missing_and_subset_of_days():
    sc = load_scenario("lofexidine-phase3").with_n(40)
    t = simulate_trial(sc, np.random.default_rng(5))
    y = t.scores.copy()
    rng = np.random.default_rng(0)
    y[rng.random(y.shape) < 0.1] = np.nan
    y[:, 0] = t.full_scores[:, 0]
    out = analyse_primary(y, t.arm_index, t.baseline, n_arms=3, control=0, days=[2, 3])
    assert all(np.isfinite(v["estimate"]) and v["converged"] for v in out.values())
