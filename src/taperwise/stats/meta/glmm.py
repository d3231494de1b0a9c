"""Generalized linear (mixed) models for 2x2 tables, log odds ratio (metafor ``rma.glmm``).

Models (``measure="OR"``), following metafor's definitions (default ``coding=1/2``):

``UM.FS``
    unconditional logistic model with fixed study intercepts ``a_i``:
    ``logit p_treat = a_i + b + v_i/2``, ``logit p_ctrl = a_i - v_i/2`` with
    ``v_i ~ N(0, tau^2)`` (``method="ML"``) or ``v_i = 0`` (``method="EE"``). The random effect is
    integrated out by adaptive Gauss-Hermite quadrature with ``nagq`` nodes (metafor/lme4 default 7).
``UM.RS``
    unconditional logistic model with random study intercepts:
    ``logit p_treat = c + u_i + b + v_i/2``, ``logit p_ctrl = c + u_i - v_i/2`` with independent
    ``u_i ~ N(0, sigma^2)`` and ``v_i ~ N(0, tau^2)``. lme4 can only use the Laplace approximation
    (``nAGQ=1``) for two random effects per study, so that is the default here for ML
    (``nagq=1``); for EE (random intercepts only) the default is 7 nodes, as in metafor.
``CM.EL``
    conditional model (exact likelihood): given the total number of events of a study, the
    treatment-arm count follows Fisher's noncentral hypergeometric distribution with log odds
    ratio ``theta_i = b`` (EE) or ``theta_i ~ N(b, tau^2)`` (ML; the integral is evaluated by
    adaptive Gauss-Hermite quadrature with ``nagq_cm`` nodes, accurate to ~1e-12).

Studies with no events (or only events) in both arms are dropped (metafor ``drop00=TRUE``).
Estimates maximise the (approximate) marginal likelihood by Newton-Raphson with numerically
differentiated gradients/Hessians; ``vcov`` is the treatment element of the inverse observed
information over all parameters (study intercepts and variance components included).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.provenance import provenance
from taperwise.stats.meta._design import as_vector
from taperwise.stats.meta._fit import alpha_from_level

log = logging.getLogger(__name__)

GLMM_MODELS = ("UM.FS", "UM.RS", "CM.EL")
GLMM_METHODS = ("EE", "ML")

_LL = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class RMAGLMMResult:
    """Result of :class:`RMAGLMM` (log odds ratio scale).

    Examples
    --------
    >>> res = RMAGLMM(model="CM.EL", method="EE").fit(ai=[2, 5], bi=[98, 95], ci=[6, 9], di=[94, 91])
    >>> res.estimate < 0
    True
    """

    model: str
    method: str
    measure: str
    test: str
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    vcov: float
    tau2: float
    sigma2: float | None
    ddf: float | None
    loglik: float
    nagq: int
    level: float = 95
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def tval(self) -> float | None:
        """The test statistic when ``test="t"`` (else ``None``)."""
        return self.zval if self.test == "t" else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        out = {
            "model": self.model,
            "method": self.method,
            "measure": self.measure,
            "test": self.test,
            "k": self.k,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "vcov": self.vcov,
            "tau2": self.tau2,
            "sigma2": self.sigma2,
            "ddf": self.ddf,
            "loglik": self.loglik,
            "nagq": self.nagq,
            "exp_estimate": math.exp(self.estimate),
            "exp_ci_lb": math.exp(self.ci_lb),
            "exp_ci_ub": math.exp(self.ci_ub),
            "provenance": self.provenance,
        }
        return out


# ---------------------------------------------------------------------------------------------
# numerical Newton-Raphson for "per-study log-likelihood" functions with separable intercepts


def _derivs(f: _LL, a: np.ndarray, t: np.ndarray, h: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Objective, gradient and Hessian of sum f(a, t) where f_i depends on a_i only (and t)."""
    k, p = len(a), len(t)
    f0 = f(a, t)
    g = np.zeros(k + p)
    H = np.zeros((k + p, k + p))
    if k:
        fp, fm = f(a + h, t), f(a - h, t)
        g[:k] = (fp - fm) / (2 * h)
        H[np.arange(k), np.arange(k)] = (fp - 2 * f0 + fm) / h**2
    for j in range(p):
        ej = np.zeros(p)
        ej[j] = h
        fpj, fmj = f(a, t + ej), f(a, t - ej)
        g[k + j] = np.sum(fpj - fmj) / (2 * h)
        H[k + j, k + j] = np.sum(fpj - 2 * f0 + fmj) / h**2
        if k:
            cross = (f(a + h, t + ej) - f(a + h, t - ej) - f(a - h, t + ej) + f(a - h, t - ej)) / (
                4 * h**2
            )
            H[:k, k + j] = H[k + j, :k] = cross
        for m in range(j):
            em = np.zeros(p)
            em[m] = h
            v = np.sum(
                f(a, t + ej + em) - f(a, t + ej - em) - f(a, t - ej + em) + f(a, t - ej - em)
            )
            H[k + j, k + m] = H[k + m, k + j] = v / (4 * h**2)
    return float(np.sum(f0)), g, H


