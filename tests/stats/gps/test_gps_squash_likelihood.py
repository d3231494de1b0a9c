"""Likelihoods, squashing, fit behaviour and posterior helpers (openEBGM testB/testC analogues)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.stats.gps import (
    GPS,
    Squashed,
    auto_squash,
    ebgm,
    neg_loglik,
    posterior_quantile,
    qn,
    squash_data,
    squash_log_bins,
    zero_cells_from_margins,
)
from taperwise.stats.gps.hyper import _to_free
from taperwise.stats.gps.likelihood import neg_loglik_free

# openEBGM testC_Likelihoods.R
THETA_HAT = (0.125874, 0.13587, 1.24578, 3.01587, 0.05)
N_TOY = np.array([0] * 5 + [1] * 4 + [2] * 6 + [3] * 2)
E_TOY = np.arange(1.0, 18.0)


def _hand(theta, n, e, w=None, n_star=None):
    a1, b1, a2, b2, p = theta
    f1 = stats.nbinom.pmf(n, a1, b1 / (b1 + e))
    f2 = stats.nbinom.pmf(n, a2, b2 / (b2 + e))
    if n_star is not None:
        f1 = f1 / (1 - stats.nbinom.cdf(n_star - 1, a1, b1 / (b1 + e)))
        f2 = f2 / (1 - stats.nbinom.cdf(n_star - 1, a2, b2 / (b2 + e)))
    ll = np.log(p * f1 + (1 - p) * f2)
    return -float(np.sum(ll if w is None else w * ll))


def test_all_cells_likelihood_equals_hand_formula():
    assert neg_loglik(THETA_HAT, N_TOY, E_TOY, truncation=None) == pytest.approx(
        _hand(THETA_HAT, N_TOY, E_TOY), rel=1e-12
    )


def test_squashed_all_cells_likelihood():
    ni = np.array([0] * 3 + [1] * 2 + [2] * 3 + [3] * 2)
    ei = np.arange(1.0, 11.0)
    wi = np.full(10, 0.1)
    got = neg_loglik(THETA_HAT, ni, ei, wi, truncation=None)
    assert got == pytest.approx(_hand(THETA_HAT, ni, ei, wi), rel=1e-12)


@pytest.mark.parametrize("n_star", [1, 2])
def test_truncated_likelihood_equals_hand_formula(n_star):
    keep = N_TOY >= n_star
    got = neg_loglik(THETA_HAT, N_TOY[keep], E_TOY[keep], truncation=n_star)
    assert got == pytest.approx(
        _hand(THETA_HAT, N_TOY[keep], E_TOY[keep], n_star=n_star), rel=1e-12
    )


@pytest.mark.parametrize("trunc", [None, 1])
def test_analytic_gradient_matches_finite_differences(trunc):
    from scipy.optimize import approx_fprime

    n = N_TOY if trunc is None else N_TOY[N_TOY >= 1]
    e = E_TOY if trunc is None else E_TOY[N_TOY >= 1]
    w = np.ones(n.size)
    x = _to_free(THETA_HAT)
    f, g = neg_loglik_free(x, n.astype(float), e, w, trunc)
    assert f == pytest.approx(neg_loglik(THETA_HAT, n, e, truncation=trunc), rel=1e-12)
    num = approx_fprime(x, lambda z: neg_loglik_free(z, n.astype(float), e, w, trunc)[0], 1e-7)
    np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-5)


def test_invalid_theta_gives_infinite_objective():
    assert neg_loglik((0.1, 0.1, 1, 1, 1.0), [1], [1.0]) == float("inf")
    with pytest.raises(ValueError, match="5 values"):
        neg_loglik((1, 2, 3), [1], [1.0])


def _toy():
    n = np.array([0] * 11 + [1] * 10 + [2] * 4 + [3])
    e = np.round(np.abs(np.random.default_rng(483726).normal(size=26)) + n, 3)
    return n, e


@pytest.mark.parametrize(
    ("keep", "weights"),
    [
        (0, [3, 3, 3, 2] + [1] * 15),
        (3, [3, 3, 2, 1, 1, 1] + [1] * 15),
        (6, [3, 2] + [1] * 6 + [1] * 15),
    ],
)
def test_squash_weights_testB(keep, weights):
    # openEBGM testB_Squashing.R: count 0, bin 3, keep 0 / 3 / 6
    n, e = _toy()
    s = squash_data((n, e), count=0, bin_size=3, keep_pts=keep, min_bin=1, min_pts=1)
    assert s.weight.tolist() == [float(w) for w in weights]
    zeros = np.sort(e[n == 0])
    squashed = zeros[: 11 - keep]
    means = [squashed[i : i + 3].mean() for i in range(0, squashed.size, 3)]
    np.testing.assert_allclose(s.e[: len(means)], means, rtol=1e-15)


def test_squash_errors():
    n, e = _toy()
    with pytest.raises(ValueError, match="reduce 'bin_size' or 'keep_pts'"):
        squash_data((n, e), count=0, bin_size=3, keep_pts=10, min_bin=1, min_pts=1)
    with pytest.raises(ValueError, match="not enough points"):
        squash_data((n, e), count=0, bin_size=3, keep_pts=0)
    with pytest.raises(ValueError, match="not enough bins"):
        squash_data((n, e), count=0, bin_size=3, keep_pts=0, min_pts=1)


def test_autosquash_testB():
    rng = np.random.default_rng(7)
    n = np.repeat([0, 1, 2], [100, 50, 5])
    s = auto_squash(
        (n, rng.uniform(size=155)), keep_pts=(10,), cut_offs=(25, 75), num_super_pts=(3, 4, 5)
    )
    table = {k: sorted(s.weight[s.n == k].tolist()) for k in (0, 1, 2)}
    assert table[0] == [1.0] * 10 + [18.0] * 5
    assert table[1] == [1.0] * 10 + [10.0] * 4
    assert table[2] == [1.0] * 5
    assert s.weight.sum() == 155


def test_log_bins_preserve_weight_and_mean():
    rng = np.random.default_rng(1)
    n = rng.integers(1, 4, 5000)
    e = rng.lognormal(size=5000)
    s = squash_log_bins((n, e))
    assert s.weight.sum() == 5000
    assert float((s.weight * s.e).sum()) == pytest.approx(float(e.sum()), rel=1e-12)
    assert len(s) < 1000


def test_zero_cells_from_margins_match_brute_force():
    rng = np.random.default_rng(2)
    rows = rng.integers(1, 30, 40)
    cols = rng.integers(1, 30, 25)
    total = 500.0
    all_e = np.outer(rows, cols).ravel() / total
    observed = rng.choice(all_e.size, 300, replace=False)
    mask = np.ones(all_e.size, bool)
    mask[observed] = False
    z = zero_cells_from_margins(rows, cols, total, all_e[observed])
    assert z.weight.sum() == mask.sum()
    assert float((z.weight * z.e).sum()) == pytest.approx(float(all_e[mask].sum()), rel=1e-9)


def _simulated(seed=3, size=4000):
    rng = np.random.default_rng(seed)
    e = rng.gamma(0.6, 1.0, size)
    lam = np.where(
        rng.uniform(size=size) < 0.1, rng.gamma(2.0, 1 / 4.0, size), rng.gamma(4.0, 1 / 2.0, size)
    )
    n = rng.poisson(lam * e)
    return n, e


def test_fit_recovers_simulated_prior_all_cells():
    n, e = _simulated(size=8000)
    fit = GPS(likelihood="all_cells").fit(n, e)
    assert not fit.boundary
    assert fit.agreeing_starts >= 1
    # the mixture mean P a1/b1 + (1-P) a2/b2 = 0.1*0.5 + 0.9*2 = 1.85
    a1, b1, a2, b2, p = fit.theta
    assert p * a1 / b1 + (1 - p) * a2 / b2 == pytest.approx(1.85, rel=0.05)
    assert fit.provenance["options"]["likelihood"] == "all_cells"


def test_fit_validates_and_reports_failures():
    with pytest.raises(ValidationError, match="likelihood"):
        GPS(likelihood="bogus").fit([1], [1.0])
    with pytest.raises(ValidationError, match="E must be"):
        GPS().fit([1, 2], [1.0, 0.0])
    with pytest.raises(ValidationError, match="no cell"):
        GPS().fit([0, 0], [1.0, 2.0])
    with pytest.raises(ValidationError, match="start"):
        GPS(starts=[(1, 1, 1, 1, 2)]).fit([1, 2], [1.0, 2.0])
    n, e = _simulated(size=2000)
    with pytest.raises(ConvergenceError, match="consistent convergence failed"):
        GPS(
            likelihood="all_cells",
            starts=[(0.2, 0.1, 2, 4, 0.3), (0.1, 0.1, 10, 10, 0.2)],
            min_agree=2,
        ).fit(n, e)


def test_boundary_solution_is_flagged():
    # Poisson data with one rate: the second component collapses (point mass), a boundary fit
    rng = np.random.default_rng(5)
    e = rng.gamma(2.0, 1.0, 5000)
    n = rng.poisson(1.0 * e)
    fit = GPS(likelihood="all_cells", min_agree=0, on_boundary="ignore").fit(n, e)
    assert fit.boundary
    with pytest.raises(ConvergenceError, match="boundary"):
        GPS(likelihood="all_cells", min_agree=0, on_boundary="raise").fit(n, e)


def test_posterior_helpers_agree_with_direct_formulas():
    theta = (3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557)
    n, e = np.array([0, 1, 5, 54]), np.array([0.01, 0.3, 2.0, 7.5])
    q = qn(theta, n, e)
    a1, b1, a2, b2, p = theta
    f1 = stats.nbinom.pmf(n, a1, b1 / (b1 + e))
    f2 = stats.nbinom.pmf(n, a2, b2 / (b2 + e))
    np.testing.assert_allclose(q, p * f1 / (p * f1 + (1 - p) * f2), rtol=1e-12)
    g = ebgm(theta, n, e)
    assert bool(np.all(g > 0))
    for prob in (0.01, 0.05, 0.5, 0.95, 0.99):
        x = posterior_quantile(theta, n, e, prob)
        cdf = q * stats.gamma.cdf(x, a1 + n, scale=1 / (b1 + e)) + (1 - q) * stats.gamma.cdf(
            x, a2 + n, scale=1 / (b2 + e)
        )
        np.testing.assert_allclose(cdf, prob, rtol=1e-9)
    with pytest.raises(ValueError, match="prob"):
        posterior_quantile(theta, n, e, 1.0)


def test_squashed_object_fit_equals_weighted_fit():
    n, e = _simulated(size=3000)
    keep = n > 0
    s = Squashed.unsquashed(n[keep], e[keep])
    a = GPS(min_agree=0).fit(s)
    b = GPS(min_agree=0).fit(n[keep], e[keep], np.ones(int(keep.sum())))
    assert a.neg_loglik == pytest.approx(b.neg_loglik, abs=1e-9)


def test_zero_cells_stratified_match_brute_force():
    from taperwise.stats.gps import zero_cells_stratified

    rng = np.random.default_rng(4)
    dm = rng.integers(0, 20, (3, 30))
    em = rng.integers(0, 20, (3, 25))
    tot = np.array([200.0, 150.0, 0.0])  # an empty stratum is ignored
    full = sum(np.outer(dm[s] / tot[s], em[s]) for s in range(2)).ravel()
    full = full[full > 0]
    observed = rng.choice(full.size, 100, replace=False)
    mask = np.ones(full.size, bool)
    mask[observed] = False
    z = zero_cells_stratified(dm, em, tot, full[observed])
    assert z.weight.sum() == mask.sum()
    assert float((z.weight * z.e).sum()) == pytest.approx(float(full[mask].sum()), rel=1e-9)
