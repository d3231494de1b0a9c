"""Cluster-robust (sandwich) inference for a fitted model (metafor ``robust.rma.uni``).

``type="CR1"`` (metafor's default): vcov = B M B with B = (X'WX)^-1 and
M = sum over clusters of (X_c' W_c e_c)(X_c' W_c e_c)', times n/(n - p) (n clusters) when
``adjust=True``; t tests (and an F test for QM) with n - p degrees of freedom.

``type="CR2"`` (``robust(..., clubSandwich=TRUE)`` in metafor, i.e. clubSandwich's CR2 with the
model's inverse-variance working weights): the residuals of cluster c are multiplied by
A_c = W_c^-1/2 (S_cc)^-1/2 W_c^1/2 with S = I - W^1/2 X B X' W^1/2 (the Bell-McCaffrey
adjustment), and each coefficient is tested with Satterthwaite degrees of freedom
(Pustejovsky & Tipton 2018): nu = (sum_c u_c' V u_c)^2 / sum_c,d (u_c' V u_d)^2 under the working
model V = diag(v + tau^2). The QM test uses F(m, min df) for CR2 (clubSandwich's HTZ test is not
implemented).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

from taperwise.errors import ValidationError
from taperwise.stats.meta._fit import alpha_from_level
from taperwise.stats.meta.rma import RMAResult


def _inv_sqrt_sym(S: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(S)
    if np.any(vals <= 1e-12):
        raise ValidationError("robust: a cluster has leverage 1; CR2 is not defined")
    return (vecs / np.sqrt(vals)) @ vecs.T


def robust(
    res: RMAResult,
    *,
    cluster: Any = None,
    adjust: bool = True,
    type: str = "CR1",  # noqa: A002 - the usual name
) -> RMAResult:
    """Cluster-robust inference for ``res`` (see module docstring).

    ``cluster``: one label per study (default: each study its own cluster). Returns an
    :class:`RMAResult` whose ``test`` is ``"robust"``; ``predict()`` uses the robust variance and
    the first coefficient's degrees of freedom.

    Examples
    --------
    >>> from taperwise.stats.meta import RMA
    >>> res = RMA(method="DL").fit(yi=[0.1, 0.5, 0.9, -0.2], vi=[0.02, 0.03, 0.05, 0.04])
    >>> robust(res).test, robust(res, type="CR2").test
    ('robust', 'robust')
    """
    kind = type.upper()
    if kind not in ("CR1", "CR2"):
        raise ValidationError(f"robust: type '{type}' not supported; allowed: CR1, CR2")
    k, p = res.k, res.p
    cl = np.arange(k) if cluster is None else np.asarray(cluster)
    if len(cl) != k:
        raise ValidationError(f"robust: cluster has {len(cl)} labels; the model has {k} studies")
    groups = [np.flatnonzero(cl == g) for g in dict.fromkeys(cl.tolist())]
    n = len(groups)
    if n <= p:
        raise ValidationError(f"robust: {n} clusters are too few for {p} coefficients")
    c = res.core
    w = c.wi
    X = res.X
    WX = X * w[:, None]
    bread = np.linalg.inv(X.T @ WX)
    e = res.yi - X @ c.beta
    meat = np.zeros((p, p))
    alpha = alpha_from_level(res.level)
    if kind == "CR1":
        for idx in groups:
            u = WX[idx].T @ e[idx]
            meat += np.outer(u, u)
        vb = bread @ meat @ bread * (n / (n - p) if adjust else 1.0)
        ddf = np.full(p, float(n - p))
    else:
        sw = np.sqrt(w)
        S = np.eye(k) - (X * sw[:, None]) @ bread @ (X * sw[:, None]).T
        H = X @ bread @ WX.T
        ImH = np.eye(k) - H
        rows = []  # per cluster: (p x n_c) matrix X_c' W_c A_c
        for idx in groups:
            A = (_inv_sqrt_sym(S[np.ix_(idx, idx)]) * sw[idx][None, :]) / sw[idx][:, None]
            XWA = WX[idx].T @ A
            u = XWA @ e[idx]
            meat += np.outer(u, u)
            rows.append((idx, XWA))
        vb = bread @ meat @ bread
        phi = 1 / w
        ddf = np.empty(p)
        for j in range(p):
            cj = bread[j]
            U = np.stack([ImH[idx].T @ (cj @ XWA) for idx, XWA in rows])  # clusters x k
            G = (U * phi[None, :]) @ U.T
            ddf[j] = np.trace(G) ** 2 / np.sum(G * G)
    se = np.sqrt(np.diag(vb))
    tval = c.beta / se
    crits = stats.t.isf(alpha / 2, ddf)
    btt = list(range(1, p)) if p > 1 and res.term_names[0] == "intrcpt" else list(range(p))
    bb = c.beta[btt]
    qm = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb)) / len(btt)
    qdf = float(ddf[btt].min())
    core = replace(
        c, vb=vb, se=se, zval=tval, pval=2 * stats.t.sf(np.abs(tval), ddf), ci_lb=c.beta - crits * se,
        ci_ub=c.beta + crits * se, crit=float(crits[0]), ddf=float(ddf[0]), QM=qm,
        QMp=float(stats.f.sf(qm, len(btt), qdf)), QMdf=(float(len(btt)), qdf),
    )  # fmt: skip
    return replace(res, test="robust", core=core)
