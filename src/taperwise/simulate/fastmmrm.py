"""The primary MMRM of a simulated trial, fitted from missingness-pattern moments.

The model is the SAP's primary analysis: ``score ~ baseline + arm * day`` with an unstructured
(``us``) day covariance, REML, and Satterthwaite degrees of freedom for the arm-vs-control
difference averaged over the primary days -- the same model as
``taperwise.stats.mmrm.MMRM("score ~ baseline + arm*day + us(day | id)")`` (the test
``tests/simulate/test_simulate_fastmmrm.py`` checks estimates, SEs and df against it).

Why a separate path: a simulation study fits thousands of trials of the same design. Subjects
sharing a missingness pattern (with monotone dropout there are at most T) share one covariance
block, so the REML criterion and its exact gradient need only the per-pattern moment tensors
``sum_i Z_i[s]^T Z_i[u]`` of ``Z_i = [X_i, y_i]``; after one pass over the data each evaluation
costs a few small matrix products whatever the number of subjects. The mean is written in the
cell-means form (one column per arm x day cell, plus baseline), which spans the same space as
``arm * day`` so every contrast, SE and df is identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class PatternMoments:
    """Sufficient statistics of one trial by missingness pattern ``p`` and arm ``a``.

    Arrays are padded to the T days (zeros on unobserved days): ``mask`` (P, T) observed days,
    ``n`` (P, A) subjects, ``sb``/``sbb`` (P, A) sums of baseline and baseline^2, ``sy``/``sby``
    (P, A, T) sums of y and baseline*y, ``syy`` (P, T, T) sums of y y' over arms.
    """

    T: int
    n_arms: int
    mask: np.ndarray
    n: np.ndarray
    sb: np.ndarray
    sbb: np.ndarray
    sy: np.ndarray
    sby: np.ndarray
    syy: np.ndarray
    syy_arm: np.ndarray
    n_obs: int

    @property
    def k(self) -> int:
        return self.n_arms * self.T + 1


def design_moments(
    y: np.ndarray, arm_index: np.ndarray, baseline: np.ndarray, n_arms: int
) -> PatternMoments:
    """Pattern x arm sufficient statistics of ``score ~ baseline + arm * day``.

    ``y`` is (n, T) with NaN where a day is missing.
    """
    n, T = y.shape
    obs = np.isfinite(y)
    keep = obs.any(axis=1)
    y, obs, arm_index = y[keep], obs[keep], arm_index[keep]
    baseline = np.asarray(baseline, dtype=float)[keep]
    codes = obs @ (1 << np.arange(T))
    uniq, pat = np.unique(codes, return_inverse=True)
    P = uniq.size
    mask = ((uniq[:, None] >> np.arange(T)[None, :]) & 1).astype(float)
    y0 = np.where(obs, y, 0.0)
    group = pat * n_arms + arm_index
    size = P * n_arms
    cnt = np.bincount(group, minlength=size).reshape(P, n_arms).astype(float)
    sb = np.bincount(group, weights=baseline, minlength=size).reshape(P, n_arms)
    sbb = np.bincount(group, weights=baseline**2, minlength=size).reshape(P, n_arms)
    sy = np.zeros((size, T))
    np.add.at(sy, group, y0)
    sby = np.zeros((size, T))
    np.add.at(sby, group, y0 * baseline[:, None])
    syy_arm = np.zeros((size, T, T))
    np.add.at(syy_arm, group, y0[:, :, None] * y0[:, None, :])
    syy_arm = syy_arm.reshape(P, n_arms, T, T)
    return PatternMoments(
        T=T,
        n_arms=n_arms,
        mask=mask,
        n=cnt,
        sb=sb,
        sbb=sbb,
        sy=sy.reshape(P, n_arms, T),
        sby=sby.reshape(P, n_arms, T),
        syy=syy_arm.sum(axis=1),
        syy_arm=syy_arm,
        n_obs=int(obs.sum()),
    )


@lru_cache(maxsize=32)
def _tril(T: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tril_indices(T, -1)


def _chol(theta: np.ndarray, T: int) -> np.ndarray:
    L = np.diag(np.exp(theta[:T]))
    L[_tril(T)] = theta[T:]
    return L


def _theta(L: np.ndarray) -> np.ndarray:
    T = L.shape[0]
    return np.concatenate([np.log(np.diag(L)), L[_tril(T)]])


def _to_theta_grad(G: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Gradient wrt theta of a function whose gradient wrt the symmetric Sigma is ``G``."""
    T = L.shape[0]
    GL = 2.0 * G @ L
    return np.concatenate([np.diag(GL) * np.diag(L), GL[_tril(T)]])


