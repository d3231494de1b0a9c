"""openEBGM 0.9.1 reference numbers on caers.csv (pharmacovigilance.md §1.6-1.7)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import require_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "reference" / "gps"))
import openebgm_reference as ref  # noqa: E402

from taperwise.signals.counting import count_pairs, expected_counts  # noqa: E402
from taperwise.signals.source import open_source  # noqa: E402
from taperwise.stats.gps import GPS, Squashed, auto_squash, neg_loglik, score_pairs, squash_data  # noqa: E402


@pytest.fixture(scope="module")
def caers():
    path = require_reference("caers", "caers.csv")
    counts = count_pairs(open_source(path))
    e = expected_counts(counts)
    table = pd.DataFrame(
        {
            "var1": counts.drugs[counts.pair_drug],
            "var2": counts.events[counts.pair_event],
            "N": counts.n,
            "E": e,
        }
    )
    scores = score_pairs(
        counts.n,
        e,
        counts.drug_margin[counts.pair_drug],
        counts.event_margin[counts.pair_event],
        counts.n_total,
        ref.THETA_VIGNETTE04,
    )
    for k, v in scores.as_dict().items():
        table[k] = v
    return counts, table


def test_process_raw_counts(caers):
    counts, table = caers
    assert counts.n_pairs == ref.N_PAIRS
    assert counts.n_total == ref.N_REPORTS
    hist = np.bincount(counts.n)
    for n, k in ref.N_HIST.items():
        assert hist[n] == k
    assert int(np.isinf(table["prr"]).sum()) == ref.N_PRR_INF


def _row(table, v1, v2):
    sel = table[(table.var1 == v1) & (table.var2 == v2)]
    assert len(sel) == 1, (v1, v2)
    return sel.iloc[0]


def test_first_rows_vignette04(caers):
    _, table = caers
    for v1, v2, n, e, rr, prr_, q, g, q05, q95 in ref.FIRST_ROWS:
        row = _row(table, v1, v2)
        assert row.N == n
        assert row.qn == pytest.approx(q, abs=5e-8)
        assert row.ebgm == pytest.approx(g, abs=0.01)
        if e is not None:
            assert row.E == pytest.approx(e, abs=5e-11)  # printed to 10 decimals
            assert row.N / row.E == pytest.approx(rr, abs=0.005)
            if np.isinf(prr_):
                assert np.isinf(row.prr)
            else:
                assert row.prr == pytest.approx(prr_, abs=0.005)
        if q05 is not None:
            assert row.eb05 == pytest.approx(q05, abs=0.01)
            assert row.eb95 == pytest.approx(q95, abs=0.01)


def test_top_pairs_vignette04_05(caers):
    _, table = caers
    top = table.sort_values("eb05", ascending=False).head(5)
    for (v1, v2, n, e, q05, g, q95), (_, row) in zip(ref.TOP_EB05, top.iterrows(), strict=True):
        assert (row.var1, row.var2, row.N) == (v1, v2, n)
        assert row.E == pytest.approx(e, abs=5e-9)  # printed to 8 decimals
        assert row.eb05 == pytest.approx(q05, abs=0.01)
        assert row.ebgm == pytest.approx(g, abs=0.01)
        assert row.eb95 == pytest.approx(q95, abs=0.01)
    best = top.iloc[0]
    assert best.eb05 == pytest.approx(ref.TOP_EXACT["eb05"], rel=1e-6)
    assert best.ebgm == pytest.approx(ref.TOP_EXACT["ebgm"], rel=1e-6)
    assert best.eb95 == pytest.approx(ref.TOP_EXACT["eb95"], rel=1e-6)
    assert top.iloc[3].eb05 == pytest.approx(ref.CARDIO_EB05_EXACT, rel=1e-6)
    for prefix, v2, n, e, g in ref.TOP_EBGM:
        sel = table[table.var1.str.startswith(prefix) & (table.var2 == v2) & (table.N == n)]
        assert len(sel) == 1
        assert sel.iloc[0].N == n
        assert sel.iloc[0].E == pytest.approx(e, abs=5e-9)
        assert sel.iloc[0].ebgm == pytest.approx(g, abs=0.01)


def test_counts_and_summaries(caers):
    _, table = caers
    # openEBGM rounds to 2 dp before thresholding
    assert int((table.eb05.round(2) >= 2).sum()) == ref.COUNT_EB05_GE_2
    assert int((table.ebgm.round(2) > 3).sum()) == ref.COUNT_EBGM_GT_3
    q = table.qn
    s = ref.QN_SUMMARY
    assert q.min() == pytest.approx(s["min"], abs=5e-8)
    assert q.quantile(0.25) == pytest.approx(s["q1"], abs=5e-8)
    assert q.median() == pytest.approx(s["median"], abs=5e-8)
    assert q.mean() == pytest.approx(s["mean"], abs=5e-8)
    assert q.quantile(0.75) == pytest.approx(s["q3"], abs=5e-8)
    assert q.max() == pytest.approx(s["max"], abs=5e-8)
    assert table.ebgm.min() == pytest.approx(ref.EBGM_SUMMARY["min"], abs=0.005)
    assert table.ebgm.max() == pytest.approx(ref.EBGM_SUMMARY["max"], abs=0.005)
    assert bool(np.all(table.eb05 <= table.ebgm)) and bool(np.all(table.ebgm <= table.eb95))


def test_quantiles_solve_the_cdf_to_1e6_relative(caers):
    from scipy import special

    _, table = caers
    a1, b1, a2, b2, _ = ref.THETA_VIGNETTE04
    n, e, q = table.N.to_numpy(float), table.E.to_numpy(), table.qn.to_numpy()
    for col, p in (("eb05", 0.05), ("eb95", 0.95)):
        x = table[col].to_numpy()
        for scale in (1 - 1e-6, 1 + 1e-6):
            cdf = q * special.gammainc(a1 + n, x * scale * (b1 + e)) + (1 - q) * special.gammainc(
                a2 + n, x * scale * (b2 + e)
            )
            # the exact quantile lies within +-1e-6 relative of the returned value
            assert bool(np.all((cdf - p) * np.sign(scale - 1) > 0))


def test_neg_loglik_at_published_estimates(caers):
    counts, table = caers
    theta, want = ref.NLL_AT_AUTOHYPER_FULL
    assert neg_loglik(theta, table.N, table.E) == pytest.approx(want, abs=1e-6)
    theta, want = ref.NLL_AT_VIGNETTE_NLM
    s = squash_data((table.N.to_numpy(), table.E.to_numpy()))
    assert len(s) == ref.N_SQUASHED_DEFAULT
    assert neg_loglik(theta, s.n, s.e, s.weight) == pytest.approx(want, abs=1e-6)
    s2 = squash_data(s, count=2, bin_size=10, keep_pts=50)
    assert len(s2) == ref.N_SQUASHED_TWICE


def test_autosquash_weight_table(caers):
    _, table = caers
    s = auto_squash((table.N.to_numpy(), table.E.to_numpy()))
    for n, weights in ref.AUTOSQUASH_TABLE.items():
        got = pd.Series(s.weight[s.n == n]).value_counts().to_dict()
        assert {int(k): int(v) for k, v in got.items()} == weights
    assert bool(np.all(s.weight[s.n >= 4] == 1))


@pytest.mark.parametrize("variant", list(ref.NLL_OPTIMA))
def test_fitted_theta_reaches_tabled_optimum(caers, variant):
    _, table = caers
    spec, want = ref.NLL_OPTIMA[variant]
    data = Squashed.unsquashed(table.N, table.E)
    for count, bin_size, keep in spec:
        data = squash_data(data, count=count, bin_size=bin_size, keep_pts=keep)
    fit = GPS().fit(data)
    # tabled -LL (pharmacovigilance.md §1.7), tol 1e-6
    assert fit.neg_loglik == pytest.approx(want, abs=1e-6)
    assert not fit.boundary
    assert fit.agreeing_starts >= 1
