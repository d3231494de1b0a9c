"""Heterogeneity (tau^2) estimators for the normal-normal model, metafor-compatible.

Every estimator works on the mean-centred outcomes (as metafor's ``rma.uni`` does, for
numerical stability) and returns the estimate, its standard error and the number of
iterations. The iterative estimators (ML, REML, EB, DLIT, SJIT) use the exact update,
start and stopping rule of metafor in ``stopping="metafor"`` mode; ``"tight"`` mode runs
the same iteration to a 1e-13 relative change (a fully converged solution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from taperwise.errors import ConvergenceError, ValidationError

TAU2_METHODS = (
    "EE",
    "FE",
    "CE",
    "DL",
    "HE",
    "HS",
    "HSK",
    "SJ",
    "ML",
    "REML",
    "EB",
    "PM",
    "GENQ",
    "DLIT",
    "SJIT",
)
FIXED_METHODS = ("EE", "FE", "CE")

#: R's .Machine$double.eps^0.25, the default tolerance of uniroot() used by metafor for PM.
R_UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)


@dataclass(frozen=True)
class Control:
    """Iteration settings (metafor's ``control`` list).

    ``stopping="metafor"`` reproduces metafor: Fisher scoring from the HE estimate, stop when
    |delta tau^2| <= ``threshold`` (1e-5); PM by R's ``uniroot`` (Brent) with tol eps^0.25.
    ``stopping="tight"`` iterates to a relative change <= 1e-13 and solves PM to machine precision.
    """

    stopping: str = "metafor"
    threshold: float = 1e-5
    maxiter: int = 100
    tau2_init: float | None = None
    tau2_min: float = 0.0
    tau2_max: float | None = None
    ll0check: bool = True
    stepadj: float = 1.0

    @property
    def tight(self) -> bool:
        return self.stopping == "tight"


def p_matrix(w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P = W - W X (X'WX)^-1 X'W and (X'WX)^-1 for diagonal weights ``w``."""
    WX = X * w[:, None]
    inv = np.linalg.inv(X.T @ WX)
    P = np.diag(w) - WX @ inv @ WX.T
    return P, inv


def gls_parts(
    w: np.ndarray, X: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """P y, tr(P), tr(PP) and diag(P) without forming the k x k matrix P (O(k p^2))."""
    H = X * w[:, None]
    A = np.linalg.inv(X.T @ H)
    b = A @ (H.T @ y)
    Py = w * (y - X @ b)
    diag_p = w - np.einsum("ij,ij->i", H @ A, H)
    AG = A @ (H.T @ H)  # (X'WX)^-1 X'W^2 X
    tr_pp = float(np.sum(w**2) - 2 * np.trace(A @ (H.T @ (H * w[:, None]))) + np.sum(AG * AG.T))
    return Py, float(diag_p.sum()), tr_pp, diag_p


def zeroin(
    f, lower: float, upper: float, f_lower: float, f_upper: float, tol: float, maxiter: int
) -> float:
    """Brent's root finder exactly as R's ``R_zeroin2`` (the engine of ``uniroot``).

    Used so that metafor-compatible PM estimates stop where metafor's do.
    """
    eps = np.finfo(float).eps
    a, b = lower, upper
    fa, fb = f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ConvergenceError("uniroot-style search for tau^2 did not converge")


def _mad(x: np.ndarray) -> float:
    med = np.median(x)
    return float(1.4826 * np.median(np.abs(x - med)))


def q_gen(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q statistic sum w_i (y_i - x_i b)^2 with w_i = 1/(v_i + tau2)."""
    Py, _, _, _ = gls_parts(1.0 / (v + tau2), X, y)
    return float(y @ Py)


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, float, float]:
    """Hedges' estimator (OLS residuals): tau2, tr(PV) and tr(PVPV), in O(k p^2)."""
    k, p = X.shape
    B = np.linalg.inv(X.T @ X)
    r = y - X @ (B @ (X.T @ y))
    h = np.einsum("ij,jk,ik->i", X, B, X)
    tr_pv = float(np.sum(v * (1 - h)))
    BV = B @ (X.T @ (X * v[:, None]))
    tr_pvpv = float(
        np.sum(v**2) - 2 * np.trace(B @ (X.T @ (X * (v**2)[:, None]))) + np.sum(BV * BV.T)
    )
    return (float(r @ r) - tr_pv) / (k - p), tr_pv, tr_pvpv


def estimate_tau2(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    method: str,
    control: Control,
    weights: np.ndarray | None = None,
) -> tuple[float, float, int, bool]:
    """Estimate tau^2; returns ``(tau2, se_tau2, iterations, converged)``.

    ``y`` should already be mean-centred (the estimators are location invariant when X has an
    intercept; metafor centres for numerical stability and so do we).
    """
    k, p = X.shape
    method = method.upper()
    if method in FIXED_METHODS:
        return 0.0, math.nan, 0, True
    if k == 1:
        return 0.0, math.nan, 0, True
    if k <= p:
        raise ValidationError(
            f"rma: method {method} needs more studies (k={k}) than coefficients (p={p})"
        )
    tmin = control.tau2_min
    threshold = 1e-13 if control.tight else control.threshold
    maxiter = 1000 if control.tight else control.maxiter
    it = 0

    def _changed(old: float, new: float) -> float:
        return abs(old - new) / max(1.0, abs(new)) if control.tight else abs(old - new)

    if method in ("DL", "HS", "HSK", "PM"):
        if np.any(v <= 0):
            raise ValidationError(f"rma: method {method} needs all sampling variances > 0")

    if method in ("HS", "HSK"):
        w = 1 / v
        Py, trP, trPP, _ = gls_parts(w, X, y)
        rss = float(y @ Py)
        tau2 = (rss - k) / w.sum() if method == "HS" else (k / (k - p) * rss - k) / w.sum()
        tau2 = max(tmin, tau2)
        se = math.sqrt(1 / w.sum() ** 2 * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * trPP))
        if method == "HSK":
            se *= k / (k - p)
        return tau2, se, 0, True
    if method == "DL":
        Py, trP, trPP, _ = gls_parts(1 / v, X, y)
        rss = float(y @ Py)
        tau2 = max(tmin, (rss - (k - p)) / trP)
        se = math.sqrt(1 / trP**2 * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * trPP))
        return tau2, se, 0, True
    if method == "GENQ":
        if weights is None:
            raise ValidationError(
                "rma: method GENQ needs weights (the weights of the generalised Q)"
            )
        P, _ = p_matrix(np.asarray(weights, float), X)
        PV = P * v[None, :]
        trP = float(np.trace(P))
        rss = float(y @ P @ y)
        tau2 = max(tmin, (rss - np.trace(PV)) / trP)
        se = math.sqrt(
            1
            / trP**2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return tau2, se, 0, True
    if method == "HE":
        tau2, trPV, tr_pvpv = _he(y, v, X)
        tau2 = max(tmin, tau2)
        se = math.sqrt(1 / (k - p) ** 2 * (2 * tr_pvpv + 4 * tau2 * trPV + 2 * tau2**2 * (k - p)))
        return tau2, se, 0, True
    if method == "SJ":
        tau0 = (
            control.tau2_init
            if control.tau2_init is not None
            else float(np.var(y, ddof=1) * (k - 1) / k)
        )
        P, _ = p_matrix(1 / (v + tau0), X)
        rss = float(y @ P @ y)
        PV = P * v[None, :]
        tau2 = max(tmin, tau0 * rss / (k - p))
        se = math.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return tau2, se, 0, True

    def se_moment(tau2: float) -> float:
        w = 1 / (v + tau2)
        return math.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)

    if method == "PM":
        tmax = control.tau2_max if control.tau2_max is not None else max(100.0, 10 * _mad(y) ** 2)
        target = k - p

        def f(t: float) -> float:
            return q_gen(t, y, v, X) - target

        f_lo = f(tmin)
        if f_lo < 0:
            tau2 = tmin
        else:
            f_hi = f(tmax)
            if f_hi > 0:
                raise ConvergenceError(
                    f"rma: PM estimate exceeds tau2_max={tmax:g}; raise tau2_max"
                )
            if control.tight:
                tau2 = brentq(f, tmin, tmax, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
            else:
                tau2 = zeroin(f, tmin, tmax, f_lo, f_hi, R_UNIROOT_TOL, control.maxiter)
        return float(tau2), se_moment(float(tau2)), 0, True
    if method == "DLIT":
        tau2 = control.tau2_init if control.tau2_init is not None else 0.0
        change = threshold + 1
        while change > threshold:
            it += 1
            old = tau2
            Py, trP, _, diag_p = gls_parts(1 / (v + tau2), X, y)
            tau2 = (float(y @ Py) - float(np.sum(diag_p * v))) / trP
            tau2 = max(tmin, tau2)
            change = _changed(old, tau2)
            if it > maxiter:
                raise ConvergenceError("rma: iterative DL estimator did not converge")
        return tau2, se_moment(tau2), it, True
    if method == "SJIT":
        tau2 = (
            control.tau2_init
            if control.tau2_init is not None
            else float(np.var(y, ddof=1) * (k - 1) / k)
        )
        change = threshold + 1
        while change > threshold:
            it += 1
            old = tau2
            Py, _, _, _ = gls_parts(1 / (v + tau2), X, y)
            tau2 = tau2 * float(y @ Py) / (k - p)
            change = _changed(old, tau2)
            if it > maxiter:
                raise ConvergenceError("rma: iterative SJ estimator did not converge")
        return tau2, se_moment(tau2), it, True
    if method in ("ML", "REML", "EB"):
        if control.tau2_init is None:
            tau2 = max(0.0, _he(y, v, X)[0], tmin)
        else:
            tau2 = control.tau2_init
        change = threshold + 1
        while change > threshold:
            it += 1
            old = tau2
            w = 1 / (v + tau2)
            if np.any(v + tau2 <= 0):
                raise ConvergenceError("rma: some marginal variances are not positive")
            Py, trP, trPP, _ = gls_parts(w, X, y)
            if method == "ML":
                adj = (float(Py @ Py) - w.sum()) / float(np.sum(w**2))
            elif method == "REML":
                adj = (float(Py @ Py) - trP) / trPP
            else:
                adj = (float(y @ Py) * k / (k - p) - k) / w.sum()
            adj *= control.stepadj
            while tau2 + adj < tmin:
                adj /= 2
            tau2 = tau2 + adj
            change = _changed(old, tau2)
            if it > maxiter:
                if control.tight:
                    tau2 = _safeguarded(y, v, X, method, tmin)
                    break
                raise ConvergenceError(
                    f"rma: Fisher scoring for {method} did not converge in {maxiter} iterations "
                    "(as metafor would report); try Control(stepadj=0.5), stopping='tight' "
                    "(falls back to a bracketed search) or another method"
                )
        if method in ("ML", "REML") and control.ll0check and np.all(v > 0):
            ll0 = loglik(y, v, X, 0.0, reml=method == "REML")
            ll1 = loglik(y, v, X, tau2, reml=method == "REML")
            if ll0 - ll1 > R_UNIROOT_TOL and tau2 > control.threshold:
                tau2 = 0.0
        tau2 = max(tmin, tau2)
        w = 1 / (v + tau2)
        if method == "ML":
            se = math.sqrt(2 / float(np.sum(w**2)))
        elif method == "REML":
            se = math.sqrt(2 / gls_parts(w, X, y)[2])
        else:
            se = se_moment(tau2)
        return tau2, se, it, True
    raise ValidationError(
        f"rma: method '{method}' is not supported; allowed: {', '.join(TAU2_METHODS)}"
    )


def _safeguarded(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, tmin: float) -> float:
    """Bracketed solution when Fisher scoring oscillates (tight mode only): maximise the
    (restricted) likelihood (ML/REML) or solve the EB estimating equation on [tau2_min, hi]."""
    k, p = X.shape
    hi = max(1.0, 10 * float(np.var(y)) + float(np.max(v)))
    if method == "EB":

        def f(t: float) -> float:
            w = 1 / (v + t)
            Py, _, _, _ = gls_parts(w, X, y)
            return float(y @ Py) * k / (k - p) - k

        if f(tmin) <= 0:
            return tmin
        while f(hi) > 0:
            hi *= 2
        return float(brentq(f, tmin, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))
    from scipy.optimize import minimize_scalar

    reml = method == "REML"
    while loglik(y, v, X, hi, reml=reml) > loglik(y, v, X, hi / 2, reml=reml):
        hi *= 2
    opt = minimize_scalar(
        lambda t: -loglik(y, v, X, t, reml=reml), bounds=(tmin, hi), method="bounded",
        options={"xatol": 1e-13},
    )  # fmt: skip
    return float(opt.x)


def loglik(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, *, reml: bool, remlf: bool = True
) -> float:
    """(Restricted) log-likelihood of the normal-normal model at ``tau2`` (metafor's ll.ML / ll.REML)."""
    k, p = X.shape
    w = 1 / (v + tau2)
    WX = X * w[:, None]
    XtWX = X.T @ WX
    b = np.linalg.solve(XtWX, WX.T @ y)
    rss = float(np.sum(w * (y - X @ b) ** 2))
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss
    ll = -0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2)))
    ll -= 0.5 * float(np.linalg.slogdet(XtWX)[1]) + 0.5 * rss
    if remlf:
        ll += 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
    return ll