class _Reml:
    """-2 REML log-likelihood (up to a constant) and its gradient from pattern statistics."""

    def __init__(self, pm: PatternMoments):
        self.pm = pm
        m = pm.mask
        self.mask2 = m[:, :, None] * m[:, None, :]
        self.eye_pad = np.eye(pm.T)[None] * (1.0 - self.mask2)
        self.n_p = pm.n.sum(axis=1)

    def omegas(self, Sigma: np.ndarray) -> tuple[np.ndarray, float]:
        """Inverses of the observed blocks (zero-padded) and ``sum_p n_p log|Sigma_p|``."""
        padded = Sigma[None] * self.mask2 + self.eye_pad
        c = np.linalg.cholesky(padded)
        logdet = 2.0 * np.log(np.diagonal(c, axis1=1, axis2=2)).sum(axis=1)
        Om = np.linalg.inv(padded) * self.mask2
        return Om, float(self.n_p @ logdet)

    def normal_equations(self, Om: np.ndarray):
        pm = self.pm
        T, A_ = pm.T, pm.n_arms
        k = pm.k
        om1 = Om.sum(axis=2)  # Om @ 1, (P, T)
        one_om_one = om1.sum(axis=1)  # (P,)
        A = np.zeros((k, k))
        blocks = np.einsum("pa,pst->ast", pm.n, Om)
        cb = np.einsum("pa,ps->as", pm.sb, om1)
        for a in range(A_):
            sl = slice(a * T, (a + 1) * T)
            A[sl, sl] = blocks[a]
            A[sl, k - 1] = cb[a]
            A[k - 1, sl] = cb[a]
        A[k - 1, k - 1] = float(np.einsum("pa,p->", pm.sbb, one_om_one))
        b = np.empty(k)
        b[: k - 1] = np.einsum("pst,pat->as", Om, pm.sy).ravel()
        b[k - 1] = float(np.einsum("ps,pas->", om1, pm.sby))
        cc = float(np.einsum("pst,pst->", Om, pm.syy))
        return A, b, cc

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        pm = self.pm
        T, A_ = pm.T, pm.n_arms
        L = _chol(theta, T)
        Sigma = L @ L.T
        try:
            Om, logdet = self.omegas(Sigma)
            A, b, cc = self.normal_equations(Om)
            cA = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(theta)
        Ainv = np.linalg.inv(A)
        beta = Ainv @ b
        value = logdet + 2.0 * np.sum(np.log(np.diag(cA))) + cc - b @ beta
        mu = beta[:-1].reshape(A_, T)
        bb = beta[-1]
        ones = np.ones(T)
        # R_p = sum_i r_i r_i' with r_i = y_i - mu_a - bb * b_i (padded days cancel in Om R Om)
        R = pm.syy.copy()
        t1 = np.einsum("pas,at->pst", pm.sy, mu)
        R -= t1 + t1.transpose(0, 2, 1)
        t2 = bb * pm.sby.sum(axis=1)  # (P, T)
        R -= t2[:, :, None] * ones[None, None, :] + t2[:, None, :] * ones[None, :, None]
        R += np.einsum("pa,as,at->pst", pm.n, mu, mu)
        t3 = bb * np.einsum("pa,as->ps", pm.sb, mu)
        R += t3[:, :, None] + t3[:, None, :]
        R += (bb**2 * pm.sbb.sum(axis=1))[:, None, None]
        H = self._h(Ainv, Ainv)
        W = R + H
        G = np.tensordot(self.n_p, Om, axes=1) - (Om @ W @ Om).sum(axis=0)
        return float(value), _to_theta_grad(G, L)

    def _h(self, Ainv: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """``sum_i X_i Q X_i'`` per pattern for a (k, k) matrix ``Q`` (padded, (P, T, T))."""
        pm = self.pm
        T, A_ = pm.T, pm.n_arms
        k = pm.k
        cells = Q[: k - 1, : k - 1].reshape(A_, T, A_, T)
        diag_blocks = cells[np.arange(A_), :, np.arange(A_), :]  # (A, T, T)
        qb = Q[: k - 1, k - 1].reshape(A_, T)
        H = np.einsum("pa,ast->pst", pm.n, diag_blocks)
        t = np.einsum("pa,as->ps", pm.sb, qb)
        H += t[:, :, None] + t[:, None, :]
        H += (pm.sbb.sum(axis=1) * Q[k - 1, k - 1])[:, None, None]
        return H

    def contrast_grad(self, theta: np.ndarray, Ainv: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Gradient wrt theta of ``c' A^-1 c`` (the contrast variance)."""
        L = _chol(theta, self.pm.T)
        Om, _ = self.omegas(L @ L.T)
        q = Ainv @ c
        S = self._h(Ainv, np.outer(q, q))
        K = (Om @ S @ Om).sum(axis=0)
        return _to_theta_grad(K, L)

    def fisher(self, theta: np.ndarray) -> np.ndarray:
        """Expected information of -2 log-likelihood in theta (ML form; guides the steps)."""
        T = self.pm.T
        L = _chol(theta, T)
        Om, _ = self.omegas(L @ L.T)
        rows, cols = np.diag_indices(T)
        low_r, low_c = _tril(T)
        r = np.concatenate([rows, low_r])
        c = np.concatenate([cols, low_c])
        D = np.zeros((r.size, T, T))
        scale = np.concatenate([np.diag(L), np.ones(low_r.size)])
        dL = np.zeros((r.size, T, T))
        dL[np.arange(r.size), r, c] = scale
        D = dL @ L.T
        D = D + D.transpose(0, 2, 1)
        P, J = Om.shape[0], r.size
        MO = np.matmul(Om[:, None], D[None])  # (P, J, T, T)
        flat = MO.reshape(P, J, T * T)
        flat_t = MO.transpose(0, 1, 3, 2).reshape(P, J, T * T)
        return np.tensordot(self.n_p[:, None, None] * flat, flat_t, axes=([0, 2], [0, 2]))

    def parts(self, Sigma: np.ndarray):
        Om, logdet = self.omegas(Sigma)
        A, b, cc = self.normal_equations(Om)
        return A, b, cc, logdet, Om


def _start(pm: PatternMoments) -> np.ndarray:
    """Pairwise residual covariance of the OLS fit (diagonal if not positive definite)."""
    T = pm.T
    reml = _Reml(pm)
    A, b, _ = reml.normal_equations(reml.mask2 * np.eye(T)[None])
    beta = np.linalg.lstsq(A, b, rcond=None)[0]
    mu = beta[:-1].reshape(pm.n_arms, T)
    bb = beta[-1]
    ones = np.ones(T)
    R = pm.syy.copy()
    t1 = np.einsum("pas,at->pst", pm.sy, mu)
    R -= t1 + t1.transpose(0, 2, 1)
    t2 = bb * pm.sby.sum(axis=1)
    R -= t2[:, :, None] * ones[None, None, :] + t2[:, None, :] * ones[None, :, None]
    R += np.einsum("pa,as,at->pst", pm.n, mu, mu)
    t3 = bb * np.einsum("pa,as->ps", pm.sb, mu)
    R += t3[:, :, None] + t3[:, None, :]
    R += (bb**2 * pm.sbb.sum(axis=1))[:, None, None]
    num = np.einsum("pst,pst->st", R, reml.mask2)
    cnt = np.einsum("p,pst->st", reml.n_p, reml.mask2)
    S = num / np.maximum(cnt, 1)
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        L = np.diag(np.sqrt(np.maximum(np.diag(S), 1e-3)))
    return _theta(L)


@dataclass(frozen=True)
class PrimaryFit:
    """REML fit of the primary MMRM: coefficients (cell means + baseline), vcov, covariance."""

    beta: np.ndarray
    vcov: np.ndarray
    sigma: np.ndarray
    theta: np.ndarray
    hessian: np.ndarray
    converged: bool
    reml: _Reml

    def contrast(self, c: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
        """Estimate, SE, Satterthwaite df, t, two-sided p and CI of ``c' beta``."""
        est = float(c @ self.beta)
        var = float(c @ self.vcov @ c)
        g = self.reml.contrast_grad(self.theta, self.vcov, c)
        try:
            denom = float(g @ np.linalg.solve(self.hessian, g))
        except np.linalg.LinAlgError:
            denom = np.nan
        df = var**2 / denom if denom > 0 else np.nan
        se = np.sqrt(var)
        t = est / se
        p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(df) else np.nan
        q = float(stats.t.ppf(1 - alpha / 2, df)) if np.isfinite(df) else np.nan
        return {
            "estimate": est,
            "se": float(se),
            "df": float(df),
            "t": float(t),
            "p": p,
            "lower": est - q * se,
            "upper": est + q * se,
        }


def fit_primary(pm: PatternMoments, *, tol: float = 1e-12, max_iter: int = 100) -> PrimaryFit:
    """REML fit of the cell-means MMRM with unstructured covariance from pattern moments."""
    reml = _Reml(pm)
    theta = _start(pm)
    value, grad = reml.value_grad(theta)
    # Fisher scoring with step halving (quasi-quadratic from the pairwise start), BFGS fallback
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(reml.fisher(theta), grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-4:
            cand = theta - t * step
            v_new, g_new = reml.value_grad(cand)
            if v_new <= value + 1e-10:
                break
            t *= 0.5
        else:
            break
        done = abs(value - v_new) < tol * (1 + abs(value))
        theta, value, grad = cand, v_new, g_new
        if done and np.max(np.abs(grad)) < 1e-4:
            break
    if not np.isfinite(value) or np.max(np.abs(grad)) > 1e-3:
        res = optimize.minimize(
            reml.value_grad, theta, jac=True, method="BFGS", options={"gtol": 1e-6}
        )
        theta = res.x
        value, grad = reml.value_grad(theta)
    converged = bool(np.isfinite(value) and np.max(np.abs(grad)) < 1e-3)
    # observed Hessian of -2 REML by central differences of the exact gradient
    n = theta.size
    H = np.empty((n, n))
    h = 1e-5
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (reml.value_grad(theta + e)[1] - reml.value_grad(theta - e)[1]) / (2 * h)
    H = 0.5 * (H + H.T)
    # one Newton step with the observed Hessian polishes the scoring solution
    try:
        polished = theta - np.linalg.solve(H, grad)
        v_new, g_new = reml.value_grad(polished)
        if v_new <= value and np.max(np.abs(g_new)) <= np.max(np.abs(grad)):
            theta, value, grad = polished, v_new, g_new
    except np.linalg.LinAlgError:
        pass
    L = _chol(theta, pm.T)
    Sigma = L @ L.T
    A, b, *_ = reml.parts(Sigma)
    vcov = np.linalg.inv(A)
    return PrimaryFit(
        beta=vcov @ b,
        vcov=vcov,
        sigma=Sigma,
        theta=theta,
        hessian=H,
        converged=converged,
        reml=reml,
    )


def difference_contrast(n_arms: int, T: int, arm: int, control: int, days: list[int]) -> np.ndarray:
    """Contrast (cell-means coefficients) of arm minus control averaged over 1-based ``days``."""
    c = np.zeros(n_arms * T + 1)
    for d in days:
        c[arm * T + d - 1] += 1.0 / len(days)
        c[control * T + d - 1] -= 1.0 / len(days)
    return c


def analyse_primary(
    y: np.ndarray,
    arm_index: np.ndarray,
    baseline: np.ndarray,
    *,
    n_arms: int,
    control: int,
    days: list[int],
    alpha: float = 0.05,
) -> dict[int, dict[str, float]]:
    """Primary analysis of one trial: ``{arm index: contrast result}`` for every non-control arm.

    Examples
    --------
    >>> import numpy as np
    >>> from taperwise.simulate import load_scenario, simulate_trial
    >>> t = simulate_trial(load_scenario("lofexidine-phase3"), np.random.default_rng(3))
    >>> out = analyse_primary(t.scores, t.arm_index, t.baseline, n_arms=3, control=0,
    ...                       days=[1, 2, 3, 4, 5, 6, 7])
    >>> sorted(out), out[2]["estimate"] < 0
    ([1, 2], True)
    """
    pm = design_moments(y, arm_index, baseline.astype(float), n_arms)
    fit = fit_primary(pm)
    out = {}
    for a in range(n_arms):
        if a == control:
            continue
        c = difference_contrast(n_arms, pm.T, a, control, days)
        out[a] = {**fit.contrast(c, alpha), "converged": fit.converged}
    return out
