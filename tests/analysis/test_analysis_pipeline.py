"""End to end: run_sap on simulated datasets with known effects (taperwise.analysis._synthetic)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from taperwise.analysis import RESULT_KEYS, run_primary, run_sap, synthetic_dataset, synthetic_sap
from taperwise.analysis.secondary import risk_difference, risk_ratio, wilson
from taperwise.analysis_dataset import AnalysisDataset
from taperwise.errors import ConvergenceError, ValidationError


@pytest.fixture(scope="module")
def big():
    # large n: the estimates must sit close to the true effects
    ds = synthetic_dataset(
        n_per_arm=150, effects={"ACT": -3.0, "BUP": -5.0}, gi_shift={"ACT": 2.0}, seed=5
    )
    return ds, run_sap(ds, synthetic_sap(days=[1, 2, 3, 4, 5]), n_imputations=5)


def test_primary_recovers_known_effects(big):
    _, res = big
    p = res.primary
    assert p["covariance"] == "us" and p["converged"]
    by_arm = {c["arm"]: c for c in p["contrasts"]}
    # total includes the +2 laxative GI shift in ACT: true total effect -3 + 2 = -1
    assert by_arm["ACT"]["ci_lb"] < -1.0 < by_arm["ACT"]["ci_ub"]
    assert by_arm["BUP"]["ci_lb"] < -5.0 < by_arm["BUP"]["ci_ub"]
    assert abs(by_arm["BUP"]["estimate"] + 5.0) < 0.8
    assert {c["vs"] for c in p["contrasts"]} == {"PBO"}
    assert len(p["contrasts_by_day"]) == 2 * 5
    assert {r["arm"] for r in p["lsmeans"]} == {"PBO", "ACT", "BUP"}


def test_no_gi_sensitivity_removes_the_gi_confound(big):
    _, res = big
    no_gi = {c["arm"]: c for c in res.sensitivity["no_gi_items"]["contrasts"]}
    assert no_gi["ACT"]["ci_lb"] < -3.0 < no_gi["ACT"]["ci_ub"]
    assert res.sensitivity["no_gi_items"]["gi_items_removed"] == ["gi_upset"]


def test_other_sensitivity_blocks(big):
    _, res = big
    s = res.sensitivity
    assert set(s) >= {"no_gi_items", "per_protocol", "stage_stratum", "tipping_point"}
    assert s["per_protocol"]["n_participants"] < res.primary["n_participants"]
    assert s["stage_stratum"]["levels"] == ["early", "peak"]
    tip = {a["arm"]: a for a in s["tipping_point"]["arms"]}
    grid = tip["BUP"]["grid"]
    assert grid[0]["delta"] == 0.0
    # penalising BUP dropouts moves its estimate towards 0, monotonically
    est = [g["estimate"] for g in grid]
    assert all(b > a for a, b in zip(est, est[1:], strict=False))
    assert tip["BUP"]["tipping_delta"] is None or tip["BUP"]["tipping_delta"] > 0


def test_results_json_contract(big):
    _, res = big
    doc = json.loads(res.to_json())
    assert list(doc) == list(RESULT_KEYS)
    assert set(doc["primary"]) >= {"endpoint", "covariance", "contrasts"}
    assert set(doc["primary"]["contrasts"][0]) >= {
        "arm",
        "vs",
        "estimate",
        "ci_lb",
        "ci_ub",
        "pval",
        "df",
    }
    assert set(doc["time_to_dropout"]) >= {"km", "logrank_p", "hazard_ratios"}
    assert set(doc["consort"]) >= {"randomised", "completed"}
    assert doc["provenance"]["options"]["sap"]["control_arm"] == "PBO"


def test_counts_match_the_dataset(big):
    ds, res = big
    p = ds.participants
    for arm in ("PBO", "ACT", "BUP"):
        sub = p[p["arm"] == arm]
        assert res.consort["randomised"][arm] == len(sub)
        assert res.consort["completed"][arm] == int(sub["completed"].sum())
        ae = ds.adverse_events[ds.adverse_events["arm"] == arm]
        assert res.adverse_events["any"][arm]["n"] == ae["participant"].nunique()
        g3 = ae[ae["grade"] >= 3]
        assert res.adverse_events["grade3plus"][arm]["n"] == g3["participant"].nunique()
        doses = ds.doses[ds.doses["arm"] == arm]
        assert res.holds["doses_held"][arm]["doses"] == int((~doses["given"]).sum())
        km = res.time_to_dropout["km"][arm]
        assert km["events"] == int((~sub["completed"]).sum())


def test_proportion_intervals():
    # Newcombe (1998) Table II example (method 10): 56/70 vs 48/80 -> 0.2 (0.0524, 0.3339)
    rd = risk_difference(56, 70, 48, 80, 0.05)
    assert rd["estimate"] == pytest.approx(0.2)
    assert rd["ci_lb"] == pytest.approx(0.0524, abs=5e-4)
    assert rd["ci_ub"] == pytest.approx(0.3339, abs=5e-4)
    lo, hi = wilson(81, 263, 0.05)  # Newcombe (1998b) example: 0.2553 to 0.3662
    assert (lo, hi) == pytest.approx((0.2553, 0.3662), abs=5e-4)
    rr = risk_ratio(10, 20, 5, 20, 0.05)
    assert rr["estimate"] == pytest.approx(2.0)
    se = np.sqrt(1 / 10 - 1 / 20 + 1 / 5 - 1 / 20)
    assert rr["ci_lb"] == pytest.approx(2.0 * np.exp(-1.959964 * se), rel=1e-5)


def test_fast_path_matches_full_run():
    ds = synthetic_dataset(n_per_arm=15, seed=9)
    sap = synthetic_sap(days=[1, 2, 3])
    fast = run_primary(ds, sap)
    full = run_sap(ds, sap, sensitivity=False)
    assert fast["contrasts"] == full.primary["contrasts"]
    assert full.sensitivity is None


def test_covariance_fallback(monkeypatch):
    from taperwise.stats.mmrm import MMRM

    real_fit = MMRM.fit

    def fail_us(self, data):
        if "us(" in self.formula:
            raise ConvergenceError("forced failure of us")
        return real_fit(self, data)

    monkeypatch.setattr(MMRM, "fit", fail_us)
    res = run_sap(
        synthetic_dataset(n_per_arm=15, seed=2), synthetic_sap(days=[1, 2, 3]), sensitivity=False
    )
    assert res.primary["covariance"] == "toeph"
    assert res.primary["covariance_tried"][0] == {
        "structure": "us",
        "converged": False,
        "error": "forced failure of us",
    }
    assert any("toeph" in n for n in res.notes)


def test_bad_input_is_a_one_line_error():
    ds = synthetic_dataset(n_per_arm=5, seed=1)
    with pytest.raises(ValidationError, match="control arm 'XYZ'"):
        run_sap(ds, synthetic_sap(control="XYZ"))
    with pytest.raises(ValidationError, match="covariate 'weight'"):
        run_sap(ds, synthetic_sap(covariates=["weight"]))
    blinded = AnalysisDataset(**ds.tables(), meta={"blinded": True})
    with pytest.raises(ValidationError, match="blinded"):
        run_sap(blinded, synthetic_sap())


def test_instrument_without_gi_items_skips_no_gi():
    ds = synthetic_dataset(n_per_arm=12, seed=3, instrument="withdrawal_band")
    res = run_sap(ds, synthetic_sap(days=[1, 2], instrument="withdrawal_band"), n_imputations=3)
    assert "skipped" in res.sensitivity["no_gi_items"]


def test_no_holds_gives_no_hold_reasons():
    ds = synthetic_dataset(n_per_arm=8, seed=4)
    ds.doses["given"] = True
    res = run_sap(ds, synthetic_sap(days=[1, 2]), sensitivity=False)
    assert res.holds["hold_reasons"] == []
    assert all(v["doses"] == 0 for v in res.holds["doses_held"].values())


def test_run_primary_many_serial_equals_processes():
    from taperwise.analysis import run_primary_many

    sets = [synthetic_dataset(n_per_arm=10, n_days=3, seed=s) for s in range(4)]
    sap = synthetic_sap(days=[1, 2, 3])
    serial = run_primary_many(sets, sap)
    procs = run_primary_many(sets, sap, executor="processes", workers=2, chunk_size=2)
    assert [b["contrasts"] for b in serial] == [b["contrasts"] for b in procs]
    assert serial[0]["contrasts"] == run_primary(sets[0], sap)["contrasts"]
