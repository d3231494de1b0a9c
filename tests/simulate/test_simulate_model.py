"""The generating model: exact expected scores, reproducibility, validation, single participants."""

from __future__ import annotations

import numpy as np
import pytest

from taperwise.errors import ValidationError
from taperwise.simulate import expected_scores, load_scenario, simulate_trial
from taperwise.simulate.model import course


def test_course_shape():
    assert float(course(2.5, 2.5)) == pytest.approx(1.0)
    assert float(course(0.0, 2.5)) == 0.0
    t = np.linspace(0.1, 7, 200)
    assert t[np.argmax(course(t, 2.5))] == pytest.approx(2.5, abs=0.05)


@pytest.mark.parametrize("name", ["lofexidine-phase3", "kmc-vs-buprenorphine-vs-placebo"])
def test_expected_scores_match_large_simulation(name):
    # expected_scores sums the exact distribution of clip(round(lognormal) + Poisson); the
    # complete-data simulated means must agree within Monte Carlo error (4 SE)
    sc = load_scenario(name).with_n(40000)
    trial = simulate_trial(sc, np.random.default_rng(8))
    exact = expected_scores(sc)
    for k in range(len(sc.arms)):
        rows = trial.full_scores[trial.arm_index == k]
        se = rows.std(axis=0, ddof=1) / np.sqrt(rows.shape[0])
        assert np.all(np.abs(rows.mean(axis=0) - exact[k]) <= 4 * se), (sc.arm_ids[k],)


def test_same_generator_state_same_trial():
    sc = load_scenario("lofexidine-phase3")
    a = simulate_trial(sc, np.random.default_rng(5))
    b = simulate_trial(sc, np.random.default_rng(5))
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.reason, b.reason)


def test_scores_are_valid_and_monotone_missing():
    sc = load_scenario("kmc-vs-buprenorphine-vs-placebo")
    t = simulate_trial(sc, np.random.default_rng(2))
    obs = np.isfinite(t.scores)
    assert obs[:, 0].all()  # day 1 is always assessed
    assert (np.diff(obs.astype(int), axis=1) <= 0).all()  # once gone, gone
    vals = t.scores[obs]
    assert vals.min() >= 0 and vals.max() <= 48 and np.all(vals == np.rint(vals))
    assert (obs.sum(axis=1) == t.exit_day).all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rho": 1.0}, "trajectory.rho: must be between -1 and 1"),
        ({"days": 0}, "trajectory.days: must be an integer >= 1"),
        ({"instrument": "nope"}, "trajectory.instrument"),
    ],
)
def test_validation_names_the_field(change, message):
    import dataclasses

    sc = load_scenario("lofexidine-phase3")
    bad = dataclasses.replace(sc, trajectory=dataclasses.replace(sc.trajectory, **change))
    with pytest.raises(ValidationError, match=message):
        bad.validate()


def test_participant_simulator_for_the_demo_protocol():
    from taperwise.demo import DEMO_PROTOCOL
    from taperwise.instruments import score
    from taperwise.protocol import load_protocol
    from taperwise.simulate.participants import ParticipantSimulator

    sim = ParticipantSimulator(load_protocol(DEMO_PROTOCOL))
    assert sim.scenario.arm("KMC").effect == 0.0
    rng = np.random.default_rng(4)
    for arm in ("KMC", "BUP", "PBO") * 5:
        c = sim.participant(arm, rng)
        assert c.instrument == "cows"
        assert len(c.scores) == len(c.items) == len(c.gi_attributed) == c.exit_day
        assert c.completed == (c.exit_day == 7 and c.exit_reason == "completed") or not c.completed
        for total, form in zip(c.scores, c.items, strict=True):
            assert score("cows", form).total == total
        if arm != "KMC":
            assert not any(c.gi_attributed)
