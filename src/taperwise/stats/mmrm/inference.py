"""Degrees of freedom and coefficient covariance: Satterthwaite, Kenward-Roger, sandwich.

Notation: ``Phi = (X' V^-1 X)^-1`` (asymptotic covariance of beta), ``W`` the asymptotic
covariance of theta (inverse observed information of ``-log L``, i.e. ``2 H^-1`` for the
Hessian ``H`` of ``-2 log L``), ``B_k = sum_i X_i' S_i^-1 dS_i/dtheta_k S_i^-1 X_i`` so that
``dPhi/dtheta_k = Phi B_k Phi``.

* Satterthwaite (one contrast ``c``): ``nu = 2 (c'Phi c)^2 / (g' W g)``, ``g_k = c' dPhi_k c``.
  Several rows: the eigen-decomposition of ``L Phi L'`` into independent t statistics,
  ``E = sum nu_i / (nu_i - 2)``, ``nu = 2E / (E - r)`` (Fai and Cornelius 1996; as mmrm).
* Kenward-Roger (1997): adjusted ``Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl / 4)] Phi``
  and the scaled F with ``m`` denominator df; "linear" drops ``R`` (second derivatives of Sigma).
* Empirical (CR0), jackknife (CR3) and bias-reduced (CR2) sandwiches in the whitened space.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from taperwise.stats.mmrm.likelihood import Problem, pattern_sigma


def satterthwaite_1d(
    c: np.ndarray, Phi: np.ndarray, B: np.ndarray, W: np.ndarray
) -> tuple[float, float]:
    """(variance, df) of the contrast ``c'beta``."""
    v = float(c @ Phi @ c)
    pc = Phi @ c
    g = np.einsum("i,kij,j->k", pc, B, pc)
    denom = float(g @ W @ g)
    return v, (2.0 * v * v / denom if denom > 0 else np.inf)


def md_denominator_df(nus: np.ndarray) -> float:
    nus = np.asarray(nus, dtype=float)
    if nus.size == 1:
        return float(nus[0])
    if np.all(np.abs(np.diff(nus)) < np.sqrt(np.finfo(float).eps)):
        return float(nus.mean())
    if np.any(nus <= 2):
        return 2.0
    E = float(np.sum(nus / (nus - 2.0)))
    return 2.0 * E / (E - nus.size)


def kr_components(problem: Problem, theta: np.ndarray, ev: dict, *, linear: bool):
    """P (n_theta, q, q) and the correction term sum W_kl (Q_kl - P_k Phi P_l - R_kl/4) needs Q, R."""
    F, C, Sinv = ev["F"], ev["C"], ev["Sinv"]
    P_ = -ev["B"]
    n_t = theta.size
    # Q_kl = sum_i X' S^-1 S_k S^-1 S_l S^-1 X
    FF = np.einsum("pkab,plbc->pklac", F, C, optimize=True)
    Q = np.tensordot(FF, problem.MXX, axes=([0, 3, 4], [0, 1, 2]))  # (k, l, q, q)
    R = np.zeros_like(Q)
    if not linear:
        _, _, d2 = pattern_sigma(problem, theta, 2)
        for sl, sel, d2s in d2:
            Si = Sinv[sel]
            if d2s.ndim == 4:
                T = np.einsum("pab,klbc,pcd->pklad", Si, d2s, Si, optimize=True)
            else:
                T = np.einsum("pab,pklbc,pcd->pklad", Si, d2s, Si, optimize=True)
            R[sl, sl] += np.tensordot(T, problem.MXX[sel], axes=([0, 3, 4], [0, 1, 2]))
    return P_, Q, R, n_t


def kr_adjusted_vcov(
    Phi: np.ndarray, W: np.ndarray, P_: np.ndarray, Q: np.ndarray, R: np.ndarray
) -> np.ndarray:
    n_t = W.shape[0]
    corr = np.zeros_like(Phi)
    PPhi = P_ @ Phi  # (k, q, q)
    for k in range(n_t):
        for j in range(n_t):
            corr += W[k, j] * (Q[k, j] - PPhi[k] @ P_[j] - 0.25 * R[k, j])
    adj = Phi + 2.0 * Phi @ corr @ Phi
    return 0.5 * (adj + adj.T)


