"""metafor ``rma.glmm`` (measure OR) on dat.nielweise2007 (taperwise.stats.meta.RMAGLMM).

Reference values: metafor's tests ``tests/testthat/test_misc_rma_glmm.r`` (as recorded in
shared/reference/stats-anchors.md section 2.10). Tolerance: half a unit of the last printed
digit of each reference value (0.00005 for 4 decimals, 0.0000005 for 6/7 decimals, 0.0005 for
the 3-decimal UM.RS EE values of the same test file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import require_reference
from taperwise.errors import ValidationError
from taperwise.stats.meta import RMAGLMM
from taperwise.stats.meta.glmm import _cm_logpmf, _cm_support, _um_fs_ll

HALF4 = 0.5e-4
HALF3 = 0.5e-3


@pytest.fixture(scope="module")
def dat() -> pd.DataFrame:
    root = require_reference("metadat")
    return pd.read_csv(root / "dat.nielweise2007.csv")


def _fit(dat, **kw):
    return RMAGLMM(measure="OR", **kw).fit(ai=dat.ai, n1i=dat.n1i, ci=dat.ci, n2i=dat.n2i)


def test_um_fs_ee(dat):
    res = _fit(dat, model="UM.FS", method="EE")
    assert res.k == 17  # study 15 (0/0 events) dropped, metafor drop00=TRUE
    assert abs(res.estimate - (-1.2286)) <= HALF4  # test_misc_rma_glmm.r: coef -1.2286
    assert res.tau2 == 0.0


def test_um_rs_ml_laplace(dat):
    res = _fit(dat, model="UM.RS", method="ML")
    assert res.nagq == 1  # lme4 allows only the Laplace approximation here
    assert abs(res.estimate - (-1.2812)) <= HALF4  # test_misc_rma_glmm.r: coef -1.2812
    assert abs(res.tau2 - 0.7258) <= HALF4  # tau2 0.7258
    assert abs(res.sigma2 - 0.5212) <= HALF4  # sigma2 0.5212


def test_um_rs_ee(dat):
    res = _fit(dat, model="UM.RS", method="EE")
    # test_misc_rma_glmm.r (UM.RS, method="FE"): round(coef, 3) -1.221, round(sigma2, 3) 0.616
    assert abs(res.estimate - (-1.221)) <= HALF3
    assert abs(res.sigma2 - 0.616) <= HALF3
    assert res.tau2 == 0.0


def test_cm_el_ee(dat):
    res = _fit(dat, model="CM.EL", method="EE")
    assert abs(res.estimate - (-1.2236)) <= HALF4  # test_misc_rma_glmm.r: coef -1.2236
    assert abs(res.vcov - 0.0502) <= HALF4  # vcov 0.0502


def test_cm_el_ml(dat):
    res = _fit(dat, model="CM.EL", method="ML")
    assert abs(res.estimate - (-1.353158)) <= 0.5e-6  # test_misc_rma_glmm.r: coef -1.353158
    assert abs(res.tau2 - 0.6935) <= HALF4  # tau2 0.6935
    # metafor's vcov 0.1232445 is NOT reproduced (ours 0.1232293, see docs/meta.md); only checked
    # for being the inverse observed information here:
    assert res.se == pytest.approx(np.sqrt(res.vcov))


def test_um_fs_ml_reference_point_is_not_the_maximum(dat):
    """metafor reports coef -1.2370, tau2 0.3198 for UM.FS ML (test="t"), from lme4's optimiser.

    The exact maximum of the same 7-node AGQ likelihood is at -1.23649, tau2 0.31951; the
    profile log-likelihood at metafor's point is lower (by ~2e-6), i.e. metafor's point is an
    incompletely converged optimum, which we do not reproduce. Checked here: our fit is the
    higher-likelihood point and is stable in the number of quadrature nodes.
    """
    res = _fit(dat, model="UM.FS", method="ML", test="t")
    assert res.ddf == 16 and res.tval == res.zval
    res15 = _fit(dat, model="UM.FS", method="ML", test="t", nagq=15)
    assert abs(res.estimate - res15.estimate) < 1e-6
    x1, n1, x2, n2 = (
        dat[c].to_numpy(float)[(dat.ai + dat.ci).to_numpy() > 0] for c in ("ai", "n1i", "ci", "n2i")
    )
    f = _um_fs_ll(x1, n1, x2, n2, 7)

    def profile(b: float, tau2: float) -> float:
        t = np.array([b, np.sqrt(tau2)])
        a = np.log((x2 + 0.5) / (n2 - x2 + 0.5))
        h = 1e-5
        for _ in range(30):
            fp, f0, fm = f(a + h, t), f(a, t), f(a - h, t)
            a = a - ((fp - fm) / (2 * h)) / ((fp - 2 * f0 + fm) / h**2)
        return float(np.sum(f(a, t)))

    assert profile(res.estimate, res.tau2) > profile(-1.2370, 0.3198)


def test_cm_pmf_matches_scipy_nchypergeom_fisher():
    x1, n1, x2, n2 = (
        np.array(v, float) for v in ([1, 3, 0], [44, 188, 70], [3, 5, 1], [35, 175, 58])
    )
    u, lw, _ = _cm_support(x1, n1, x2, n2)
    for theta in (-1.3, 0.0, 0.7):
        ours = _cm_logpmf(np.full(3, theta), x1, u, lw)[0]
        ref = stats.nchypergeom_fisher.logpmf(x1, n1 + n2, n1, x1 + x2, np.exp(theta))
        np.testing.assert_allclose(ours, ref, rtol=1e-7)


def test_bad_input():
    with pytest.raises(ValidationError):
        RMAGLMM(model="CM.AL").fit(ai=[1, 2], bi=[9, 8], ci=[2, 3], di=[8, 7])
    with pytest.raises(ValidationError):
        RMAGLMM(measure="RR").fit(ai=[1, 2], bi=[9, 8], ci=[2, 3], di=[8, 7])
    with pytest.raises(ValidationError):
        RMAGLMM(method="ML").fit(ai=[1], bi=[9], ci=[2], di=[8])
