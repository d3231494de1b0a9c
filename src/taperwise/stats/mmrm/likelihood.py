"""(Restricted) likelihood of the MMRM with exact gradient and observed information.

Subjects are grouped by missingness pattern (and covariance group).  Inside a pattern the data
enter the likelihood only through the moment tensors

``MXX[a, b] = sum_i x_ia x_ib'``, ``MXy[a, b] = sum_i x_ia y_ib``, ``Myy[a, b] = sum_i y_ia y_ib``

(``a``, ``b`` visits), so after one pass over the data every evaluation costs
O(patterns x visits^2 x coefficients^2), independent of the number of subjects.  Each pattern's
covariance is padded to the full visit set with an identity block, which lets numpy factor all
patterns in one batched call.  Observation weights ``w`` enter as ``Sigma_i = W^-1/2 Sigma W^-1/2``:
the data are pre-scaled by ``sqrt(w)`` and ``-sum(log w)`` is added to ``-2 log L``.

All quantities refer to the criterion ``f = -2 log L`` (REML or ML) with ``beta`` profiled out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from taperwise.stats.mmrm.covariance import Structure
from taperwise.stats.mmrm.formula import Design

LOG2PI = float(np.log(2.0 * np.pi))


@dataclass
class Problem:
    """Pattern-grouped data of one fit plus the covariance structure."""

    structure: Structure
    n_groups: int
    reml: bool
    mask: np.ndarray  # (P, K) bool
    pat_group: np.ndarray  # (P,)
    n_pat: np.ndarray  # (P,) subjects per pattern
    dist: np.ndarray | None  # (P, K, K) for spatial structures
    MXX: np.ndarray  # (P, K, K, q, q)
    MXy: np.ndarray  # (P, K, K, q)
    Myy: np.ndarray  # (P, K, K)
    n_obs: int
    n_coef: int
    n_subjects: int
    log_w_sum: float
    # per-subject layout, for sandwich estimators and residuals
    subj_pattern: np.ndarray = field(repr=False)  # (n_subjects,)
    Yp: np.ndarray = field(repr=False)  # (n_subjects, K) scaled, zero-padded
    Xp: np.ndarray = field(repr=False)  # (n_subjects, K, q) scaled, zero-padded

    @property
    def n_theta(self) -> int:
        return self.structure.n_theta * self.n_groups

    @property
    def K(self) -> int:
        return self.mask.shape[1]


def build_problem(design: Design, structure_name: str, *, reml: bool) -> Problem:
    """Group the subjects of ``design`` by pattern and compute the moment tensors."""
    subj = design.subject_codes
    n_sub = len(design.subject_levels)
    sw = np.sqrt(design.weights)
    y = design.y * sw
    X = design.X * sw[:, None]
    q = X.shape[1]
    starts = np.flatnonzero(np.r_[True, subj[1:] != subj[:-1]])
    counts = np.diff(np.r_[starts, len(subj)])
    slot = np.arange(len(subj)) - np.repeat(starts, counts)
    spatial = design.coords is not None
    if spatial:
        K = int(counts.max())
        m = K
    else:
        m = len(design.visit_levels)
        K = m
        slot = design.visit_codes
    Yp = np.zeros((n_sub, K))
    Xp = np.zeros((n_sub, K, q))
    Mk = np.zeros((n_sub, K), dtype=bool)
    Yp[subj, slot] = y
    Xp[subj, slot] = X
    Mk[subj, slot] = True
    sgroup = design.group_codes[starts]
    if spatial:
        d = design.coords.shape[1]
        C = np.full((n_sub, K, d), np.nan)
        C[subj, slot] = design.coords
        keys = [(int(g), tuple(np.round(C[i][Mk[i]].ravel(), 12))) for i, g in enumerate(sgroup)]
    else:
        keys = [(int(g), tuple(np.flatnonzero(Mk[i]))) for i, g in enumerate(sgroup)]
    uniq: dict = {}
    subj_pattern = np.array([uniq.setdefault(k, len(uniq)) for k in keys], dtype=np.int64)
    P = len(uniq)
    first = np.array([np.flatnonzero(subj_pattern == p)[0] for p in range(P)])
    mask = Mk[first]
    pat_group = sgroup[first]
    n_pat = np.bincount(subj_pattern, minlength=P).astype(float)
    dist = None
    if spatial:
        dist = np.zeros((P, K, K))
        for p, i in enumerate(first):
            c = C[i]
            diff = c[:, None, :] - c[None, :, :]
            dd = np.sqrt(np.nansum(diff * diff, axis=2))
            dist[p] = np.where(mask[p][:, None] & mask[p][None, :], dd, 0.0)
    MXX = np.zeros((P, K, K, q, q))
    MXy = np.zeros((P, K, K, q))
    Myy = np.zeros((P, K, K))
    order = np.argsort(subj_pattern, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(subj_pattern, minlength=P))]
    for p in range(P):
        idx = order[bounds[p] : bounds[p + 1]]
        obs = np.flatnonzero(mask[p])
        Xs = Xp[idx][:, obs]
        Ys = Yp[idx][:, obs]
        ix = np.ix_(obs, obs)
        k = obs.size
        xx = Xs.reshape(len(idx), k * q)
        MXX[p][ix] = (xx.T @ xx).reshape(k, q, k, q).transpose(0, 2, 1, 3)
        MXy[p][ix] = (xx.T @ Ys).reshape(k, q, k).transpose(0, 2, 1)
        Myy[p][ix] = Ys.T @ Ys
    structure = Structure(structure_name, m)
    return Problem(
        structure=structure,
        n_groups=len(design.group_levels),
        reml=reml,
        mask=mask,
        pat_group=pat_group,
        n_pat=n_pat,
        dist=dist,
        MXX=MXX,
        MXy=MXy,
        Myy=Myy,
        n_obs=len(y),
        n_coef=q,
        n_subjects=n_sub,
        log_w_sum=float(np.sum(np.log(design.weights))),
        subj_pattern=subj_pattern,
        Yp=Yp,
        Xp=Xp,
    )


class NotPositiveDefinite(Exception):
    """Sigma (or X' V^-1 X) is not positive definite at this theta."""


def pattern_sigma(problem: Problem, theta: np.ndarray, order: int):
    """Per-pattern covariance (P, K, K) and its derivatives w.r.t. the full theta."""
    st = problem.structure
    s = st.n_theta
    P, K = problem.mask.shape
    G = problem.n_groups
    S = np.empty((P, K, K))
    dS = np.zeros((P, G * s, K, K)) if order >= 1 else None
    d2S: list = []  # per group: (slice, pattern selector, second derivatives)
    for g in range(G):
        th = theta[g * s : (g + 1) * s]
        sel = problem.pat_group == g
        if not sel.any():
            continue
        sl = slice(g * s, (g + 1) * s)
        if problem.dist is not None:
            dist = problem.dist[sel]
            S[sel] = st.sigma(th, dist)
            if order >= 1:
                dS[sel, sl] = np.swapaxes(st.dsigma(th, dist), 0, 1)
            if order >= 2:
                d2S.append((sl, sel, np.moveaxis(st.d2sigma(th, dist), 2, 0)))
        else:
            S[sel] = st.sigma(th)
            if order >= 1:
                dS[sel, sl] = st.dsigma(th)[None]
            if order >= 2:
                d2S.append((sl, sel, st.d2sigma(th)))
    return S, dS, d2S


def _trace_pairs(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``sum_p tr(F[p, k] @ G[p, l])`` for all k, l as one matrix product."""
    nt = F.shape[1]
    a = np.ascontiguousarray(F.transpose(1, 0, 2, 3)).reshape(nt, -1)
    b = np.ascontiguousarray(G.transpose(1, 0, 3, 2)).reshape(nt, -1)
    return a @ b.T


def evaluate(problem: Problem, theta: np.ndarray, order: int = 1) -> dict:
    """``-2 log L`` (REML or ML) at ``theta``; with ``order`` >= 1 the gradient, >= 2 the Hessian.

    Raises :class:`NotPositiveDefinite` where Sigma is not a covariance matrix.
    """
    theta = np.asarray(theta, dtype=float)
    mask = problem.mask
    P, K = mask.shape
    q = problem.n_coef
    m2 = mask[:, :, None] & mask[:, None, :]
    S, dS, d2S = pattern_sigma(problem, theta, order)
    if not np.all(np.isfinite(S)):
        raise NotPositiveDefinite("non-finite covariance")
    eye = np.broadcast_to(np.eye(K), S.shape)
    Spad = np.where(m2, S, eye)
    try:
        Lc = np.linalg.cholesky(Spad)
    except np.linalg.LinAlgError as exc:
        raise NotPositiveDefinite(str(exc)) from exc
    logdet = 2.0 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum(axis=1)
    Linv = np.linalg.inv(Lc)
    Sinv = np.swapaxes(Linv, 1, 2) @ Linv
    Sinv = np.where(m2, Sinv, 0.0)
    A = np.tensordot(Sinv, problem.MXX, axes=([0, 1, 2], [0, 1, 2]))
    A = 0.5 * (A + A.T)
    b = np.tensordot(Sinv, problem.MXy, axes=([0, 1, 2], [0, 1, 2]))
    yy = float(np.tensordot(Sinv, problem.Myy, axes=([0, 1, 2], [0, 1, 2])))
    try:
        LA = np.linalg.cholesky(A)
    except np.linalg.LinAlgError as exc:
        raise NotPositiveDefinite("X' V^-1 X is singular (rank-deficient design?)") from exc
    LAinv = np.linalg.inv(LA)
    Ainv = LAinv.T @ LAinv
    beta = Ainv @ b
    rss = yy - float(b @ beta)
    n = problem.n_pat
    f = float(n @ logdet) + rss - problem.log_w_sum
    if problem.reml:
        f += 2.0 * float(np.log(np.diag(LA)).sum()) + (problem.n_obs - q) * LOG2PI
    else:
        f += problem.n_obs * LOG2PI
    out = {"f": f, "beta": beta, "A": A, "Ainv": Ainv, "Sinv": Sinv, "S": S}
    if order < 1:
        return out
    MXyb = problem.MXy @ beta  # (P, K, K)
    MXXb = problem.MXX @ beta  # (P, K, K, q)
    R = problem.Myy - MXyb - np.swapaxes(MXyb, 1, 2) + MXXb @ beta
    SR = Sinv @ R
    Gm = n[:, None, None] * Sinv - SR @ Sinv
    SH = None
    if problem.reml:
        H = np.tensordot(problem.MXX, Ainv, axes=([3, 4], [0, 1]))
        SH = Sinv @ H
        Gm = Gm - SH @ Sinv
    grad = np.einsum("pab,pkab->k", Gm, dS)
    out.update(grad=grad, dS=dS)
    if order < 2:
        return out
    F = Sinv[:, None] @ dS  # (P, n_theta, K, K)
    C = F @ Sinv[:, None]  # Sinv dS_k Sinv
    B = np.tensordot(C, problem.MXX, axes=([0, 2, 3], [0, 1, 2]))  # (n_theta, q, q)
    Mxr = problem.MXy - MXXb
    u = np.tensordot(C, Mxr, axes=([0, 2, 3], [0, 1, 2]))  # (n_theta, q)
    hess = np.zeros((theta.size, theta.size))
    for sl, sel, d2 in d2S:
        if d2.ndim == 4:  # same second derivatives for every pattern of the group
            hess[sl, sl] += np.einsum("ab,klab->kl", Gm[sel].sum(axis=0), d2)
        else:
            hess[sl, sl] += np.einsum("pab,pklab->kl", Gm[sel], d2)
    hess -= _trace_pairs(n[:, None, None, None] * F, F)
    hess += 2.0 * _trace_pairs(F, F @ SR[:, None])
    uA = u @ Ainv
    hess -= 2.0 * uA @ u.T
    if problem.reml:
        hess += 2.0 * _trace_pairs(F, F @ SH[:, None])
        AB = Ainv @ B  # (n_theta, q, q)
        hess -= np.einsum("kij,lji->kl", AB, AB)
    hess = 0.5 * (hess + hess.T)
    out.update(hess=hess, B=B, F=F, C=C)
    return out
