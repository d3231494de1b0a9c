"""Optimisation of the MMRM criterion: damped Newton on the exact observed information.

Newton steps use the analytic Hessian (eigenvalues made positive where the surface is not
convex), a step cap and Armijo backtracking.  When a start fails, further starts are tried
(empirical, mmrm's identity start, shrunken variants), then L-BFGS-B followed by Newton.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from taperwise.stats.mmrm.likelihood import NotPositiveDefinite, Problem, evaluate

log = logging.getLogger(__name__)

GTOL = 1e-9  # target max |gradient| of -2 log L
CONVERGED_GTOL = 1e-5  # declared converged below this (and a positive definite Hessian)


@dataclass
class OptimResult:
    theta: np.ndarray
    ev: dict
    n_iter: int
    converged: bool
    max_grad: float
    message: str
    start: str


def _safe_eval(problem: Problem, theta: np.ndarray, order: int) -> dict | None:
    try:
        ev = evaluate(problem, theta, order)
    except (NotPositiveDefinite, np.linalg.LinAlgError, FloatingPointError):
        return None
    if not np.isfinite(ev["f"]):
        return None
    return ev


def newton(problem: Problem, theta0: np.ndarray, *, max_iter: int = 200, gtol: float = GTOL):
    """Damped Newton from ``theta0``; returns (theta, evaluation, iterations, message)."""
    theta = np.array(theta0, dtype=float)
    ev = _safe_eval(problem, theta, 2)
    if ev is None:
        return theta, None, 0, "start is not a valid covariance"
    it = 0
    for it in range(1, max_iter + 1):
        g, H = ev["grad"], ev["hess"]
        if np.max(np.abs(g)) < gtol:
            return theta, ev, it, "gradient below tolerance"
        w, V = np.linalg.eigh(H)
        scale = max(np.max(np.abs(w)), 1e-12)
        w_mod = np.maximum(np.abs(w), 1e-8 * scale)
        step = -V @ ((V.T @ g) / w_mod)
        norm = np.linalg.norm(step)
        if norm > 5.0:
            step *= 5.0 / norm
        slope = float(g @ step)
        f0 = ev["f"]
        accepted = None
        alpha = 1.0
        for _ in range(40):
            cand = theta + alpha * step
            ev1 = _safe_eval(problem, cand, 0)
            if ev1 is not None:
                if ev1["f"] <= f0 + 1e-4 * alpha * slope:
                    accepted = cand
                    break
                # at the optimum the decrease is below rounding: accept tiny non-increases
                if abs(ev1["f"] - f0) <= 1e-12 * max(1.0, abs(f0)) and alpha == 1.0:
                    accepted = cand
                    break
            alpha *= 0.5
        if accepted is None:
            return theta, ev, it, "line search failed"
        ev_new = _safe_eval(problem, accepted, 2)
        if ev_new is None:
            return theta, ev, it, "evaluation failed"
        if alpha == 1.0 and abs(ev_new["f"] - f0) <= 1e-12 * max(1.0, abs(f0)):
            if np.max(np.abs(ev_new["grad"])) >= np.max(np.abs(g)):
                return theta, ev, it, "no further progress (rounding level)"
        theta, ev = accepted, ev_new
    return theta, ev, it, "iteration limit"


def lbfgs(problem: Problem, theta0: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    def fun(t):
        ev = _safe_eval(problem, t, 1)
        if ev is None:
            return 1e300, np.zeros_like(t)
        return ev["f"], ev["grad"]

    res = minimize(
        fun, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-8}
    )
    return res.x


def optimise(problem: Problem, starts: list[tuple[str, np.ndarray]]) -> OptimResult:
    """Try the starts in order; keep the first converged fit (else the best one)."""
    best: OptimResult | None = None
    tried: list[tuple[str, np.ndarray]] = list(starts)
    k = 0
    while k < len(tried):
        label, t0 = tried[k]
        k += 1
        theta, ev, it, msg = newton(problem, t0)
        if ev is None or np.max(np.abs(ev["grad"])) > CONVERGED_GTOL:
            t1 = lbfgs(problem, theta if ev is not None else t0)
            theta2, ev2, it2, msg2 = newton(problem, t1)
            if ev2 is not None and (ev is None or ev2["f"] <= ev["f"]):
                theta, ev, it, msg, label = theta2, ev2, it + it2, msg2, label + "+lbfgs"
        if ev is None:
            log.debug("start %s failed: %s", label, msg)
            continue
        gmax = float(np.max(np.abs(ev["grad"])))
        pd = bool(np.all(np.linalg.eigvalsh(ev["hess"]) > 0))
        res = OptimResult(theta, ev, it, gmax <= CONVERGED_GTOL and pd, gmax, msg, label)
        if (
            best is None
            or (res.converged and not best.converged)
            or (res.converged == best.converged and ev["f"] < best.ev["f"])
        ):
            best = res
        if res.converged:
            break
    if best is None:
        return OptimResult(
            np.asarray(starts[0][1]),
            {},
            0,
            False,
            float("inf"),
            "no start gave a valid covariance",
            "",
        )
    return best


def empirical_covariance(problem: Problem) -> list[np.ndarray]:
    """Per-group residual covariance of an OLS fit (pairwise complete), for starting values."""
    Xp, Yp = problem.Xp, problem.Yp
    mask = problem.mask[problem.subj_pattern]
    q = problem.n_coef
    Xf = Xp.reshape(-1, q)
    beta = np.linalg.lstsq(Xf.T @ Xf, Xf.T @ Yp.ravel(), rcond=None)[0]
    r = (Yp - Xp @ beta) * mask
    groups = problem.pat_group[problem.subj_pattern]
    out = []
    K = problem.K
    for g in range(problem.n_groups):
        sel = groups == g
        rr, mm = r[sel], mask[sel].astype(float)
        cnt = mm.T @ mm
        S = np.where(cnt > 1, (rr.T @ rr) / np.maximum(cnt, 1), 0.0)
        d = np.diag(S).copy()
        d[d <= 0] = np.nanmean(d[d > 0]) if np.any(d > 0) else 1.0
        S[np.diag_indices(K)] = d
        out.append(S)
    return out


def default_starts(problem: Problem) -> list[tuple[str, np.ndarray]]:
    st = problem.structure
    emp = empirical_covariance(problem)
    if problem.dist is not None:
        emp_t = np.concatenate([st.start(np.diag(np.diag(e))) for e in emp])
    else:
        emp_t = np.concatenate([st.start(e) for e in emp])
    diag_t = np.concatenate([st.start(np.diag(np.diag(e))) for e in emp])
    std_t = np.concatenate([st.std_start() for _ in emp])
    return [
        ("empirical", emp_t),
        ("diagonal", diag_t),
        ("identity", std_t),
        ("shrunken", 0.5 * emp_t),
    ]
