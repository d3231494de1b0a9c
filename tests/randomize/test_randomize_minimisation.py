"""Pocock-Simon minimisation against the trial-design.md §1.2 reference vectors.

Constants: tests/reference/randomize/trial_design_s1.json (source and tolerances stated there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taperwise.errors import ValidationError
from taperwise.randomize import (
    Minimiser,
    assignment_probabilities,
    imbalance,
    minimisation_scores,
)

REF = json.loads(
    (
        Path(__file__).resolve().parents[1] / "reference" / "randomize" / "trial_design_s1.json"
    ).read_text()
)["minimisation"]
CASES = REF["cases"]
SCORE_TOL = 5e-7  # the table prints 6 decimals
EXACT_TOL = 1e-12


def _history(counts: list[list[int]]) -> list[tuple[dict[str, str], str]]:
    """Earlier participants whose counts at the new patient's levels are exactly ``counts``."""
    factors, arms = REF["factors"], REF["arms"]
    history = []
    for k, arm in enumerate(arms):
        for i in range(max(row[k] for row in counts)):
            levels = {
                f: (REF["new_patient"][f] if i < counts[m][k] else REF["other_level"][f])
                for m, f in enumerate(factors)
            }
            history.append((levels, arm))
    return history


def _minimiser(case: dict, **kw) -> Minimiser:
    factors = {f: sorted({REF["new_patient"][f], REF["other_level"][f]}) for f in REF["factors"]}
    return Minimiser(
        arms=REF["arms"],
        factors=factors,
        ratio=case["ratio"],
        weights=dict(zip(REF["factors"], case["weights"], strict=True)),
        method=case["method"],
        p_best=REF["p_best"],
        seed=kw.pop("seed", 7),
        **kw,
    )


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['method']}-w{c['weights']}-r{c['ratio']}"
)
def test_scores_and_probabilities_from_counts(case):
    scores = minimisation_scores(
        REF["counts_at_new_levels"],
        ratio=case["ratio"],
        weights=case["weights"],
        method=case["method"],
    )
    tol = EXACT_TOL if case["exact"] else SCORE_TOL
    assert scores == pytest.approx(case["scores"], abs=tol)
    probs, _ = assignment_probabilities(scores, REF["p_best"])
    assert probs == pytest.approx(case["probabilities"], abs=EXACT_TOL)


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['method']}-w{c['weights']}-r{c['ratio']}"
)
def test_minimiser_reproduces_vectors_from_history(case):
    history = _history(REF["counts_at_new_levels"])
    result = _minimiser(case).assign(REF["new_patient"], history)
    counts = [[result.counts[f][a] for a in REF["arms"]] for f in REF["factors"]]
    assert counts == REF["counts_at_new_levels"]
    tol = EXACT_TOL if case["exact"] else SCORE_TOL
    assert [result.scores[a] for a in REF["arms"]] == pytest.approx(case["scores"], abs=tol)
    assert [result.probabilities[a] for a in REF["arms"]] == pytest.approx(
        case["probabilities"], abs=EXACT_TOL
    )
    assert result.position == len(history)
    assert result.provenance["seed"] == 7


def test_variance_tie_is_shared_by_preferred_arms():
    case = CASES[4]
    result = _minimiser(case).assign(REF["new_patient"], _history(REF["counts_at_new_levels"]))
    assert result.preferred == ("A", "B")


def test_exact_variance_scores_are_the_rationals():
    scores = minimisation_scores(REF["counts_at_new_levels"], method="variance")
    assert scores == pytest.approx([5 / 3, 8 / 3, 11 / 3], abs=1e-12)


def test_two_arm_published_marginal_arithmetic():
    ex = REF["two_arm_pmc3503622_table3"]
    assert minimisation_scores(ex["counts"], method="range") == pytest.approx(ex["scores"])


@pytest.mark.parametrize(("draw", "arm"), [(0.0, "A"), (0.79, "A"), (0.85, "B"), (0.95, "C")])
def test_draw_maps_to_arm_by_cumulative_probability(draw, arm):
    result = _minimiser(CASES[0]).assign(
        REF["new_patient"], _history(REF["counts_at_new_levels"]), draw=draw
    )
    assert result.arm == arm
    assert result.draw == draw


def test_all_tie_gives_uniform_and_first_patient_is_uniform():
    probs, preferred = assignment_probabilities([1.0, 1.0, 1.0], 0.8)
    assert probs == pytest.approx([1 / 3] * 3)
    assert preferred == [0, 1, 2]
    m = Minimiser(arms=["A", "B", "C"], factors={"sex": ["F", "M"]}, seed=1)
    assert m.assign({"sex": "F"}, []).probabilities == pytest.approx({a: 1 / 3 for a in "ABC"})


def test_seeded_draws_reproducible_and_sequence_matches_assign():
    m = Minimiser(arms=["A", "B"], factors={"sex": ["F", "M"], "site": ["1", "2"]}, seed=5)
    people = [{"sex": "FM"[i % 2], "site": "12"[(i // 2) % 2]} for i in range(40)]
    first = m.assign_sequence(people)
    again = m.assign_sequence(people)
    assert [r.arm for r in first] == [r.arm for r in again]
    # assign_sequence (incremental counts) agrees with assign (counts recomputed from history)
    history = []
    for levels, res in zip(people, first, strict=True):
        single = m.assign(levels, history)
        assert single.arm == res.arm and single.scores == res.scores
        history.append((levels, res.arm))
    other = Minimiser(arms=["A", "B"], factors={"sex": ["F", "M"], "site": ["1", "2"]}, seed=6)
    assert [r.draw for r in other.assign_sequence(people)] != [r.draw for r in first]


def test_minimisation_keeps_margins_balanced():
    m = Minimiser(arms=["A", "B"], factors={"sex": ["F", "M"]}, p_best=0.85, seed=3)
    results = m.assign_sequence([{"sex": "F"}] * 200)
    n_a = sum(r.arm == "A" for r in results)
    assert abs(2 * n_a - 200) <= 10


def test_imbalance_measures():
    assert imbalance([4, 2, 3], "range") == 2
    assert imbalance([4, 2, 3], "variance") == pytest.approx(1.0)
    assert imbalance([4, 2, 3], "sd") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "levels", "history", "match"),
    [
        (
            {"method": "median"},
            {"sex": "F"},
            [],
            "method: got 'median'; allowed range, sd, variance",
        ),
        ({"p_best": 1.5}, {"sex": "F"}, [], "p_best"),
        ({"weights": {"age": 1}}, {"sex": "F"}, [], "unknown factor"),
        ({"weights": {"sex": -1}}, {"sex": "F"}, [], ">= 0"),
        ({}, {"sex": "X"}, [], "factor 'sex' got 'X'; allowed F, M"),
        ({}, {}, [], "factor 'sex' missing"),
        ({}, {"sex": "F"}, [({"sex": "F"}, "Z")], r"history\[0\]: arm 'Z' unknown"),
        ({"ratio": [1, 2, 3]}, {"sex": "F"}, [], "ratio"),
        ({"factors": {}}, {"sex": "F"}, [], "at least one prognostic factor"),
    ],
)
def test_invalid_input_one_line_errors(kwargs, levels, history, match):
    options = {"arms": ["A", "B"], "factors": {"sex": ["F", "M"]}, "seed": 1} | kwargs
    with pytest.raises(ValidationError, match=match) as info:
        Minimiser(**options).assign(levels, history)
    assert "\n" not in str(info.value)
