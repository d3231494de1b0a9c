"""Operating characteristics: type I error, power, bias, coverage and the sample-size search."""

from __future__ import annotations

import numpy as np
import pytest

from taperwise.errors import ValidationError
from taperwise.simulate import load_scenario, true_effects
from taperwise.simulate.operating import operating_characteristics
from taperwise.simulate.samplesize import sample_size_search


@pytest.mark.slow
def test_type1_error_and_coverage_under_the_null():
    # MNAR dropout is symmetric under the null, so the test should hold its level
    sc = load_scenario("lofexidine-phase3").with_n(40)
    oc = operating_characteristics(
        sc, reps=200, seed=2, chunk_size=25, executor="processes", workers=2
    )
    for name, t1 in oc.type1_error.items():
        # binomial 99.9 % band around 0.05 for 200 replicates (sd 0.0154)
        assert 0.05 - 3.3 * 0.0154 <= t1["estimate"] <= 0.05 + 3.3 * 0.0154, (name, t1)


def test_power_rises_with_n_and_reports_mcse():
    sc = load_scenario("lofexidine-phase3")
    small = operating_characteristics(sc.with_n(15), reps=40, seed=3, type1=False)
    large = operating_characteristics(sc.with_n(60), reps=40, seed=3, type1=False)
    name = "LFX288_vs_PBO"
    assert large.power[name]["estimate"] > small.power[name]["estimate"]
    p = small.power[name]["estimate"]
    assert small.power[name]["mcse"] == pytest.approx(np.sqrt(p * (1 - p) / 40))
    assert small.type1_error is None


def test_true_effect_and_bias_fields():
    sc = load_scenario("lofexidine-phase3").with_n(50)
    oc = operating_characteristics(sc, reps=10, seed=4, type1=False)
    truth = true_effects(sc)
    assert oc.true_effect == truth
    for name, b in oc.bias.items():
        arm = name.split("_vs_")[0]
        assert b["true_effect"] == truth[arm]
        assert b["estimate"] == pytest.approx(b["mean_estimate"] - truth[arm])
        assert 0 <= oc.coverage[name]["estimate"] <= 1


def test_kmc_scenario_has_no_candidate_effect_by_default():
    sc = load_scenario("kmc-vs-buprenorphine-vs-placebo")
    kmc = sc.arm("KMC")
    assert sc.arm_effect(kmc) == 0.0
    assert sc.trajectory.instrument == "cows"
    assert kmc.gi_confound > 0  # magnesium citrate: laxative GI points, not withdrawal
    # without the GI confound the candidate's expected course equals placebo's
    from taperwise.simulate import expected_scores

    no_gi = sc.with_arm("KMC", gi_confound=0.0)
    m = expected_scores(no_gi)
    assert np.allclose(m[sc.arm_ids.index("KMC")], m[sc.arm_ids.index("PBO")])
    # a user-given effect changes it
    with_eff = expected_scores(no_gi.with_arm("KMC", effect=0.3))
    assert (with_eff[0] < m[0]).all()


def test_null_scenario_removes_effects_and_gi_confound():
    sc = load_scenario("kmc-vs-buprenorphine-vs-placebo").null()
    assert all(sc.arm_effect(a) == 0.0 and a.gi_confound == 0.0 for a in sc.arms)
    assert all(a.loe_log_odds == sc.arm("PBO").loe_log_odds for a in sc.arms)
    assert all(abs(v) < 1e-12 for v in true_effects(sc).values())


def test_sample_size_search_brackets_target():
    sc = load_scenario("lofexidine-phase3")
    out = sample_size_search(
        sc, target=0.8, endpoint="LFX288_vs_PBO", reps=20, seed=5, n_min=10, n_max=90, step=20
    )
    n = out["n_per_arm"]
    assert n is not None and 10 <= n <= 120
    by_n = {e["n_per_arm"]: e["estimate"] for e in out["evaluations"]}
    assert by_n[n] >= 0.8
    below = [m for m in by_n if m < n]
    assert all(by_n[m] < 0.8 for m in below)


def test_bad_options_are_one_line_errors():
    sc = load_scenario("lofexidine-phase3")
    with pytest.raises(ValidationError, match="executor 'spark' not supported"):
        operating_characteristics(sc, reps=1, seed=1, executor="spark")
    with pytest.raises(ValidationError, match="reps must be >= 1"):
        operating_characteristics(sc, reps=0, seed=1)
    with pytest.raises(ValidationError, match="endpoint 'X' unknown"):
        sample_size_search(sc, endpoint="X", reps=1)
