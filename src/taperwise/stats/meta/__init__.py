"""Meta-analysis engine (pure): effect sizes, equal/random/mixed-effects models, MH and Peto,
CIs for tau^2, publication-bias tests, sensitivity diagnostics.

Why our own implementation: no Python library reproduces R's metafor. statsmodels'
``combine_effects`` has only DL/PM, lets the DL tau^2 go negative, and has no meta-regression,
prediction intervals, Mantel-Haenszel RR/RD variances, Peto, regtest or trim-and-fill; PyMARE
(the closest) has no binary effect sizes, no MH/Peto, no prediction intervals, no QM test and
no EB/PM/SJ/GENQ, and its ML/REML stop at a different point than metafor (see
``shared/reference/stats-anchors.md`` §6.1). The engine here follows metafor 5.1-12's
formulas, starting values and stopping rules so its numbers can be checked against metafor's
published values at full precision.

Iteration modes: ``stopping="metafor"`` (default) reproduces metafor's Fisher scoring (HE start,
stop at |delta tau^2| <= 1e-5) and its ``uniroot`` search for PM; ``stopping="tight"`` converges
fully (relative change <= 1e-13). The two differ by ~1e-7 relative in tau^2 for the bcg data.

Example
-------
>>> from taperwise.stats.meta import RMA, escalc
>>> dat = escalc("OR", ai=[12, 8, 20], n1i=[50, 40, 90], ci=[6, 7, 11], n2i=[50, 42, 88])
>>> res = RMA(method="DL").fit(yi=dat["yi"], vi=dat["vi"])
>>> res.tau2 >= 0
True
"""

from taperwise.stats.meta._tau2 import Control
from taperwise.stats.meta.bias import RegtestResult, TrimfillResult, ranktest, regtest, trimfill
from taperwise.stats.meta.confint import TauConfint, confint_tau2
from taperwise.stats.meta.diagnostics import cumul, influence, leave1out, lrt, permutest
from taperwise.stats.meta.escalc import MEASURES, escalc
from taperwise.stats.meta.glmm import RMAGLMM, RMAGLMMResult
from taperwise.stats.meta.mh import MHResult, rma_mh, rma_peto
from taperwise.stats.meta.rma import RMA, RMAResult
from taperwise.stats.meta.robust import robust

__all__ = [
    "MEASURES",
    "RMA",
    "RMAGLMM",
    "RMAGLMMResult",
    "Control",
    "MHResult",
    "RMAResult",
    "RegtestResult",
    "TauConfint",
    "TrimfillResult",
    "confint_tau2",
    "cumul",
    "escalc",
    "influence",
    "leave1out",
    "lrt",
    "permutest",
    "ranktest",
    "regtest",
    "rma_mh",
    "rma_peto",
    "robust",
    "trimfill",
]
