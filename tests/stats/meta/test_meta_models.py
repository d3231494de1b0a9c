"""Model behaviour beyond the metafor anchors: estimator properties, tight mode, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require_reference
from taperwise.errors import ValidationError
from taperwise.stats.meta import RMA, Control, escalc
from taperwise.stats.meta._tau2 import TAU2_METHODS


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    dat = pd.read_csv(require_reference("metadat", "dat.bcg.csv"))
    return escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)


def test_tight_mode_reml_converges_to_true_optimum(bcg):
    # stats-anchors.md §0.2: fully converged REML 0.31324325813648 (metafor stops at 0.31324332598089)
    tight = RMA(stopping="tight").fit(yi="yi", vi="vi", data=bcg)
    default = RMA().fit(yi="yi", vi="vi", data=bcg)
    assert tight.tau2 == pytest.approx(0.31324325813648, rel=1e-12)
    assert default.tau2 == pytest.approx(0.313243325980895, rel=1e-12)
    assert tight.tau2 == pytest.approx(default.tau2, rel=1e-4)


def test_tight_mode_ablat_model(bcg):
    # stats-anchors.md §0.2: 0.0763480 (tight) vs 0.0763547 (metafor) for ~ ablat
    tight = RMA(stopping="tight", mods="~ ablat").fit(yi="yi", vi="vi", data=bcg)
    assert tight.tau2 == pytest.approx(0.0763480, abs=5e-8)


def test_tight_reml_score_is_zero(bcg):
    res = RMA(stopping="tight").fit(yi="yi", vi="vi", data=bcg)
    from taperwise.stats.meta._tau2 import p_matrix

    P, _ = p_matrix(1 / (res.vi + res.tau2), res.X)
    y = res.yi
    score = float(y @ P @ P @ y - np.trace(P))
    assert abs(score) < 1e-10


def test_pm_dlit_sjit_share_a_fixed_point(bcg):
    vals = [
        RMA(method=m, stopping="tight").fit(yi="yi", vi="vi", data=bcg).tau2
        for m in ("PM", "DLIT", "SJIT")
    ]
    assert vals[0] == pytest.approx(
        0.31806845, abs=5e-9
    )  # statsmodels' PM on dat.bcg (stats-anchors §6.1)
    assert vals[1] == pytest.approx(vals[0], rel=1e-10)
    assert vals[2] == pytest.approx(vals[0], rel=1e-10)


@pytest.mark.parametrize("method", [m for m in TAU2_METHODS if m not in ("GENQ",)])
def test_every_method_fits(bcg, method):
    res = RMA(method=method).fit(yi="yi", vi="vi", data=bcg)
    assert res.tau2 >= 0
    assert np.isfinite(res.estimate)
    assert res.k == 13


def test_genq_with_inverse_variance_weights_equals_dl(bcg):
    genq = RMA(method="GENQ").fit(yi="yi", vi="vi", data=bcg, weights=1 / bcg["vi"])
    dl = RMA(method="DL").fit(yi="yi", vi="vi", data=bcg)
    assert genq.tau2 == pytest.approx(dl.tau2, rel=1e-12)
    assert genq.se_tau2 == pytest.approx(dl.se_tau2, rel=1e-10)


def test_genq_needs_weights(bcg):
    with pytest.raises(ValidationError, match="GENQ"):
        RMA(method="GENQ").fit(yi="yi", vi="vi", data=bcg)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=12),
    st.lists(st.floats(0.01, 4, allow_nan=False), min_size=12, max_size=12),
)
def test_dl_and_moment_estimators_never_negative(yi, vi):
    y = np.array(yi)
    v = np.array(vi[: len(yi)])
    for method in ("DL", "HE", "HS", "SJ", "PM", "REML", "ML", "EB"):
        # tight mode: Fisher scoring can oscillate (metafor then stops with an error); tight mode
        # falls back to a bracketed search, so every method returns an estimate here
        assert RMA(method=method, stopping="tight").fit(yi=y, vi=v).tau2 >= 0


def test_oscillating_fisher_scoring_metafor_mode_errors_tight_mode_solves():
    from taperwise.errors import ConvergenceError
    from taperwise.stats.meta._tau2 import loglik

    y = np.array([1.56961872, -0.36757134, -1.00611326, 1.65182367, 1.43847348, 2.04423225, -0.87613788,
                  -0.5289976, 2.237747, 0.47211012])  # fmt: skip
    v = np.array([3.1283711, 1.57111937, 3.70905279, 0.20330586, 3.46533737, 1.48733463, 0.10009716,
                  3.75660869, 3.09809186, 3.93720531])  # fmt: skip
    with pytest.raises(ConvergenceError, match="did not converge"):
        RMA().fit(yi=y, vi=v)
    res = RMA(stopping="tight").fit(yi=y, vi=v)
    X = np.ones((10, 1))
    yc = y - y.mean()
    ll = loglik(yc, v, X, res.tau2, reml=True)
    for t in (res.tau2 * 0.999, res.tau2 * 1.001):
        assert loglik(yc, v, X, t, reml=True) <= ll
    assert RMA(control=Control(stepadj=0.5)).fit(yi=y, vi=v).tau2 == pytest.approx(
        res.tau2, rel=1e-4
    )


def test_dl_truncated_where_statsmodels_goes_negative(reference_data):
    # stats-anchors §5/§6.1: dat.hine1989 RD x 100; statsmodels' DL gives tau^2 = -8.87, metafor 0
    hine = pd.read_csv(reference_data / "metadat" / "dat.hine1989.csv")
    d = escalc("RD", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=hine)
    res = RMA(method="DL").fit(yi=d.yi * 100, vi=d.vi * 1e4)
    assert res.tau2 == 0.0
    assert res.I2 == 0.0
    assert res.estimate == pytest.approx(2.9444, abs=5e-5)


def test_knha_scales_variance_only(bcg):
    z = RMA().fit(yi="yi", vi="vi", data=bcg)
    k = RMA(test="knha").fit(yi="yi", vi="vi", data=bcg)
    assert k.estimate == z.estimate and k.tau2 == z.tau2
    s2w = k.se**2 / z.se**2
    assert s2w == pytest.approx(
        float(np.sum((z.yi - z.estimate) ** 2 / (z.vi + z.tau2)) / 12), rel=1e-12
    )
    assert "tval" in k.to_dict() and "zval" not in k.to_dict()


def test_adhoc_never_below_unadjusted():
    y, v = np.array([0.1, 0.12, 0.11, 0.09]), np.array([0.04, 0.05, 0.03, 0.06])
    z = RMA().fit(yi=y, vi=v)
    a = RMA(test="adhoc").fit(yi=y, vi=v)
    assert a.se >= z.se


def test_single_study_is_equal_effects():
    res = RMA().fit(yi=[0.3], vi=[0.04])
    assert res.tau2 == 0 and res.estimate == pytest.approx(0.3) and res.se == pytest.approx(0.2)


def test_result_is_frozen(bcg):
    res = RMA().fit(yi="yi", vi="vi", data=bcg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.k = 3  # type: ignore[misc]
    assert res.provenance["options"]["method"] == "REML"
    assert "numpy" in res.provenance["versions"]


def test_sei_equivalent_to_vi(bcg):
    a = RMA().fit(yi=bcg.yi, vi=bcg.vi)
    b = RMA().fit(yi=bcg.yi, sei=np.sqrt(bcg.vi))
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-12)


def test_missing_rows_dropped(bcg):
    y = bcg.yi.to_numpy().copy()
    y[0] = np.nan
    res = RMA().fit(yi=y, vi=bcg.vi)
    assert res.k == 12


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(method="XYZ"), "method"),
        (dict(test="q"), "test"),
        (dict(stopping="loose"), "stopping"),
        (dict(level=150), "level"),
        (dict(mods="~ nosuchcolumn"), "formula"),
    ],
)
def test_bad_options_raise_one_line(bcg, kwargs, match):
    with pytest.raises(ValidationError, match=match) as info:
        RMA(**kwargs).fit(yi="yi", vi="vi", data=bcg)
    assert "\n" not in str(info.value)


def test_negative_variance_rejected():
    with pytest.raises(ValidationError, match="sampling variances"):
        RMA().fit(yi=[0.1, 0.2], vi=[0.1, -0.1])


def test_rank_deficient_mods_rejected(bcg):
    data = bcg.assign(ablat2=bcg.ablat * 2)
    with pytest.raises(ValidationError, match="full rank"):
        RMA(mods="~ ablat + ablat2").fit(yi="yi", vi="vi", data=data)


def test_control_maxiter_reports_nonconvergence(bcg):
    from taperwise.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match="did not converge"):
        RMA(control=Control(maxiter=1, threshold=1e-30)).fit(yi="yi", vi="vi", data=bcg)


def test_predict_newmods_and_summary(bcg):
    res = RMA(mods="~ ablat").fit(yi="yi", vi="vi", data=bcg)
    pred = res.predict(newmods=[[20], [40]])
    assert list(pred.columns) == ["pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"]
    assert (pred.pi_lb < pred.ci_lb).all()
    assert list(res.summary().index) == ["intrcpt", "ablat"]
    with pytest.raises(ValidationError):
        res.predict(newmods=[[1, 2, 3]])
