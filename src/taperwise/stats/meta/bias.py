"""Publication-bias / small-study tools: Egger-type regression test (metafor ``regtest``),
Begg-Mazumdar rank correlation test (``ranktest``) and Duval-Tweedie trim-and-fill
(``trimfill``, estimators L0 and R0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.provenance import provenance
from taperwise.stats.meta._fit import fit_core
from taperwise.stats.meta.rma import RMA, RMAResult

PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtninv")


@dataclass(frozen=True, eq=False)
class RegtestResult:
    """Result of :func:`regtest`: test of the predictor and the limit estimate."""

    model: str
    predictor: str
    statistic: float
    df: float | None
    pval: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise meta regtest``."""
        return {
            "model": self.model,
            "predictor": self.predictor,
            "statistic": self.statistic,
            "df": self.df,
            "pval": self.pval,
            "limit_estimate": self.limit_estimate,
            "limit_ci_lb": self.limit_ci_lb,
            "limit_ci_ub": self.limit_ci_ub,
            "provenance": self.provenance,
        }


def _predictor(res: RMAResult, predictor: str, ni: Any) -> np.ndarray:
    if predictor == "sei":
        return np.sqrt(res.vi)
    if predictor == "vi":
        return res.vi.copy()
    if ni is None:
        raise ValidationError(f"regtest: predictor '{predictor}' needs the total sample sizes ni")
    n = np.asarray(ni, dtype=float)
    if len(n) != res.k:
        raise ValidationError(f"regtest: ni has {len(n)} values; the model has {res.k} studies")
    return {"ni": n, "ninv": 1 / n, "sqrtninv": 1 / np.sqrt(n)}[predictor]


def regtest(
    res: RMAResult, *, model: str = "rma", predictor: str = "sei", ni: Any = None
) -> RegtestResult:
    """Egger-type regression test for funnel-plot asymmetry (metafor ``regtest``).

    ``model="rma"`` (default) adds the predictor to the fitted model (same method, test and
    moderators); ``model="lm"`` is the classic Egger test (weighted least squares with weights
    1/vi and a multiplicative dispersion). The limit estimate is the intercept (the effect as the
    predictor goes to 0); it is NaN for ``predictor="ni"`` and for models with moderators.

    Examples
    --------
    >>> res = RMA(method="DL").fit(yi=[0.1, 0.5, 0.9, -0.2, 0.4], vi=[0.02, 0.03, 0.05, 0.04, 0.01])
    >>> round(regtest(res).statistic, 4)
    0.3594
    """
    model = model.lower()
    if model not in ("rma", "lm"):
        raise ValidationError(f"regtest: model '{model}' not supported; allowed: rma, lm")
    if predictor not in PREDICTORS:
        raise ValidationError(
            f"regtest: predictor '{predictor}' not supported; allowed: {', '.join(PREDICTORS)}"
        )
    x = _predictor(res, predictor, ni)
    X = np.column_stack([res.X, x])
    k, p = X.shape
    if k <= p:
        raise ValidationError(f"regtest: {k} studies are too few for {p} coefficients")
    limit_ok = res.intercept_only and predictor != "ni"
    if model == "rma":
        core = fit_core(res.yi, res.vi, X, method=res.method, test=res.test, level=res.level,
                        weights=res.weights, control=res.control, btt=[p - 1])  # fmt: skip
        stat = float(core.zval[-1])
        pval = float(core.pval[-1])
        df = core.ddf if np.isfinite(core.ddf) else None
        lim = (float(core.beta[0]), float(core.ci_lb[0]), float(core.ci_ub[0]))
    else:
        w = 1 / res.vi
        WX = X * w[:, None]
        inv = np.linalg.inv(X.T @ WX)
        b = inv @ (WX.T @ res.yi)
        r = res.yi - X @ b
        s2 = float(np.sum(w * r**2)) / (k - p)
        se = np.sqrt(np.diag(inv) * s2)
        t = b / se
        df = float(k - p)
        stat = float(t[-1])
        pval = float(2 * stats.t.sf(abs(stat), df))
        crit = float(
            stats.t.isf((100 - res.level) / 200 if res.level > 1 else (1 - res.level) / 2, df)
        )
        lim = (float(b[0]), float(b[0] - crit * se[0]), float(b[0] + crit * se[0]))
    if not limit_ok:
        lim = (math.nan, math.nan, math.nan)
    prov = provenance(
        {"model": model, "predictor": predictor}, None, engine="taperwise.stats.meta.regtest"
    )
    return RegtestResult(model, predictor, stat, df, pval, *lim, provenance=prov)


