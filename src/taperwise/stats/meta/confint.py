"""Confidence intervals for tau^2, tau, I^2 and H^2 (metafor ``confint.rma.uni``).

``type="QP"`` (default): the Q-profile method (Viechtbauer 2007), bounds where the generalised
Q statistic equals the chi-square quantiles with k-p df. ``type="PL"``: profile likelihood
(ML or REML, as the fitted model), bounds where the likelihood-ratio statistic equals the
chi-square(1) quantile. Roots are solved tightly (Brent, xtol 1e-12) with ``solver="exact"``;
metafor solves them with ``uniroot``'s default tolerance (~1e-4), which ``solver="metafor"`` repeats.
I^2 and H^2 bounds are transformations of the tau^2 bounds with the "typical" sampling variance
(k-p)/tr(P) of the fitted model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats
from scipy.optimize import brentq

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.provenance import provenance
from taperwise.stats.meta._fit import alpha_from_level
from taperwise.stats.meta._tau2 import R_UNIROOT_TOL, loglik, q_gen, zeroin
from taperwise.stats.meta.rma import RMAResult


@dataclass(frozen=True, eq=False)
class TauConfint:
    """Estimates and CIs for tau^2, tau, I^2 (%) and H^2.

    Examples
    --------
    >>> from taperwise.stats.meta import RMA
    >>> res = RMA(method="DL").fit(yi=[0.1, 0.5, 0.9, -0.2], vi=[0.02, 0.03, 0.05, 0.04])
    >>> ci = confint_tau2(res)
    >>> list(ci.table().index)
    ['tau2', 'tau', 'I2', 'H2']
    """

    type: str
    level: float
    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    I2: tuple[float, float, float]
    H2: tuple[float, float, float]
    provenance: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per quantity: estimate, ci_lb, ci_ub."""
        rows = {"tau2": self.tau2, "tau": self.tau, "I2": self.I2, "H2": self.H2}
        return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "ci_lb", "ci_ub"])

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise meta confint``."""
        out: dict[str, Any] = {"type": self.type, "level": self.level}
        for name in ("tau2", "tau", "I2", "H2"):
            est, lb, ub = getattr(self, name)
            out[name] = {"estimate": est, "ci_lb": lb, "ci_ub": ub}
        out["provenance"] = self.provenance
        return out


def _root(f: Callable[[float], float], lo: float, hi_start: float) -> float:
    """Root of a decreasing-then-crossing function on [lo, inf), expanding the upper bound."""
    hi = max(hi_start, 1e-4)
    for _ in range(200):
        if f(hi) < 0:
            return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))
        lo, hi = hi, hi * 2
    raise ConvergenceError("confint: could not bracket the upper bound for tau^2")


def _zeroin_root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """metafor's search: R ``uniroot`` on [lo, hi] with tol eps^0.25 (display accuracy only)."""
    return zeroin(f, lo, hi, f(lo), f(hi), R_UNIROOT_TOL, 1000)


def confint_tau2(
    res: RMAResult,
    *,
    type: str = "QP",  # noqa: A002 - metafor's name
    level: float | None = None,
    solver: str | None = None,
) -> TauConfint:
    """CIs for tau^2 / tau / I^2 / H^2 of a random-effects model (see module docstring).

    ``solver="exact"`` solves the bound equations to ~1e-12; ``solver="metafor"`` repeats
    metafor's ``uniroot`` search (interval [0, max(100, 10 tau^2)], tol eps^0.25), whose roots are
    accurate to ~1e-4 only but reproduce metafor's printed I^2/H^2 bounds. Default: ``"metafor"``
    for fits with ``stopping="metafor"``, else ``"exact"``.
    """
    solver = solver or ("metafor" if res.stopping == "metafor" else "exact")
    if solver not in ("metafor", "exact"):
        raise ValidationError(f"confint: solver '{solver}' not supported; allowed: metafor, exact")
    mf = solver == "metafor"
    kind = type.upper()
    if kind not in ("QP", "PL"):
        raise ValidationError(f"confint: type '{type}' not supported; allowed: QP, PL")
    if res.method in ("EE", "FE", "CE"):
        raise ValidationError("confint: an equal-effects model has no tau^2 to bound")
    level = res.level if level is None else level
    alpha = alpha_from_level(level)
    y, v, X = res.yi, res.vi, res.X
    k, p = X.shape
    yc = y - y.mean()
    tau2 = res.tau2
    t_max = max(100.0, 10 * tau2)
    if kind == "QP":
        df = k - p
        q_hi = float(stats.chi2.isf(alpha / 2, df))
        q_lo = float(stats.chi2.ppf(alpha / 2, df))
        q0 = q_gen(0.0, yc, v, X)
        if q0 < q_hi:
            lb = 0.0
        else:
            fl = lambda t: q_gen(t, yc, v, X) - q_hi  # noqa: E731
            lb = _zeroin_root(fl, 0.0, t_max) if mf else _root(fl, 0.0, max(tau2, 0.01))
        if q0 < q_lo:
            ub = 0.0
        else:
            fu = lambda t: q_gen(t, yc, v, X) - q_lo  # noqa: E731
            ub = _zeroin_root(fu, 0.0, t_max) if mf else _root(fu, lb, max(tau2 * 2, 0.1))
    else:
        reml = res.method == "REML"
        if res.method not in ("ML", "REML"):
            raise ValidationError("confint: profile-likelihood CIs need an ML or REML fit")
        ll_max = loglik(yc, v, X, tau2, reml=reml)
        crit = float(stats.chi2.isf(alpha, 1))

        def g(t: float) -> float:
            return crit - 2 * (ll_max - loglik(yc, v, X, t, reml=reml))

        if tau2 <= 0 or g(0.0) > 0:
            lb = 0.0
        else:
            lb = (
                _zeroin_root(g, 0.0, tau2)
                if mf
                else float(brentq(g, 0.0, tau2, xtol=1e-12, rtol=1e-12))
            )
        ub = _zeroin_root(g, tau2, t_max) if mf else _root(g, tau2, max(2 * tau2, 0.1))
    vt = res.core.vt

    def i2(t: float) -> float:
        return 100 * t / (vt + t)

    def h2(t: float) -> float:
        return t / vt + 1

    prov = provenance(
        {"type": kind, "level": level, "solver": solver},
        None,
        engine="taperwise.stats.meta.confint_tau2",
    )
    return TauConfint(
        type=kind,
        level=level,
        tau2=(tau2, lb, ub),
        tau=(math.sqrt(tau2), math.sqrt(lb), math.sqrt(ub)),
        I2=(res.I2, i2(lb), i2(ub)),
        H2=(res.H2, h2(lb), h2(ub)),
        provenance=prov,
    )
