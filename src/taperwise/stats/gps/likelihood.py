"""Negative log-likelihoods of the GPS two-gamma mixture prior (DuMouchel 1999).

The marginal of a count N with expected count E under one gamma component (shape alpha, rate
beta) is negative binomial, R's ``dnbinom(n, size = alpha, prob = beta / (beta + E))``. The
mixture is ``P f1 + (1 - P) f2``. Densities are evaluated in log space with ``lgamma`` (openEBGM
evaluates them on the natural scale; the values agree on CAERS to all printed digits and the log
form does not underflow for large N).

Four objectives mirror openEBGM's ``negLLzero``, ``negLLzeroSquash``, ``negLL`` and
``negLLsquash``: :func:`neg_loglik` with ``truncation=None`` is the all-cells likelihood
(zero cells included), ``truncation=N_star`` the zero-truncated one in which *each component*
is truncated at ``N_star`` and then mixed with the prior weight P (openEBGM, PhViD
``.likTronc2NB``). ``weights`` gives the squashed forms.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["log_nb", "neg_loglik", "validate_theta"]


def validate_theta(theta: object) -> np.ndarray:
    """Return theta as a float array of 5 (alpha1, beta1, alpha2, beta2, P) or raise ValueError."""
    arr = np.asarray(theta, dtype=np.float64).reshape(-1)
    if arr.size != 5:
        raise ValueError(f"theta needs 5 values (alpha1, beta1, alpha2, beta2, P); got {arr.size}")
    return arr


def log_nb(n: np.ndarray, alpha: float, beta: float, e: np.ndarray) -> np.ndarray:
    """log f(n; alpha, beta, E) of the negative-binomial marginal (vectorised over n, E).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> v = log_nb(np.array([3.0]), 2.0, 1.5, np.array([0.7]))
    >>> bool(np.isclose(v[0], stats.nbinom.logpmf(3, 2.0, 1.5 / 2.2)))
    True
    """
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    log_be = np.log(beta + e)
    return (
        special.gammaln(alpha + n)
        - special.gammaln(alpha)
        - special.gammaln(n + 1.0)
        + alpha * (np.log(beta) - log_be)
        + special.xlogy(n, e)
        - n * log_be
    )


def _log_sf_truncation(alpha: float, beta: float, e: np.ndarray, n_star: int) -> np.ndarray:
    """log P(N >= n_star) for one negative-binomial component."""
    log_p0 = alpha * (np.log(beta) - np.log(beta + e))  # log P(N = 0)
    if n_star == 1:
        # log(1 - exp(x)) accurately for x < 0
        return np.where(log_p0 > -0.693, np.log(-np.expm1(log_p0)), np.log1p(-np.exp(log_p0)))
    # P(N >= k) = I_{1-p}(k, alpha) with p = beta / (beta + E)
    return np.log(special.betainc(float(n_star), alpha, e / (beta + e)))


def neg_loglik(
    theta: object,
    n: object,
    e: object,
    weights: object | None = None,
    *,
    truncation: int | None = 1,
) -> float:
    """Negative log-likelihood of the two-gamma mixture.

    Parameters
    ----------
    theta
        (alpha1, beta1, alpha2, beta2, P); gamma shapes and **rates**.
    n, e
        Observed and expected counts per cell (or squashed point).
    weights
        Squashing weights (``None`` = 1 for every point).
    truncation
        ``N_star`` of the zero-truncated likelihood (points with n < N_star must not be
        passed); ``None`` for the all-cells likelihood.

    Examples
    --------
    >>> round(neg_loglik([1, 1, 2, 2, 0.3], [1, 2, 3], [0.5, 1.0, 2.0]), 6) > 0
    True
    """
    a1, b1, a2, b2, p = validate_theta(theta)
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if not (a1 > 0 and b1 > 0 and a2 > 0 and b2 > 0 and 0 < p < 1):
        return float("inf")
    l1 = log_nb(n, a1, b1, e)
    l2 = log_nb(n, a2, b2, e)
    if truncation is not None:
        l1 = l1 - _log_sf_truncation(a1, b1, e, int(truncation))
        l2 = l2 - _log_sf_truncation(a2, b2, e, int(truncation))
    ll = np.logaddexp(np.log(p) + l1, np.log1p(-p) + l2)
    if weights is not None:
        ll = ll * np.asarray(weights, dtype=np.float64)
    total = -float(np.sum(ll))
    return total if np.isfinite(total) else float("inf")


def neg_loglik_free(
    x: np.ndarray,
    n: np.ndarray,
    e: np.ndarray,
    weights: np.ndarray,
    truncation: int | None,
) -> tuple[float, np.ndarray]:
    """-LL and its gradient in the free parameters (log a1, log b1, log a2, log b2, logit P).

    Analytic for the all-cells likelihood and for truncation at N_star = 1 (the cases used in
    practice); the optimiser falls back to finite differences otherwise.
    """
    a1, b1, a2, b2 = np.exp(np.clip(x[:4], -700.0, 700.0))
    p = float(special.expit(x[4]))
    if not (a1 > 0 and b1 > 0 and a2 > 0 and b2 > 0 and 0.0 < p < 1.0) or not np.all(
        np.isfinite([a1, b1, a2, b2])
    ):
        return float("inf"), np.zeros(5)
    grads = []
    logs = []
    for a, b in ((a1, b1), (a2, b2)):
        log_b = np.log(b)
        log_be = np.log(b + e)
        dl_da = special.digamma(a + n) - special.digamma(a) + log_b - log_be
        dl_db = a / b - (a + n) / (b + e)
        lk = (
            special.gammaln(a + n)
            - special.gammaln(a)
            - special.gammaln(n + 1.0)
            + a * (log_b - log_be)
            + special.xlogy(n, e)
            - n * log_be
        )
        if truncation is not None:
            l0 = a * (log_b - log_be)
            t = _log_sf_truncation(a, b, e, 1)
            lk = lk - t
            # d log(1 - p0) = -p0/(1-p0) d log p0
            ratio = np.exp(l0 - t)
            dl_da = dl_da + ratio * (log_b - log_be)
            dl_db = dl_db + ratio * (a / b - a / (b + e))
        logs.append(lk)
        grads.append((dl_da * a, dl_db * b))
    lp1 = np.log(p) + logs[0]
    lp2 = np.log1p(-p) + logs[1]
    ll = np.logaddexp(lp1, lp2)
    r = np.exp(lp1 - ll)
    f = -float(np.dot(weights, ll))
    if not np.isfinite(f):
        return float("inf"), np.zeros(5)
    g = np.array(
        [
            -np.dot(weights, r * grads[0][0]),
            -np.dot(weights, r * grads[0][1]),
            -np.dot(weights, (1 - r) * grads[1][0]),
            -np.dot(weights, (1 - r) * grads[1][1]),
            -np.dot(weights, r - p),
        ]
    )
    return f, g
