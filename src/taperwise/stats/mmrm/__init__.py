"""MMRM: mixed models for repeated measures (the primary analysis of withdrawal trials).

Why taperwise writes its own
----------------------------
No Python library fits this model.  statsmodels' ``MixedLM`` models random effects with a
residual covariance fixed at ``sigma^2 I`` (no unstructured, Toeplitz, AR(1), ante-dependence or
compound-symmetry residual structures), and statsmodels has no Satterthwaite or Kenward-Roger
denominator degrees of freedom and no LS means; ``GEE`` is a different estimator (no REML, no
likelihood, no small-sample df).  The reference implementation is R's ``mmrm`` (validated against
SAS PROC MIXED); this package reproduces its numbers on its own example data (see
``tests/reference/mmrm``) using numpy and scipy only.

What it does
------------
``y_i = X_i beta + e_i``, ``e_i ~ N(0, Sigma_i)`` with ``Sigma_i`` the rows/columns of a
structured visit covariance (us, toep, toeph, ar1, ar1h, ad, adh, cs, csh, sp_exp), optionally
one per group, fitted by REML or ML with exact gradients and observed information (damped
Newton).  Inference: Satterthwaite, Kenward-Roger (-linear), residual and between-within df;
asymptotic, Kenward-Roger and sandwich (CR0/CR2/CR3) covariance; t and F tests of contrasts,
Type II/III tables, LS means and predictions.  :func:`fit_many` fits many data sets with the
same design (simulation).

Examples
--------
>>> from taperwise.stats.mmrm import MMRM
>>> model = MMRM("FEV1 ~ RACE + SEX + ARMCD*AVISIT + us(AVISIT | USUBJID)", reml=True)
>>> res = model.fit(fev)  # doctest: +SKIP
>>> res.summary()  # doctest: +SKIP
"""

from taperwise.stats.mmrm.batch import fit_many
from taperwise.stats.mmrm.formula import COV_TYPES, parse_formula
from taperwise.stats.mmrm.model import DF_METHODS, MMRM, VCOV_METHODS
from taperwise.stats.mmrm.results import MMRMResult

__all__ = [
    "COV_TYPES",
    "DF_METHODS",
    "MMRM",
    "VCOV_METHODS",
    "MMRMResult",
    "fit_many",
    "parse_formula",
]
