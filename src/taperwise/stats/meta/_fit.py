"""Fitting one normal-normal model on clean arrays (shared by :class:`RMA` and the diagnostics).

Estimates tau^2, the fixed effects (inverse-variance or user weights), the tests (z, t,
Knapp-Hartung, ad hoc), Q / I^2 / H^2 and the ML / REML log-likelihoods, as metafor ``rma.uni``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from taperwise.errors import ValidationError
from taperwise.stats.meta._tau2 import FIXED_METHODS, Control, estimate_tau2, gls_parts

TESTS = ("z", "t", "knha", "adhoc")
STOPPING = ("metafor", "tight")


def alpha_from_level(level: float) -> float:
    """metafor's ``.level``: 95 or 0.95 both mean alpha = 0.05."""
    level = float(level)
    if not (0 < level < 100):
        raise ValidationError(f"level must be between 0 and 100 (e.g. 95), got {level}")
    return (100 - level) / 100 if level > 1 else 1 - level


@dataclass(frozen=True, eq=False)
class FitCore:
    """Numbers of one fit (used internally by diagnostics as well)."""

    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    crit: float
    ddf: float
    tau2: float
    se_tau2: float
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[float, float]
    I2: float
    H2: float
    vt: float
    s2w: float
    wi: np.ndarray
    ll_ml: float
    ll_reml: float
    dev_ml: float
    parms: int
    iterations: int


def fit_core(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    weights: np.ndarray | None = None,
    control: Control | None = None,
    tau2_fixed: float | None = None,
    btt: list[int] | None = None,
) -> FitCore:
    """Fit one model on clean arrays (no validation beyond shapes). See :class:`RMA`."""
    control = control or Control()
    method = method.upper()
    k, p = X.shape
    alpha = alpha_from_level(level)
    yc = y - y.mean()
    if tau2_fixed is not None:
        tau2, se_tau2, iters = float(tau2_fixed), math.nan, 0
    else:
        tau2, se_tau2, iters, _ = estimate_tau2(yc, v, X, method, control, weights=weights)
    w = 1.0 / (v + tau2)
    if not np.all(np.isfinite(w)):
        raise ValidationError(
            "rma: division by zero in the inverse-variance weights (a sampling variance is 0)"
        )
    WX = X * w[:, None]
    vb = np.linalg.inv(X.T @ WX)
    beta = vb @ (WX.T @ y)
    rss_knha = float(np.sum(w * (y - X @ beta) ** 2))
    used_w = w
    if weights is not None:
        a = np.asarray(weights, float)
        AX = X * a[:, None]
        inv = np.linalg.inv(X.T @ AX)
        beta = inv @ (AX.T @ y)
        vb = inv @ (AX.T * (v + tau2)[None, :]) @ AX @ inv
        used_w = a
    s2w = 1.0
    if test in ("knha", "adhoc"):
        s2w = 0.0 if rss_knha <= np.finfo(float).eps else rss_knha / (k - p)
        if test == "adhoc":
            s2w = max(1.0, s2w)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    if btt is None:
        btt = list(range(1, p)) if p > 1 and np.allclose(X[:, 0], 1.0) else list(range(p))
    m = len(btt)
    bb = beta[btt]
    QM = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
    if test in ("knha", "adhoc", "t"):
        ddf = float(k - p)
        QM = QM / m
        QMdf = (float(m), ddf)
        QMp = float(special.fdtrc(m, ddf, QM)) if ddf > 0 else math.nan
        pval = 2 * special.stdtr(ddf, -np.abs(zval)) if ddf > 0 else np.full(p, math.nan)
        crit = float(-special.stdtrit(ddf, alpha / 2)) if ddf > 0 else math.nan
    else:
        ddf = math.nan
        QMdf = (float(m), math.nan)
        QMp = float(special.chdtrc(m, QM))
        pval = 2 * special.ndtr(-np.abs(zval))
        crit = float(-special.ndtri(alpha / 2))
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se
    if np.all(v > 0):
        if k > p:
            Py, trP, _, _ = gls_parts(1 / v, X, yc)
            QE = max(0.0, float(yc @ Py))
            QEp = float(special.chdtrc(k - p, QE))
            vt = (k - p) / trP
            if method in FIXED_METHODS:
                I2 = max(0.0, 100 * (QE - (k - p)) / QE) if QE > 0 else 0.0
                H2 = QE / (k - p)
            else:
                I2 = 100 * tau2 / (vt + tau2)
                H2 = tau2 / vt + 1
        else:
            QE, QEp, I2, H2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    else:
        QE = QEp = I2 = H2 = vt = math.nan
    parms = p + (0 if method in FIXED_METHODS or tau2_fixed is not None else 1)
    rss_f = float(np.sum(w * (y - X @ beta) ** 2))
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss_f
    ll_reml = (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
        - 0.5 * float(np.sum(np.log(v + tau2)))
        - 0.5 * float(np.linalg.slogdet(X.T @ WX)[1])
        - 0.5 * rss_f
    )
    if k > p:
        dev_ml = (
            -2 * (ll_ml - float(np.sum(-0.5 * np.log(2 * math.pi * v))))
            if np.all(v > 0)
            else -2 * ll_ml
        )
    else:
        dev_ml = 0.0
    return FitCore(
        beta=beta, vb=vb, se=se, zval=zval, pval=np.asarray(pval), ci_lb=ci_lb, ci_ub=ci_ub, crit=crit, ddf=ddf,
        tau2=float(tau2), se_tau2=float(se_tau2), QE=QE, QEp=QEp, QM=QM, QMp=QMp, QMdf=QMdf, I2=float(I2),
        H2=float(H2), vt=float(vt), s2w=s2w, wi=used_w, ll_ml=ll_ml, ll_reml=ll_reml, dev_ml=dev_ml, parms=parms,
        iterations=iters,
    )  # fmt: skip
