"""Sequence-level properties against trial-design.md §1.3 (randomizeR test_imbalance.R + derived).

Constants: tests/reference/randomize/trial_design_s1.json; comparisons are exact (Fraction).
"""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taperwise.randomize import sequences as sq

ROOT = json.loads(
    (
        Path(__file__).resolve().parents[1] / "reference" / "randomize" / "trial_design_s1.json"
    ).read_text()
)
CR = ROOT["cr_n4_randomizeR"]
D = {k: Fraction(v) if isinstance(v, str) else v for k, v in ROOT["derived_exact"].items()}
A, B = 0, 1


def test_all_sequences_expand_grid_order():
    seqs = list(sq.all_sequences(4))
    assert seqs[:5] == [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (1, 1, 0, 0), (0, 0, 1, 0)]
    assert seqs[-1] == (1, 1, 1, 1) and len(seqs) == 16


def test_cr_n4_randomizeR_vectors():
    seqs = list(sq.all_sequences(4))
    assert [sq.final_imbalance(s) for s in seqs] == CR["imb"]
    assert [abs(sq.final_imbalance(s)) for s in seqs] == CR["absImb"]
    assert [sq.loss(s) for s in seqs] == CR["loss"]
    assert [sq.max_imbalance(s) for s in seqs] == CR["maxImb"]


def test_efron_sequence_probabilities():
    ebc = sq.efron(Fraction(2, 3))
    assert sq.sequence_probability(ebc, (A, A, A, A)) == D["ebc_2_3_n4_P_AAAA"]
    assert sq.sequence_probability(ebc, (A, B, A, B)) == D["ebc_2_3_n4_P_ABAB"]
    assert sq.sequence_probability(ebc, (A, B, B, A)) == D["ebc_2_3_n4_P_ABBA"]
    assert sq.sequence_probability(ebc, (A, A, B, B)) == D["ebc_2_3_n4_P_AABB"]
    res = sq.assess(ebc, 4)
    assert res["p_balanced"] == D["ebc_2_3_n4_P_D4_zero"]
    assert res["expected_abs_imbalance"] == D["ebc_2_3_n4_E_absD4"]
    assert res["expected_correct_guesses"] == D["convergence_guesses_ebc_2_3_n4"]
    assert sq.efron(0.75).params["p"] == Fraction(3, 4)  # floats are read as their decimal text


@pytest.mark.parametrize("block", [2, 4, 6])
def test_convergence_guessing_permuted_blocks(block):
    expected = D[f"convergence_guesses_pbr_block_{block}"]
    assert sq.expected_correct_guesses(sq.permuted_block(block), block) == expected
    m = block // 2
    assert expected == m + Fraction(2 ** (2 * m - 1), comb(2 * m, m)) - Fraction(1, 2)


def test_convergence_guessing_cr():
    assert (
        sq.expected_correct_guesses(sq.complete_randomisation(), 4)
        == D["convergence_guesses_cr_n4"]
    )


def test_biased_coin_conditional_probabilities():
    assert sq.smith_gbcd(2).prob_a((A, A, B)) == D["gbcd_rho2_after_AAB_P_A"]
    assert sq.adjustable_bcd(2).prob_a((A, A)) == D["abcd_a2_after_AA_P_A"]
    assert sq.wei_urn(0, 1).prob_a((A, A, B)) == D["ud_0_1_after_AAB_P_A"]


def test_pbr_block4_has_six_equiprobable_blocks():
    pbr = sq.permuted_block(4)
    probs = [sq.sequence_probability(pbr, s) for s in sq.all_sequences(4)]
    positive = [p for p in probs if p > 0]
    assert len(positive) == D["pbr_block4_equiprobable_blocks"]
    assert set(positive) == {Fraction(1, 6)}


PROCEDURES = [
    sq.complete_randomisation(),
    sq.random_allocation_rule(6),
    sq.permuted_block(2),
    sq.permuted_block(4),
    sq.truncated_binomial(4),
    sq.efron(Fraction(2, 3)),
    sq.big_stick(2),
    sq.chen(Fraction(2, 3), 2),
    sq.smith_gbcd(2),
    sq.adjustable_bcd(2),
    sq.wei_urn(0, 1),
    sq.wei_urn(1, 1),
]


@pytest.mark.parametrize("proc", PROCEDURES, ids=lambda p: f"{p.name}{p.params}")
def test_sequence_probabilities_sum_to_one(proc):
    assert sq.assess(proc, 6)["total_probability"] == 1


@pytest.mark.parametrize("proc", [sq.big_stick(2), sq.chen(Fraction(2, 3), 2)], ids=["BSD", "Chen"])
def test_mti_never_exceeded(proc):
    for s in sq.all_sequences(8):
        if sq.sequence_probability(proc, s) > 0:
            assert sq.max_imbalance(s) <= 2


@settings(max_examples=30, deadline=None)
@given(block=st.sampled_from([2, 4, 6]), n_blocks=st.integers(1, 3), data=st.data())
def test_property_pbr_and_tbd_balanced_at_block_ends(block, n_blocks, data):
    proc = data.draw(st.sampled_from([sq.permuted_block(block), sq.truncated_binomial(block)]))
    n = block * n_blocks
    if n > 12:
        n = block * (12 // block)
    for s in sq.all_sequences(n):
        if sq.sequence_probability(proc, s) > 0:
            for end in range(block, n + 1, block):
                assert sq.final_imbalance(s[:end]) == 0