def ranktest(res: RMAResult) -> dict[str, Any]:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Kendall's tau between the standardised deviations from the equal-effects estimate and the
    sampling variances; exact p-value when k < 50 and there are no ties (as R's ``cor.test``).

    Examples
    --------
    >>> res = RMA(method="EE").fit(yi=[0.1, 0.5, 0.9, -0.2, 0.4], vi=[0.02, 0.03, 0.05, 0.04, 0.01])
    >>> round(ranktest(res)["statistic"], 4)
    0.2
    """
    y, v = res.yi, res.vi
    w = 1 / v
    b = float(np.sum(w * y) / np.sum(w))
    vb = 1 / float(np.sum(w))
    ystar = (y - b) / np.sqrt(v - vb)
    ties = len(np.unique(ystar)) < len(ystar) or len(np.unique(v)) < len(v)
    method = "exact" if (len(y) < 50 and not ties) else "asymptotic"
    tau, pval = stats.kendalltau(ystar, v, method=method)
    return {
        "statistic": float(tau),
        "pval": float(pval),
        "k": res.k,
        "exact": method == "exact",
        "provenance": provenance({}, None, engine="taperwise.stats.meta.ranktest"),
    }


@dataclass(frozen=True, eq=False)
class TrimfillResult:
    """Result of :func:`trimfill`: the model fitted to observed plus filled studies."""

    estimator: str
    side: str
    k0: int
    se_k0: float
    fit: RMAResult
    filled: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise meta trimfill``."""
        return {
            "estimator": self.estimator,
            "k0": self.k0,
            "se_k0": self.se_k0,
            "side": self.side,
            "k": self.fit.k,
            "estimate": self.fit.estimate,
            "se": self.fit.se,
            "ci_lb": self.fit.ci_lb,
            "ci_ub": self.fit.ci_ub,
            "pval": self.fit.pval,
            "tau2": self.fit.tau2,
            "filled": self.filled.to_dict(orient="records"),
            "provenance": self.provenance,
        }


def trimfill(
    res: RMAResult, *, side: str | None = None, estimator: str = "L0", maxiter: int = 100
) -> TrimfillResult:
    """Duval and Tweedie's trim-and-fill (metafor ``trimfill.rma.uni``).

    ``side``: where studies are missing (``left``/``right``); by default chosen from the sign of
    the slope of yi on sqrt(vi) (positive slope: missing on the left).

    Examples
    --------
    >>> res = RMA(method="EE").fit(yi=[0.1, 0.5, 0.9, 0.2, 0.4, 1.2], vi=[0.01, 0.03, 0.08, 0.01, 0.02, 0.1])
    >>> tf = trimfill(res)
    >>> tf.side, tf.k0 >= 0
    ('left', True)
    """
    if not res.intercept_only:
        raise ValidationError("trimfill: only for models without moderators")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0"):
        raise ValidationError(f"trimfill: estimator '{estimator}' not supported; allowed: L0, R0")
    y0, v0 = res.yi, res.vi
    k = len(y0)
    if side is None:
        Xs = np.column_stack([np.ones(k), np.sqrt(v0)])
        core = fit_core(
            y0, v0, Xs, method=res.method, level=res.level, weights=res.weights, control=res.control
        )
        side = "right" if core.beta[1] < 0 else "left"
    side = side.lower()
    if side not in ("left", "right"):
        raise ValidationError(f"trimfill: side '{side}' not allowed; allowed: left, right")
    sign = -1.0 if side == "right" else 1.0
    yf = sign * y0
    order = np.argsort(yf, kind="stable")
    ys, vs = yf[order], v0[order]
    X1 = np.ones((k, 1))
    k0, k0_prev, it, se_k0 = 0, -1, 0, math.nan
    beta = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ConvergenceError("trimfill: the trim-and-fill iteration did not converge")
        core = fit_core(
            ys[: k - k0], vs[: k - k0], X1[: k - k0], method=res.method, control=res.control
        )
        beta = float(core.beta[0])
        yc = ys - beta
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0f = (k - (neg.max() if len(neg) else 0)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0f) + 2)
        else:
            sr = float(signed[signed > 0].sum())
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f
            ) / 24  # fmt: skip
            se_k0 = 4 * math.sqrt(max(var_sr, 0.0)) / (2 * k - 1)
        k0 = int(max(0, round(k0f)))
        se_k0 = max(0.0, se_k0)
    if k0 > 0:
        y_fill = sign * (2 * beta - ys[k - k0 :])
        v_fill = vs[k - k0 :]
    else:
        y_fill = np.empty(0)
        v_fill = np.empty(0)
    fit = replace(
        RMA(method=res.method, test=res.test, level=res.level, stopping=res.stopping)
    ).fit(yi=np.concatenate([y0, y_fill]), vi=np.concatenate([v0, v_fill]))
    filled = pd.DataFrame({"yi": y_fill, "vi": v_fill})
    prov = provenance(
        {"estimator": estimator, "side": side}, None, engine="taperwise.stats.meta.trimfill"
    )
    return TrimfillResult(estimator, side, k0, se_k0, fit, filled, provenance=prov)
