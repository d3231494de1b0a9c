"""All pair scores in one call: PRR, ROR, IC and the GPS posterior summaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from taperwise.stats.gps.disproportionality import chi_square, evans_signal, ic, prr, ror
from taperwise.stats.gps.posterior import ebgm, posterior_quantile, qn

__all__ = ["PairScores", "score_pairs"]


@dataclass(frozen=True)
class PairScores:
    """Column arrays, one element per pair (see :func:`score_pairs`)."""

    n: np.ndarray
    expected: np.ndarray
    prr: np.ndarray
    prr_lb: np.ndarray
    prr_ub: np.ndarray
    chi2: np.ndarray
    evans: np.ndarray
    ror: np.ndarray
    ror_lb: np.ndarray
    ror_ub: np.ndarray
    ic: np.ndarray
    ic025: np.ndarray
    qn: np.ndarray
    ebgm: np.ndarray
    eb05: np.ndarray
    eb95: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """Columns by name."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _distinct_pairs(n: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (n, e) pairs and the inverse index, by hashing (O(size), unlike a sort)."""
    import pandas as pd

    cn, un = pd.factorize(n)
    ce, ue = pd.factorize(e)
    codes, ukey = pd.factorize(cn.astype(np.int64) * len(ue) + ce)
    return np.asarray(un)[ukey // len(ue)], np.asarray(ue)[ukey % len(ue)], codes


def score_pairs(
    n: object,
    expected: object,
    n_drug: object,
    n_event: object,
    n_total: object,
    theta: object,
    *,
    yates: bool = False,
) -> PairScores:
    """Score pairs from their counts.

    Parameters
    ----------
    n, expected
        Observed count and (possibly stratified) expected count per pair.
    n_drug, n_event, n_total
        Margins of the 2x2 table (a + b, a + c, N) used by PRR, ROR and chi-square; PRR and ROR
        are never stratified (as in openEBGM).
    theta
        GPS prior (alpha1, beta1, alpha2, beta2, P).
    yates
        Use the Yates-corrected chi-square for the Evans criterion.

    Examples
    --------
    >>> s = score_pairs([16], [0.40643623], [30], [40], [3356],
    ...                 [3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557])
    >>> round(float(s.ebgm[0]), 2), round(float(s.eb05[0]), 4)
    (23.26, 15.6857)
    """
    a = np.asarray(n, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    ni = np.asarray(n_drug, dtype=np.float64)
    nj = np.asarray(n_event, dtype=np.float64)
    nt = np.asarray(n_total, dtype=np.float64)
    b, c = ni - a, nj - a
    d = nt - ni - nj + a
    p = prr(a, b, c, d)
    r = ror(a, b, c, d)
    x2 = chi_square(a, b, c, d, yates=yates)
    # Posterior summaries depend on (n, E) only and many pairs share both (same margins):
    # compute them once per distinct (n, E) and broadcast back.
    if e.ndim == 1 and e.size > 1 and a.shape == e.shape:
        un, ue, inverse = _distinct_pairs(a, e)
    else:
        un, ue, inverse = a, e, None
    ic_u = ic(un, ue)
    q_u = qn(theta, un, ue)
    post = {
        "ic": ic_u.ic,
        "ic025": ic_u.lower,
        "qn": q_u,
        "ebgm": ebgm(theta, un, ue, q_u),
        "eb05": posterior_quantile(theta, un, ue, 0.05, q_u),
        "eb95": posterior_quantile(theta, un, ue, 0.95, q_u),
    }
    if inverse is not None:
        post = {k: v[inverse] for k, v in post.items()}
    return PairScores(
        n=a,
        expected=e,
        prr=p.prr,
        prr_lb=p.lower,
        prr_ub=p.upper,
        chi2=x2,
        evans=evans_signal(a, p.prr, x2),
        ror=r.ror,
        ror_lb=r.lower,
        ror_ub=r.upper,
        ic=post["ic"],
        ic025=post["ic025"],
        qn=post["qn"],
        ebgm=post["ebgm"],
        eb05=post["eb05"],
        eb95=post["eb95"],
    )
