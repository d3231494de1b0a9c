"""Disproportionality and Gamma-Poisson Shrinker engine (pure): PRR, ROR, IC/BCPNN, GPS.

Why our own implementation: the reference implementation of DuMouchel's (1999) GPS is the R
package openEBGM (FDA/CFSAN, GPL); there is no maintained Python equivalent. vigipy's GPS adds
epsilons to denominators, clips probabilities and fits with bounded Nelder-Mead, so it does not
reproduce openEBGM's numbers; open-altio's EBGM is tied to its FAERS pipeline (and to Python
>= 3.12); mddc is a different method. This engine follows openEBGM 0.9.1's formulas (processRaw
margins, the four likelihoods, squashData/autoSquash, Qn, EBGM and quantiles) so its numbers
can be checked against openEBGM's published CAERS values (``shared/reference/
pharmacovigilance.md`` §1.6-1.7), and adds what FAERS-scale data need: a log-space likelihood
with an analytic gradient, several starts with an agreement check, boundary (degenerate prior)
detection, the all-cells likelihood with zero cells squashed from the margins, and quantiles
solved to 1e-10 relative instead of openEBGM's 0.005 bisection.

Example
-------
>>> import numpy as np
>>> from taperwise.stats.gps import ebgm, posterior_quantile, prr
>>> theta = [3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557]
>>> round(float(ebgm(theta, 16, 0.40643623)[0]), 2)
23.26
>>> round(float(prr(10, 990, 200, 9800).prr), 2)
0.5
"""

from taperwise.stats.gps.disproportionality import (
    BCPNNResult,
    ICResult,
    PRRResult,
    RORResult,
    bcpnn,
    chi_square,
    evans_signal,
    ic,
    prr,
    ror,
)
from taperwise.stats.gps.hyper import DEFAULT_STARTS, GPS, GPSFit, StartResult
from taperwise.stats.gps.likelihood import log_nb, neg_loglik
from taperwise.stats.gps.posterior import ebgm, posterior_quantile, qn
from taperwise.stats.gps.scores import PairScores, score_pairs
from taperwise.stats.gps.squash import (
    Squashed,
    auto_squash,
    squash_data,
    squash_log_bins,
    zero_cells_from_margins,
    zero_cells_stratified,
)

__all__ = [
    "DEFAULT_STARTS",
    "GPS",
    "BCPNNResult",
    "GPSFit",
    "ICResult",
    "PRRResult",
    "PairScores",
    "RORResult",
    "Squashed",
    "StartResult",
    "auto_squash",
    "bcpnn",
    "chi_square",
    "ebgm",
    "evans_signal",
    "ic",
    "log_nb",
    "neg_loglik",
    "posterior_quantile",
    "prr",
    "qn",
    "ror",
    "score_pairs",
    "squash_data",
    "squash_log_bins",
    "zero_cells_from_margins",
    "zero_cells_stratified",
]