def kr_df(Phi: np.ndarray, L: np.ndarray, W: np.ndarray, P_: np.ndarray) -> tuple[float, float]:
    """Kenward-Roger denominator df ``m`` and F scale ``lambda`` for contrast rows ``L``."""
    L = np.atleast_2d(L)
    r = L.shape[0]
    M = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    MV = M @ Phi
    T = np.stack([MV @ Pk @ Phi for Pk in P_])  # (k, q, q)
    tr = np.trace(T, axis1=1, axis2=2)
    a1 = float(tr @ W @ tr)
    TT = np.einsum("kij,lji->kl", T, T)
    a2 = float(np.sum(W * TT))
    b = (a1 + 6.0 * a2) / (2.0 * r)
    e_star = 1.0 / (1.0 - a2 / r)
    g = ((r + 1.0) * a1 - (r + 4.0) * a2) / ((r + 2.0) * a2)
    denom = 3.0 * r + 2.0 - 2.0 * g
    c1, c2, c3 = g / denom, (r - g) / denom, (r + 2.0 - g) / denom
    v_star = 2.0 / r * (1.0 + c1 * b) / (1.0 - c2 * b) ** 2 / (1.0 - c3 * b)
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (r + 2.0) / (r * rho - 1.0)
    lam = m / (e_star * (m - 2.0))
    return float(m), float(lam)


def whitened(problem: Problem, Sinv: np.ndarray):
    """Per-subject whitened X, y (using the symmetric inverse square root of each Sigma_i)."""
    Xp, Yp = problem.Xp, problem.Yp
    P = Sinv.shape[0]
    roots = np.zeros_like(Sinv)
    for p in range(P):
        obs = np.flatnonzero(problem.mask[p])
        w, V = np.linalg.eigh(Sinv[p][np.ix_(obs, obs)])
        roots[p][np.ix_(obs, obs)] = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    Rt = roots[problem.subj_pattern]  # (n, K, K)
    return Rt @ Xp, np.einsum("nab,nb->na", Rt, Yp)


def sandwich(problem: Problem, Sinv: np.ndarray, beta: np.ndarray, Phi: np.ndarray, kind: str):
    """Empirical covariance of beta; ``kind`` in empirical|jackknife|bias-reduced.

    Returns (vcov, Z, Xt) where Z (n_subjects, K) holds the adjusted residual factors
    ``A_i X~_i Phi`` needed for the Bell-McCaffrey degrees of freedom.
    """
    Xt, yt = whitened(problem, Sinv)
    rt = yt - Xt @ beta
    n, K, q = Xt.shape
    z = np.zeros((n, q))
    Ai_all = np.zeros((n, K, K))
    mask = problem.mask[problem.subj_pattern]
    for i in range(n):
        obs = np.flatnonzero(mask[i])
        Xi, ri = Xt[i, obs], rt[i, obs]
        A = np.eye(obs.size)
        if kind != "empirical":
            A = A - Xi @ Phi @ Xi.T
            w, V = np.linalg.eigh(0.5 * (A + A.T))
            tol = np.finfo(float).eps * obs.size * max(np.max(np.abs(w)), 1e-300)
            if kind == "jackknife":
                A = np.linalg.inv(A)
            else:
                inv_sqrt = np.where(w > tol, 1.0 / np.sqrt(np.where(w > tol, w, 1.0)), 0.0)
                A = (V * inv_sqrt) @ V.T
        Ai_all[i][np.ix_(obs, obs)] = A
        z[i] = Xi.T @ (A @ ri)
    meat = z.T @ z
    vc = Phi @ meat @ Phi
    return 0.5 * (vc + vc.T), Xt, Ai_all


def bell_mccaffrey_df(c: np.ndarray, Phi: np.ndarray, Xt: np.ndarray, Ai: np.ndarray) -> float:
    """Satterthwaite-type df of ``c'beta`` under a sandwich covariance (Bell and McCaffrey 2002)."""
    n, K, q = Xt.shape
    pc = Phi @ c
    a = np.einsum("nab,nbj,j->na", Ai, Xt, pc)  # (n, K) columns of the block-diagonal Z
    XtZ = np.einsum("naj,na->jn", Xt, a)  # (q, n)
    G = np.zeros((n, K, n))
    G[np.arange(n), :, np.arange(n)] = a
    G = G - np.einsum("nkj,jl,lm->nkm", Xt, Phi, XtZ, optimize=True)
    G = G.reshape(n * K, n)
    M = G.T @ G
    return float(np.trace(M) ** 2 / np.sum(M * M))


def t_test(est: float, var: float, df: float) -> tuple[float, float, float]:
    se = float(np.sqrt(var))
    t = est / se
    p = (
        float(2.0 * stats.t.sf(abs(t), df))
        if np.isfinite(df)
        else float(2.0 * stats.norm.sf(abs(t)))
    )
    return se, t, p
