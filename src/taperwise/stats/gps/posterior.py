"""Posterior of lambda = mu/E under the GPS prior: Qn, EBGM and quantiles (EB05, EB95).

lambda | N = n ~ Qn Gamma(alpha1 + n, beta1 + E) + (1 - Qn) Gamma(alpha2 + n, beta2 + E)
(DuMouchel 1999, Eq. 6-11; openEBGM ``Qn``, ``ebgm``, ``quantBisect``).

Quantiles are solved to full precision (relative 1e-10 by default) with a safeguarded Newton
iteration in log x inside the bracket formed by the two component quantiles; openEBGM's
bisection stops at half-width 0.005 and rounds to 2 decimals, so its printed quantiles can differ
from these by up to 0.01.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from taperwise.stats.gps.likelihood import log_nb, validate_theta

__all__ = ["ebgm", "posterior_quantile", "qn"]


def qn(theta: object, n: object, e: object) -> np.ndarray:
    """Posterior weight of the first gamma component, ``P f1 / (P f1 + (1-P) f2)``.

    Examples
    --------
    >>> theta = [3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557]
    >>> round(float(qn(theta, 1, 0.0360548272)[0]), 7)
    0.2819737
    """
    a1, b1, a2, b2, p = validate_theta(theta)
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    e = np.atleast_1d(np.asarray(e, dtype=np.float64))
    log_odds = np.log(p) + log_nb(n, a1, b1, e) - np.log1p(-p) - log_nb(n, a2, b2, e)
    return special.expit(log_odds)


def ebgm(theta: object, n: object, e: object, q: np.ndarray | None = None) -> np.ndarray:
    """Empirical Bayes geometric mean ``exp(E[ln lambda | n])``.

    Examples
    --------
    >>> theta = [3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557]
    >>> round(float(ebgm(theta, 16, 0.40643623)[0]), 2)
    23.26
    """
    a1, b1, a2, b2, _ = validate_theta(theta)
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    e = np.atleast_1d(np.asarray(e, dtype=np.float64))
    if q is None:
        q = qn(theta, n, e)
    log1 = special.digamma(a1 + n) - np.log(b1 + e)
    log2 = special.digamma(a2 + n) - np.log(b2 + e)
    return np.exp(q * log1 + (1.0 - q) * log2)


def posterior_quantile(
    theta: object,
    n: object,
    e: object,
    prob: float,
    q: np.ndarray | None = None,
    *,
    rtol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """The ``prob`` quantile of the posterior mixture (EB05: ``prob=0.05``; EB95: 0.95).

    Examples
    --------
    >>> theta = [3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557]
    >>> round(float(posterior_quantile(theta, 16, 0.40643623, 0.05)[0]), 4)
    15.6857
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1); got {prob}")
    a1, b1, a2, b2, _ = validate_theta(theta)
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    e = np.atleast_1d(np.asarray(e, dtype=np.float64))
    if q is None:
        q = qn(theta, n, e)
    s1, r1 = a1 + n, b1 + e
    s2, r2 = a2 + n, b2 + e
    # The mixture quantile lies between the two component quantiles.
    x1 = special.gammaincinv(s1, prob) / r1
    x2 = special.gammaincinv(s2, prob) / r2
    lo = np.log(np.minimum(x1, x2))
    hi = np.log(np.maximum(x1, x2))
    y = np.log(q * x1 + (1.0 - q) * x2)
    y = np.clip(y, lo, hi)
    active = np.ones(n.size, dtype=bool)
    active &= hi - lo > rtol  # equal component quantiles: already exact
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        yi = y[idx]
        x = np.exp(yi)
        qi = q[idx]
        cdf = qi * special.gammainc(s1[idx], x * r1[idx]) + (1 - qi) * special.gammainc(
            s2[idx], x * r2[idx]
        )
        g = cdf - prob
        # d cdf / d log x = x * mixture density
        logpdf1 = special.xlogy(s1[idx], x * r1[idx]) - x * r1[idx] - special.gammaln(s1[idx])
        logpdf2 = special.xlogy(s2[idx], x * r2[idx]) - x * r2[idx] - special.gammaln(s2[idx])
        dg = qi * np.exp(logpdf1) + (1 - qi) * np.exp(logpdf2)
        lo[idx] = np.where(g < 0, yi, lo[idx])
        hi[idx] = np.where(g > 0, yi, hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = g / dg
        new = yi - step
        bad = ~np.isfinite(new) | (new <= lo[idx]) | (new >= hi[idx])
        new = np.where(bad, 0.5 * (lo[idx] + hi[idx]), new)
        y[idx] = new
        done = (np.abs(new - yi) <= rtol) | (hi[idx] - lo[idx] <= rtol) | (g == 0)
        active[idx[done]] = False
    if active.any():
        raise ArithmeticError(f"posterior quantile did not converge for {int(active.sum())} cells")
    return np.exp(y)