def _maximise(
    f: _LL, a0: np.ndarray, t0: np.ndarray, *, h: float = 1e-4, tol: float = 1e-10, maxit: int = 200
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Maximise sum f(a, t) by damped Newton; returns (a, t, loglik, Hessian at the optimum)."""
    a, t = np.asarray(a0, float).copy(), np.asarray(t0, float).copy()
    k = len(a)
    val, g, H = _derivs(f, a, t, h)
    for it in range(maxit):
        lam = 0.0
        while True:
            M = -H + lam * np.eye(len(g))
            try:
                L = np.linalg.cholesky(M)
                break
            except np.linalg.LinAlgError:
                lam = max(2 * lam, 1e-6 * max(1.0, float(np.abs(np.diag(H)).max())))
        step = np.linalg.solve(L.T, np.linalg.solve(L, g))
        s = 1.0
        for _ in range(60):
            an, tn = a + s * step[:k], t + s * step[k:]
            vn = float(np.sum(f(an, tn)))
            if np.isfinite(vn) and vn >= val - 1e-12 * max(1.0, abs(val)):
                break
            s /= 2
        else:
            raise ConvergenceError("rma.glmm: Newton-Raphson line search failed")
        a, t = an, tn
        val, g, H = _derivs(f, a, t, h)
        if np.max(np.abs(s * step)) < tol:
            log.debug("rma.glmm converged after %d iterations", it + 1)
            return a, t, val, H
    raise ConvergenceError(f"rma.glmm: Newton-Raphson did not converge in {maxit} iterations")


# ---------------------------------------------------------------------------------------------
# per-study log-likelihoods


def _binom_ll(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood kernel (without the binomial coefficient) on the logit scale."""
    return x * eta - n * np.logaddexp(0.0, eta)


def _um_fs_ll(x1, n1, x2, n2, nagq: int) -> _LL:
    gh_x, gh_w = np.polynomial.hermite.hermgauss(nagq)

    def ll(a: np.ndarray, t: np.ndarray) -> np.ndarray:
        b, tau = t[0], t[1] if len(t) > 1 else 0.0
        if tau == 0.0:
            return _binom_ll(x1, n1, a + b) + _binom_ll(x2, n2, a)
        c = tau / 2
        z = np.zeros_like(a)
        for _ in range(100):  # conditional modes of h(z) = l(z) - z^2/2 (concave)
            pt, pc = special.expit(a + b + c * z), special.expit(a - c * z)
            d1 = c * (x1 - n1 * pt) - c * (x2 - n2 * pc) - z
            d2 = -(c**2) * (n1 * pt * (1 - pt) + n2 * pc * (1 - pc)) - 1.0
            dz = -d1 / d2
            z = z + dz
            if np.max(np.abs(dz)) < 1e-13:
                break
        pt, pc = special.expit(a + b + c * z), special.expit(a - c * z)
        d2 = -(c**2) * (n1 * pt * (1 - pt) + n2 * pc * (1 - pc)) - 1.0
        s = 1.0 / np.sqrt(-d2)
        zz = z[:, None] + math.sqrt(2) * s[:, None] * gh_x[None, :]
        hz = (
            _binom_ll(x1[:, None], n1[:, None], a[:, None] + b + c * zz)
            + _binom_ll(x2[:, None], n2[:, None], a[:, None] - c * zz)
            - zz**2 / 2
        )
        lw = np.log(gh_w)[None, :] + gh_x[None, :] ** 2 + hz
        return (
            special.logsumexp(lw, axis=1) + np.log(math.sqrt(2) * s) - 0.5 * math.log(2 * math.pi)
        )

    return ll


def _um_rs_ll(x1, n1, x2, n2, nagq: int) -> _LL:
    gh_x, gh_w = np.polynomial.hermite.hermgauss(max(nagq, 1))

    def ll(_a: np.ndarray, t: np.ndarray) -> np.ndarray:
        c0, b, sig, tau = t
        k = len(x1)
        z = np.zeros((k, 2))
        load = np.array([[sig, tau / 2], [sig, -tau / 2]])  # rows: treat, control

        def grad_hess(z):
            et = c0 + b + z @ load[0]
            ec = c0 + z @ load[1]
            rt, rc = x1 - n1 * special.expit(et), x2 - n2 * special.expit(ec)
            wt = n1 * special.expit(et) * special.expit(-et)
            wc = n2 * special.expit(ec) * special.expit(-ec)
            g = rt[:, None] * load[0] + rc[:, None] * load[1] - z
            Hm = -(
                wt[:, None, None] * np.outer(load[0], load[0])
                + wc[:, None, None] * np.outer(load[1], load[1])
            ) - np.eye(2)
            return g, Hm

        for _ in range(100):
            g, Hm = grad_hess(z)
            dz = -np.linalg.solve(Hm, g[..., None])[..., 0]
            z = z + dz
            if np.max(np.abs(dz)) < 1e-13:
                break
        _, Hm = grad_hess(z)
        if nagq <= 1:  # Laplace
            et, ec = c0 + b + z @ load[0], c0 + z @ load[1]
            hz = _binom_ll(x1, n1, et) + _binom_ll(x2, n2, ec) - np.sum(z**2, axis=1) / 2
            return hz - 0.5 * np.log(np.linalg.det(-Hm))
        # product adaptive Gauss-Hermite rule
        Lc = np.linalg.cholesky(np.linalg.inv(-Hm))  # (k, 2, 2)
        nx, ny = np.meshgrid(gh_x, gh_x, indexing="ij")
        nodes = np.stack([nx.ravel(), ny.ravel()], axis=1) * math.sqrt(2)  # (q, 2)
        lwq = (np.log(gh_w)[:, None] + np.log(gh_w)[None, :]).ravel() + np.sum(nodes**2, axis=1) / 2
        zz = z[:, None, :] + np.einsum("kij,qj->kqi", Lc, nodes)
        et = c0 + b + zz @ load[0]
        ec = c0 + zz @ load[1]
        hz = _binom_ll(x1[:, None], n1[:, None], et) + _binom_ll(x2[:, None], n2[:, None], ec)
        hz = hz - np.sum(zz**2, axis=2) / 2
        logdet = np.log(np.linalg.det(Lc))
        return (
            special.logsumexp(hz + lwq[None, :], axis=1)
            + logdet
            + math.log(2)
            - math.log(2 * math.pi)
        )

    return ll


def _cm_support(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Support grid (padded) and log weights of Fisher's noncentral hypergeometric per study."""
    tot = x1 + x2
    lo = np.maximum(0, tot - n2)
    hi = np.minimum(n1, tot)
    width = int(np.max(hi - lo)) + 1
    u = lo[:, None] + np.arange(width)[None, :]
    valid = u <= hi[:, None]
    uc = np.where(valid, u, lo[:, None])
    lw = (
        special.gammaln(n1 + 1)[:, None]
        - special.gammaln(uc + 1)
        - special.gammaln(n1[:, None] - uc + 1)
    )
    m = tot[:, None] - uc
    lw += (
        special.gammaln(n2 + 1)[:, None]
        - special.gammaln(m + 1)
        - special.gammaln(n2[:, None] - m + 1)
    )
    lw = np.where(valid, lw, -np.inf)
    return uc.astype(float), lw, valid


def _cm_logpmf(theta: np.ndarray, x1, u, lw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log pmf of x1 and its first two derivatives in theta; theta shape (k,) or (k, q)."""
    th = theta[..., None]
    uu = u if theta.ndim == 1 else u[:, None, :]
    ll = lw if theta.ndim == 1 else lw[:, None, :]
    xx = x1 if theta.ndim == 1 else x1[:, None]
    e = ll + uu * th
    lnorm = special.logsumexp(e, axis=-1)
    pr = np.exp(e - lnorm[..., None])
    mean = np.sum(pr * uu, axis=-1)
    var = np.sum(pr * uu**2, axis=-1) - mean**2
    lx = special.logsumexp(np.where(uu == xx[..., None], ll, -np.inf), axis=-1)
    return lx + xx * theta - lnorm, xx - mean, -var


def _cm_el_ll(x1, n1, x2, n2, nq: int) -> _LL:
    u, lw, _ = _cm_support(x1, n1, x2, n2)
    gh_x, gh_w = np.polynomial.hermite.hermgauss(nq)

    def ll(_a: np.ndarray, t: np.ndarray) -> np.ndarray:
        b = t[0]
        if len(t) == 1 or t[1] == 0.0:
            return _cm_logpmf(np.full(len(x1), b), x1, u, lw)[0]
        tau = t[1]
        z = np.zeros(len(x1))
        for _ in range(100):
            _, d1, d2 = _cm_logpmf(b + tau * z, x1, u, lw)
            dz = -(tau * d1 - z) / (tau**2 * d2 - 1.0)
            z = z + dz
            if np.max(np.abs(dz)) < 1e-13:
                break
        _, _, d2 = _cm_logpmf(b + tau * z, x1, u, lw)
        s = 1.0 / np.sqrt(1.0 - tau**2 * d2)
        zz = z[:, None] + math.sqrt(2) * s[:, None] * gh_x[None, :]
        lp = _cm_logpmf(b + tau * zz, x1, u, lw)[0] - zz**2 / 2
        lwq = np.log(gh_w)[None, :] + gh_x[None, :] ** 2 + lp
        return (
            special.logsumexp(lwq, axis=1) + np.log(math.sqrt(2) * s) - 0.5 * math.log(2 * math.pi)
        )

    return ll


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RMAGLMM:
    """metafor ``rma.glmm`` for the log odds ratio (UM.FS, UM.RS, CM.EL; EE or ML).

    Parameters
    ----------
    measure : only ``"OR"``.
    model : ``"UM.FS"`` (fixed study intercepts), ``"UM.RS"`` (random study intercepts) or
        ``"CM.EL"`` (conditional model, exact likelihood).
    method : ``"EE"`` (equal effects) or ``"ML"`` (random effects by maximum likelihood).
    test : ``"z"`` or ``"t"`` (t with k - 1 degrees of freedom, as metafor).
    level : confidence level in percent.
    nagq : quadrature nodes for the unconditional models; ``None`` means metafor's choice
        (7, but Laplace = 1 for UM.RS with ML).
    nagq_cm : quadrature nodes for CM.EL ML (the exact integral to ~1e-12 at the default).

    Examples
    --------
    >>> res = RMAGLMM(model="UM.FS", method="EE").fit(
    ...     ai=[2, 5, 1], bi=[98, 95, 60], ci=[6, 9, 4], di=[94, 91, 61]
    ... )
    >>> res.k
    3
    """

    measure: str = "OR"
    model: str = "UM.FS"
    method: str = "ML"
    test: str = "z"
    level: float = 95
    nagq: int | None = None
    nagq_cm: int = 41

    def fit(
        self,
        *,
        ai: Any,
        bi: Any = None,
        ci: Any,
        di: Any = None,
        n1i: Any = None,
        n2i: Any = None,
        data: pd.DataFrame | None = None,
    ) -> RMAGLMMResult:
        """Fit the model to 2x2 tables (``bi``/``di`` or the arm sizes ``n1i``/``n2i``)."""
        measure, model, method = (
            str(self.measure).upper(),
            str(self.model).upper(),
            str(self.method).upper(),
        )
        if method == "FE":
            method = "EE"
        if measure != "OR":
            raise ValidationError(f"rma.glmm: measure '{self.measure}' not supported; allowed: OR")
        if model not in GLMM_MODELS:
            raise ValidationError(
                f"rma.glmm: model '{self.model}' not supported; allowed: {', '.join(GLMM_MODELS)}"
            )
        if method not in GLMM_METHODS:
            raise ValidationError(
                f"rma.glmm: method '{self.method}' not supported; allowed: EE, ML"
            )
        if self.test not in ("z", "t"):
            raise ValidationError(f"rma.glmm: test '{self.test}' not supported; allowed: z, t")
        alpha = alpha_from_level(self.level)
        x1 = as_vector("ai", ai, data)
        x2 = as_vector("ci", ci, data)
        n1 = as_vector("n1i", n1i, data) if bi is None else x1 + as_vector("bi", bi, data)
        n2 = as_vector("n2i", n2i, data) if di is None else x2 + as_vector("di", di, data)
        if not (len(x1) == len(x2) == len(n1) == len(n2)):
            raise ValidationError("rma.glmm: ai, bi (n1i), ci, di (n2i) must have the same length")
        keep = np.isfinite(x1) & np.isfinite(x2) & np.isfinite(n1) & np.isfinite(n2)
        x1, x2, n1, n2 = x1[keep], x2[keep], n1[keep], n2[keep]
        if np.any(x1 < 0) or np.any(x2 < 0) or np.any(x1 > n1) or np.any(x2 > n2):
            raise ValidationError("rma.glmm: cell counts must be >= 0 and events <= arm size")
        if np.any(np.concatenate([x1, x2, n1, n2]) != np.round(np.concatenate([x1, x2, n1, n2]))):
            raise ValidationError("rma.glmm: cell counts must be whole numbers")
        ev = x1 + x2
        ok = (n1 > 0) & (n2 > 0) & (ev > 0) & (ev < n1 + n2)  # drop00 = TRUE
        x1, x2, n1, n2 = x1[ok], x2[ok], n1[ok], n2[ok]
        k = len(x1)
        if k < 1 or (method == "ML" and k < 2):
            raise ValidationError(
                f"rma.glmm: too few informative studies (k = {k}) for method {method}"
            )

        # starting value: MH-type log OR with 1/2 added
        b0 = float(
            np.log(
                np.sum((x1 + 0.5) * (n2 - x2 + 0.5) / (n1 + n2))
                / np.sum((x2 + 0.5) * (n1 - x1 + 0.5) / (n1 + n2))
            )
        )
        a0 = np.log((x2 + 0.5) / (n2 - x2 + 0.5))
        sigma2 = None
        nagq = (
            self.nagq if self.nagq is not None else (1 if (model, method) == ("UM.RS", "ML") else 7)
        )
        if model == "UM.FS":
            f = _um_fs_ll(x1, n1, x2, n2, nagq)
            a, t, val, H = _maximise(f, a0, np.array([b0]))
            if method == "ML":
                a, t, val, H = _maximise(f, a, np.array([t[0], 0.5]))
            ib = k
            c_ll = _lchoose(n1, x1) + _lchoose(n2, x2)
        elif model == "UM.RS":
            f = _um_rs_ll(x1, n1, x2, n2, nagq)
            tau0 = 0.5 if method == "ML" else 0.0
            fe = (
                f
                if method == "ML"
                else (lambda a_, t_: f(a_, np.array([t_[0], t_[1], t_[2], 0.0])))
            )
            start = np.array([float(np.mean(a0)), b0, 0.5] + ([tau0] if method == "ML" else []))
            a, t, val, H = _maximise(fe, np.zeros(0), start)
            ib = 1
            sigma2 = float(t[2] ** 2)
            c_ll = _lchoose(n1, x1) + _lchoose(n2, x2)
        else:
            f = _cm_el_ll(x1, n1, x2, n2, self.nagq_cm)
            a, t, val, H = _maximise(f, np.zeros(0), np.array([b0]))
            if method == "ML":
                a, t, val, H = _maximise(f, a, np.array([t[0], 0.5]))
            ib = 0
            c_ll = np.zeros(1)
        tau2 = float(t[-1] ** 2) if method == "ML" else 0.0
        info = -H
        if (
            method == "ML" and abs(t[-1]) < 1e-5
        ):  # tau at the boundary: drop it from the information
            info = info[:-1, :-1]
        try:
            vcov = float(np.linalg.inv(info)[ib, ib])
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("rma.glmm: the information matrix is singular") from exc
        est = float(t[0]) if model != "UM.RS" else float(t[1])
        se = math.sqrt(vcov)
        zval = est / se
        if self.test == "t":
            ddf = float(k - 1)
            pval = float(2 * stats.t.sf(abs(zval), ddf))
            crit = float(stats.t.isf(alpha / 2, ddf))
        else:
            ddf = None
            pval = float(2 * stats.norm.sf(abs(zval)))
            crit = float(stats.norm.isf(alpha / 2))
        prov = provenance(
            {"measure": measure, "model": model, "method": method, "test": self.test, "level": self.level,
             "nagq": nagq if model != "CM.EL" else self.nagq_cm, "drop00": True},
            None,
            engine="taperwise.stats.meta.RMAGLMM",
            reference="metafor rma.glmm (coding=1/2, cor=FALSE)",
        )  # fmt: skip
        return RMAGLMMResult(
            model=model, method=method, measure=measure, test=self.test, k=k, estimate=est, se=se,
            zval=zval, pval=pval, ci_lb=est - crit * se, ci_ub=est + crit * se, vcov=vcov, tau2=tau2,
            sigma2=sigma2, ddf=ddf, loglik=float(val + np.sum(c_ll)),
            nagq=nagq if model != "CM.EL" else self.nagq_cm, level=self.level, provenance=prov,
        )  # fmt: skip


def _lchoose(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
