"""Self-consistency of the MMRM engine (gradient, Hessian, starts, options, errors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taperwise.errors import ValidationError
from taperwise.stats.mmrm import MMRM, fit_many, parse_formula
from taperwise.stats.mmrm.covariance import Structure
from taperwise.stats.mmrm.formula import build_design
from taperwise.stats.mmrm.likelihood import build_problem, evaluate


def simulate(n: int = 60, visits: int = 4, seed: int = 0, dropout: float = 0.15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    L = np.linalg.cholesky(0.5 * np.eye(visits) + 0.5)
    e = rng.normal(size=(n, visits)) @ L.T
    rows = []
    for i in range(n):
        for v in range(visits):
            y = 10 + v + 0.8 * arm[i] * v + e[i, v]
            if v > 0 and rng.random() < dropout:
                y = np.nan
            rows.append(
                {
                    "id": f"s{i}",
                    "visit": f"v{v + 1}",
                    "arm": "trt" if arm[i] else "pbo",
                    "x": rng.normal(),
                    "w": rng.uniform(0.5, 1.5),
                    "y": y,
                    "t": float(v),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("cov", ["us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh"])
def test_structure_derivatives_match_finite_differences(cov):
    st = Structure(cov, 4)
    th = np.random.default_rng(3).normal(size=st.n_theta) * 0.3
    e = 1e-6
    fd = np.stack(
        [
            (st.sigma(th + e * np.eye(th.size)[k]) - st.sigma(th - e * np.eye(th.size)[k]))
            / (2 * e)
            for k in range(th.size)
        ]
    )
    np.testing.assert_allclose(st.dsigma(th), fd, atol=1e-8)


@pytest.mark.parametrize(
    "formula,reml",
    [
        ("y ~ arm*visit + us(visit | id)", True),
        ("y ~ arm + x + ar1(visit | arm / id)", False),
        ("y ~ arm + sp_exp(t | id)", True),
    ],
)
def test_gradient_and_hessian_are_exact(formula, reml):
    d = simulate()
    parts = parse_formula(formula)
    des = build_design(d, parts, weights="w")
    prob = build_problem(des, parts.cov_type, reml=reml)
    th = np.zeros(prob.n_theta) + 0.1
    ev = evaluate(prob, th, 2)
    e = 1e-6
    eye = np.eye(th.size)
    fd_g = np.array(
        [
            (evaluate(prob, th + e * eye[k], 0)["f"] - evaluate(prob, th - e * eye[k], 0)["f"])
            / (2 * e)
            for k in range(th.size)
        ]
    )
    fd_h = np.array(
        [
            (
                evaluate(prob, th + e * eye[k], 1)["grad"]
                - evaluate(prob, th - e * eye[k], 1)["grad"]
            )
            / (2 * e)
            for k in range(th.size)
        ]
    )
    np.testing.assert_allclose(ev["grad"], fd_g, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ev["hess"], fd_h, rtol=1e-5, atol=1e-4)


def test_same_optimum_from_other_starts():
    d = simulate(seed=5)
    m = MMRM("y ~ arm*visit + us(visit | id)")
    a = m.fit(d)
    assert a.converged and a.max_gradient < 1e-8
    b = MMRM("y ~ arm*visit + us(visit | id)", start=np.zeros(10)).fit(d)
    assert b.start == "user" and b.max_gradient < 1e-8
    assert abs(a.deviance - b.deviance) < 1e-9 * abs(a.deviance)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-9)


def test_weights_equal_one_change_nothing():
    d = simulate(seed=2)
    d["one"] = 1.0
    a = MMRM("y ~ arm + visit + cs(visit | id)").fit(d)
    b = MMRM("y ~ arm + visit + cs(visit | id)", weights="one").fit(d)
    assert abs(a.deviance - b.deviance) < 1e-8


def test_sandwich_variants_and_dfs():
    d = simulate(n=80, seed=7)
    res = {
        v: MMRM("y ~ arm*visit + us(visit | id)", vcov=v).fit(d)
        for v in ("asymptotic", "empirical", "bias-reduced", "jackknife")
    }
    se = {k: r.se["armtrt"] for k, r in res.items()}
    # CR0 <= CR2 <= CR3 (leverage corrections inflate)
    assert se["empirical"] < se["bias-reduced"] < se["jackknife"]
    assert 0.5 < se["empirical"] / se["asymptotic"] < 2.0
    assert 2 < res["empirical"].df["armtrt"] < 80
    r = MMRM("y ~ arm*visit + us(visit | id)", df="residual").fit(d)
    assert r.df.iloc[0] == r.n_obs - len(r.coef)


def test_lsmeans_and_predict():
    d = simulate(seed=4)
    res = MMRM("y ~ arm*visit + x + us(visit | id)").fit(d)
    lsm = res.lsmeans(by=["arm", "visit"])
    assert len(lsm) == 8
    diff = res.lsmeans_diff("arm", at="visit")
    one = diff.iloc[0]
    c = np.zeros(len(res.coef))
    c[list(res.coef.index).index("armtrt")] = 1.0
    assert abs(one["estimate"] - res.contrast(c)["estimate"]) < 1e-10
    pr = res.predict(d)
    obs = d["y"].notna()
    np.testing.assert_allclose(pr.loc[obs, "prediction"], d.loc[obs, "y"])
    assert pr["prediction"].notna().all()


def test_anova_type3_interaction_equals_joint_test():
    d = simulate(seed=9)
    res = MMRM("y ~ arm*visit + us(visit | id)").fit(d)
    a3 = res.anova(type=3)
    names = list(res.coef.index)
    L = np.zeros((3, len(names)))
    for i, n in enumerate(n for n in names if ":" in n):
        L[i, names.index(n)] = 1.0
    joint = res.contrast(L)
    assert abs(a3.loc["arm:visit", "F"] - joint["F"]) < 1e-10


@pytest.mark.parametrize(
    "formula,kw,msg",
    [
        ("y ~ arm", {}, "covariance term"),
        ("y ~ arm + us(visit | id)", {"df": "magic"}, "df method"),
        ("y ~ arm + us(visit | id)", {"vcov": "hc7"}, "vcov"),
        ("y ~ nope + us(visit | id)", {}, "nope"),
        ("y ~ arm + us(visit | id)", {"reml": False, "df": "kenward-roger"}, "REML"),
    ],
)
def test_bad_input_raises_one_line(formula, kw, msg):
    with pytest.raises(ValidationError) as exc:
        MMRM(formula, **kw).fit(simulate())
    assert msg in str(exc.value)
    assert "\n" not in str(exc.value)


def test_duplicate_visit_rejected():
    d = simulate()
    d = pd.concat([d, d.iloc[[0]]])
    with pytest.raises(ValidationError, match="two rows"):
        MMRM("y ~ arm + us(visit | id)").fit(d)


def test_fit_many_serial_equals_processes():
    frames = [simulate(n=40, seed=s) for s in range(4)]
    m = MMRM("y ~ arm*visit + us(visit | id)")
    c = np.zeros(8)
    c[1] = 1.0
    a = fit_many(m, frames, contrast=c, chunk_size=2)
    b = fit_many(m, frames, contrast=c, executor="processes", workers=2, chunk_size=2)
    pd.testing.assert_frame_equal(a, b)
    assert a["converged"].all()
