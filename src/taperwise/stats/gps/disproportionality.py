"""Frequentist and shrinkage disproportionality statistics on 2x2 tables (pure, vectorised).

The 2x2 table of a product i and an event j (pharmacovigilance.md §2.1):

=========  =======  =======
           event j  not j
=========  =======  =======
product i  a        b
not i      c        d
=========  =======  =======

Every function takes array-likes (broadcast together) and returns float arrays. Divisions by
zero give ``inf`` or ``nan`` exactly as the formula does (no epsilons are added); callers decide
how to display them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = [
    "BCPNNResult",
    "ICResult",
    "PRRResult",
    "RORResult",
    "bcpnn",
    "chi_square",
    "evans_signal",
    "ic",
    "prr",
    "ror",
]

_Z975 = float(stats.norm.ppf(0.975))


def _f(x: object) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True)
class PRRResult:
    """Proportional reporting ratio with its log-normal confidence interval."""

    prr: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sd_log: np.ndarray


@dataclass(frozen=True)
class RORResult:
    """Reporting odds ratio with Woolf's confidence interval."""

    ror: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sd_log: np.ndarray


@dataclass(frozen=True)
class ICResult:
    """Shrinkage information component (log2 scale) with credibility limits."""

    ic: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class BCPNNResult:
    """BCPNN information component with Gould's (2003) exact moments."""

    ic: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def prr(a: object, b: object, c: object, d: object, *, level: float = 0.95) -> PRRResult:
    """Proportional reporting ratio ``(a/(a+b)) / (c/(c+d))`` and its CI.

    ``var(ln PRR) = 1/a - 1/(a+b) + 1/c - 1/(c+d)`` (PhViD >= 1.0.2, pvda).

    Examples
    --------
    >>> r = prr(10, 990, 200, 9800)
    >>> round(float(r.prr), 6), round(float(r.lower), 6)
    (0.5, 0.265826)
    """
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    z = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (a / (a + b)) / (c / (c + d))
        sd = np.sqrt(1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d))
        lo = np.exp(np.log(value) - z * sd)
        hi = np.exp(np.log(value) + z * sd)
    return PRRResult(value, lo, hi, sd)


def ror(a: object, b: object, c: object, d: object, *, level: float = 0.95) -> RORResult:
    """Reporting odds ratio ``ad/(bc)`` with Woolf's CI (no Haldane correction).

    Examples
    --------
    >>> r = ror(10, 20, 200, 10000)
    >>> round(float(r.ror), 3), round(float(r.lower), 5)
    (25.0, 11.5535)
    """
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    z = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (a * d) / (b * c)
        sd = np.sqrt(1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d)
        lo = np.exp(np.log(value) - z * sd)
        hi = np.exp(np.log(value) + z * sd)
    return RORResult(value, lo, hi, sd)


def chi_square(a: object, b: object, c: object, d: object, *, yates: bool = False) -> np.ndarray:
    """Pearson chi-square (1 df) of the 2x2 table; Yates-corrected with ``yates=True``.

    Examples
    --------
    >>> round(float(chi_square(28, 942, 17, 31435)), 4)
    544.7096
    """
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    n = a + b + c + d
    diff = np.abs(a * d - b * c)
    if yates:
        diff = np.maximum(diff - n / 2.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return n * diff**2 / ((a + b) * (c + d) * (a + c) * (b + d))


def evans_signal(
    a: object,
    prr_value: object,
    chi2: object,
    *,
    min_prr: float = 2.0,
    min_chi2: float = 4.0,
    min_n: int = 3,
) -> np.ndarray:
    """Evans, Waller & Davis (2001) criteria: PRR >= 2, chi-square >= 4 and a >= 3.

    Examples
    --------
    >>> bool(evans_signal(28, 53.4, 544.7))
    True
    """
    a, p, x = _f(a), _f(prr_value), _f(chi2)
    with np.errstate(invalid="ignore"):
        return (p >= min_prr) & (x >= min_chi2) & (a >= min_n)


def ic(
    observed: object,
    expected: object,
    *,
    shrinkage: float = 0.5,
    level: float = 0.95,
    method: str = "exact",
) -> ICResult:
    """Shrinkage information component ``log2((O + k)/(E + k))`` (Norén et al. 2013).

    ``method="exact"`` gives the gamma credibility limits of pvda,
    ``log2(qgamma(q, O + k, rate = E + k))``; ``method="approx"`` the closed form
    ``IC - 3.3 (O+k)^-1/2 - 2 (O+k)^-3/2`` / ``IC + 2.4 (O+k)^-1/2 - 0.5 (O+k)^-3/2``
    (only defined for the 95 % level).

    Examples
    --------
    >>> r = ic(10, 5)
    >>> round(float(r.lower), 6), round(float(r.ic), 6), round(float(r.upper), 6)
    (-0.097257, 0.932886, 1.689457)
    """
    o, e = _f(observed), _f(expected)
    value = np.log2((o + shrinkage) / (e + shrinkage))
    if method == "exact":
        alpha = (1.0 - level) / 2.0
        shape, rate = o + shrinkage, e + shrinkage
        lo = np.log2(special.gammaincinv(shape, alpha) / rate)
        hi = np.log2(special.gammaincinv(shape, 1.0 - alpha) / rate)
    elif method == "approx":
        if abs(level - 0.95) > 1e-12:
            raise ValueError("the approximate IC limits exist only for level=0.95")
        s = o + shrinkage
        lo = value - 3.3 * s**-0.5 - 2.0 * s**-1.5
        hi = value + 2.4 * s**-0.5 - 0.5 * s**-1.5
    else:
        raise ValueError(f"method '{method}' is not allowed; use 'exact' or 'approx'")
    return ICResult(value, lo, hi)


def bcpnn(n11: object, n1_: object, n_1: object, n: object, *, level: float = 0.95) -> BCPNNResult:
    """BCPNN IC of Bate et al. (1998) with the exact moments of Gould (2003).

    Examples
    --------
    >>> r = bcpnn(1614, 85304, 71209, 4640498)
    >>> round(float(r.ic), 6), round(float(r.lower), 7)
    (0.301503, 0.2297176)
    """
    n11, n1_, n_1, n = _f(n11), _f(n1_), _f(n_1), _f(n)
    p1, p2 = 1.0 + n1_, 1.0 + n - n1_
    q1, q2 = 1.0 + n_1, 1.0 + n - n_1
    r1 = 1.0 + n11
    r2b = n - n11 - 1.0 + (2.0 + n) ** 2 / (q1 * p1)
    psi, tri = special.digamma, lambda x: special.polygamma(1, x)
    ln2 = np.log(2.0)
    mean = (psi(r1) - psi(r1 + r2b) - (psi(p1) - psi(p1 + p2) + psi(q1) - psi(q1 + q2))) / ln2
    var = (tri(r1) - tri(r1 + r2b) + tri(p1) - tri(p1 + p2) + tri(q1) - tri(q1 + q2)) / ln2**2
    z = float(stats.norm.ppf(0.5 + level / 2))
    sd = np.sqrt(var)
    return BCPNNResult(mean, var, mean - z * sd, mean + z * sd)
