"""Equal-, random- and mixed-effects models for the normal-normal model (metafor ``rma.uni``).

``RMA(...)`` holds options only; :meth:`RMA.fit` validates the data, estimates tau^2
(see :mod:`taperwise.stats.meta._tau2`), the fixed effects, the tests (z, t, Knapp-Hartung),
heterogeneity statistics (Q, I^2, H^2) and fit statistics, and returns a frozen
:class:`RMAResult` carrying provenance.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.errors import ValidationError
from taperwise.provenance import provenance
from taperwise.stats.meta._design import as_vector, design_matrix
from taperwise.stats.meta._fit import STOPPING, TESTS, FitCore, alpha_from_level, fit_core
from taperwise.stats.meta._tau2 import (
    FIXED_METHODS,
    TAU2_METHODS,
    Control,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RMAResult:
    """Result of :meth:`RMA.fit` (metafor ``rma.uni`` object).

    The scalar attributes ``estimate, se, zval, pval, ci_lb, ci_ub`` describe the first
    coefficient (the pooled effect in an intercept-only model); ``coefficients`` has every term.
    """

    method: str
    test: str
    level: float
    stopping: str
    k: int
    p: int
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    term_names: list[str]
    weights: np.ndarray | None
    core: FitCore
    R2: float | None
    control: Control
    provenance: dict[str, Any] = field(default_factory=dict)

    # -- scalar views ------------------------------------------------------------------
    @property
    def beta(self) -> np.ndarray:
        return self.core.beta

    @property
    def vb(self) -> np.ndarray:
        return self.core.vb

    @property
    def estimate(self) -> float:
        return float(self.core.beta[0])

    @property
    def se(self) -> float:
        return float(self.core.se[0])

    @property
    def zval(self) -> float:
        return float(self.core.zval[0])

    @property
    def pval(self) -> float:
        return float(self.core.pval[0])

    @property
    def ci_lb(self) -> float:
        return float(self.core.ci_lb[0])

    @property
    def ci_ub(self) -> float:
        return float(self.core.ci_ub[0])

    @property
    def tau2(self) -> float:
        return self.core.tau2

    @property
    def tau(self) -> float:
        return math.sqrt(self.core.tau2)

    @property
    def se_tau2(self) -> float:
        return self.core.se_tau2

    @property
    def I2(self) -> float:  # noqa: N802 - metafor's name
        return self.core.I2

    @property
    def H2(self) -> float:  # noqa: N802
        return self.core.H2

    @property
    def QE(self) -> float:  # noqa: N802
        return self.core.QE

    @property
    def QEp(self) -> float:  # noqa: N802
        return self.core.QEp

    @property
    def QM(self) -> float:  # noqa: N802
        return self.core.QM

    @property
    def QMp(self) -> float:  # noqa: N802
        return self.core.QMp

    @property
    def ddf(self) -> float:
        return self.core.ddf

    @property
    def intercept_only(self) -> bool:
        return self.p == 1 and self.term_names == ["intrcpt"]

    @property
    def pi_lb(self) -> float:
        return float(self.predict().loc[0, "pi_lb"]) if self.intercept_only else math.nan

    @property
    def pi_ub(self) -> float:
        return float(self.predict().loc[0, "pi_ub"]) if self.intercept_only else math.nan

    @property
    def coefficients(self) -> dict[str, dict[str, float]]:
        """Per-term estimate, se, zval (or tval), pval, ci_lb, ci_ub."""
        stat = "tval" if self.test in ("t", "knha", "adhoc", "robust") else "zval"
        c = self.core
        return {
            name: {
                "estimate": float(c.beta[j]),
                "se": float(c.se[j]),
                stat: float(c.zval[j]),
                "pval": float(c.pval[j]),
                "ci_lb": float(c.ci_lb[j]),
                "ci_ub": float(c.ci_ub[j]),
            }
            for j, name in enumerate(self.term_names)
        }

    def summary(self) -> pd.DataFrame:
        """One row per term: estimate, se, zval/tval, pval, ci_lb, ci_ub."""
        return pd.DataFrame.from_dict(self.coefficients, orient="index")

    def fit_stats(self) -> dict[str, float]:
        """logLik, deviance, AIC, BIC, AICc on the ML or REML scale (as the fit's method)."""
        c, k, p = self.core, self.k, self.p
        parms = c.parms
        if self.method == "REML":
            ll = c.ll_reml
            n = k - p
            dev = -2 * ll
        else:
            ll = c.ll_ml
            n = k
            dev = c.dev_ml
        mx = max(n, parms + 2)
        return {
            "logLik": ll,
            "deviance": dev,
            "AIC": -2 * ll + 2 * parms,
            "BIC": -2 * ll + parms * math.log(n),
            "AICc": -2 * ll + 2 * parms * mx / (mx - parms - 1),
        }

    def predict(
        self, newmods: Any = None, *, transf: Any = None, level: float | None = None
    ) -> pd.DataFrame:
        """Predicted (average) effects with CIs and prediction intervals (metafor ``predict.rma``).

        ``newmods``: rows of moderator values (without the intercept column) or None for the
        intercept-only model / the fitted values. ``transf``: e.g. ``numpy.exp``.

        Examples
        --------
        >>> res = RMA(method="DL").fit(yi=[0.1, 0.3, 0.5], vi=[0.01, 0.02, 0.03])
        >>> list(res.predict().columns)
        ['pred', 'se', 'ci_lb', 'ci_ub', 'pi_lb', 'pi_ub']
        """
        c = self.core
        if newmods is None:
            Xn = np.ones((1, 1)) if self.intercept_only else self.X
        else:
            Xn = np.atleast_2d(np.asarray(newmods, dtype=float))
            if self.p == 1:
                Xn = Xn.reshape(-1, 1)
            if Xn.shape[1] == self.p - 1 and self.term_names[0] == "intrcpt":
                Xn = np.column_stack([np.ones(Xn.shape[0]), Xn])
            if Xn.shape[1] != self.p:
                raise ValidationError(
                    f"predict: newmods needs {self.p - 1} moderator values per row"
                )
        crit = c.crit
        if level is not None:
            a = alpha_from_level(level)
            crit = (
                float(stats.t.isf(a / 2, c.ddf))
                if np.isfinite(c.ddf)
                else float(stats.norm.isf(a / 2))
            )
        pred = Xn @ c.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, c.vb, Xn))
        tau2 = 0.0 if self.method in FIXED_METHODS else c.tau2
        pse = np.sqrt(se**2 + tau2)
        out = pd.DataFrame(
            {
                "pred": pred,
                "se": se,
                "ci_lb": pred - crit * se,
                "ci_ub": pred + crit * se,
                "pi_lb": pred - crit * pse,
                "pi_ub": pred + crit * pse,
            }
        )
        if transf is not None:
            for col in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
                out[col] = transf(out[col].to_numpy())
            out = out.drop(columns="se")
        return out

    def fitted(self) -> np.ndarray:
        """Fitted values X b."""
        return self.X @ self.core.beta

    def hatvalues(self) -> np.ndarray:
        """Diagonal of the hat matrix X (X'WX)^-1 X'W (W = the model weights)."""
        c = self.core
        w = c.wi
        WX = self.X * w[:, None]
        inv = np.linalg.inv(self.X.T @ WX)
        return np.einsum("ij,jk,ik->i", self.X, inv, WX)

    def rstandard(self) -> pd.DataFrame:
        """Standardised residuals (metafor ``rstandard.rma.uni``): resid, se, z."""
        c = self.core
        if self.weights is not None:
            a = self.weights
        else:
            a = 1 / (self.vi + c.tau2)
        AX = self.X * a[:, None]
        inv = np.linalg.inv(self.X.T @ AX)
        H = self.X @ inv @ AX.T
        ImH = np.eye(self.k) - H
        M = np.diag(self.vi + c.tau2)
        ve = ImH @ M @ ImH.T
        resid = self.yi - self.fitted()
        se = np.sqrt(np.diag(ve))
        return pd.DataFrame({"resid": resid, "se": se, "z": resid / se})

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise meta``."""
        stat = "tval" if self.test in ("t", "knha", "adhoc", "robust") else "zval"
        return {
            "k": self.k,
            "method": self.method,
            "test": self.test,
            "estimate": self.estimate,
            "se": self.se,
            stat: self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "tau2": self.tau2,
            "se_tau2": self.se_tau2,
            "tau": self.tau,
            "I2": self.I2,
            "H2": self.H2,
            "R2": self.R2,
            "QE": self.QE,
            "QEp": self.QEp,
            "QE_df": self.k - self.p,
            "QM": self.QM,
            "QMp": self.QMp,
            "QM_df": list(self.core.QMdf),
            "ddf": self.core.ddf,
            "coefficients": self.coefficients,
            "fit_stats": self.fit_stats(),
            "iterations": self.core.iterations,
            "provenance": self.provenance,
        }


@dataclass(frozen=True, kw_only=True)
class RMA:
    """Meta-analysis model (metafor ``rma.uni``): options only, no validation here.

    Parameters
    ----------
    method
        ``EE`` (alias ``FE``), ``DL``, ``HE``, ``HS``, ``HSK``, ``SJ``, ``ML``, ``REML``
        (default), ``EB``, ``PM``, ``GENQ`` (needs weights), ``DLIT``, ``SJIT``.
    test
        ``z`` (default), ``t`` (t with k-p df), ``knha`` (Knapp-Hartung) or ``adhoc``.
    mods
        Moderators: a formula string (``"~ ablat"``, ``"~ factor(alloc)"``) evaluated on the
        data, or an array; None for the intercept-only model.
    level
        Confidence level in percent (95) or as a fraction (0.95).
    stopping
        ``"metafor"`` (metafor's iteration and stopping rule, the default) or ``"tight"``.
    control
        Optional :class:`~taperwise.stats.meta._tau2.Control` for tau2 iteration details.

    Examples
    --------
    >>> from taperwise.stats.meta import escalc
    >>> dat = escalc("RR", ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
    >>> res = RMA(method="REML").fit(yi=dat["yi"], vi=dat["vi"])
    >>> res.k, round(res.estimate, 4)
    (3, -1.3302)
    """

    method: str = "REML"
    test: str = "z"
    mods: Any = None
    level: float = 95
    stopping: str = "metafor"
    control: Control | None = None
    btt: list[int] | None = None

    def fit(
        self,
        *,
        yi: Any,
        vi: Any = None,
        sei: Any = None,
        data: pd.DataFrame | None = None,
        weights: Any = None,
    ) -> RMAResult:
        """Validate, fit and return a frozen :class:`RMAResult`."""
        method = str(self.method).upper()
        if method == "FE" or method == "CE":
            method = "EE"
        if method not in TAU2_METHODS:
            raise ValidationError(
                f"rma: method '{self.method}' is not supported; allowed: {', '.join(TAU2_METHODS)}"
            )
        test = str(self.test).lower()
        if test == "hksj":
            test = "knha"
        if test not in TESTS:
            raise ValidationError(
                f"rma: test '{self.test}' is not supported; allowed: z, t, knha, adhoc"
            )
        if self.stopping not in STOPPING:
            raise ValidationError(
                f"rma: stopping '{self.stopping}' is not supported; allowed: metafor, tight"
            )
        alpha_from_level(self.level)
        if isinstance(yi, pd.DataFrame) and data is None:
            data = yi
            yi, vi = "yi", "vi"
        y = as_vector("yi", yi, data)
        if vi is None and sei is None:
            raise ValidationError("rma: give vi (sampling variances) or sei (standard errors)")
        v = as_vector("vi", vi, data) if vi is not None else as_vector("sei", sei, data) ** 2
        if len(v) != len(y):
            raise ValidationError(f"rma: yi has {len(y)} values but vi has {len(v)}")
        w = as_vector("weights", weights, data) if weights is not None else None
        if w is not None and len(w) != len(y):
            raise ValidationError(f"rma: weights has {len(w)} values; expected {len(y)}")
        X, names = design_matrix(self.mods, data, len(y))
        keep = np.isfinite(y) & np.isfinite(v) & np.all(np.isfinite(X), axis=1)
        if w is not None:
            keep &= np.isfinite(w)
        if not keep.all():
            log.warning("rma: %d studies with missing values omitted", int((~keep).sum()))
        y, v, X = y[keep], v[keep], X[keep]
        if w is not None:
            w = w[keep]
            if np.any(w < 0):
                raise ValidationError("rma: weights must be >= 0")
        k, p = X.shape
        if k == 0:
            raise ValidationError("rma: no studies with complete yi and vi")
        if np.any(v < 0):
            raise ValidationError("rma: sampling variances must be >= 0")
        if np.linalg.matrix_rank(X) < p:
            raise ValidationError(
                f"rma: moderator matrix is not of full rank (terms: {', '.join(names)})"
            )
        if k < p:
            raise ValidationError(f"rma: {k} studies cannot estimate {p} coefficients")
        if method == "GENQ" and w is None:
            raise ValidationError(
                "rma: method GENQ needs --weights (the weights of the generalised Q statistic)"
            )
        control = self.control or Control()
        control = replace(control, stopping=self.stopping)
        core = fit_core(
            y,
            v,
            X,
            method=method,
            test=test,
            level=self.level,
            weights=w,
            control=control,
            btt=self.btt,
        )
        R2 = None
        intercept = names[0] == "intrcpt"
        if p > 1 and intercept:
            if method in FIXED_METHODS:
                R2 = _wls_adj_r2(y, X, 1 / v if w is None else w)
            else:
                try:
                    core0 = fit_core(
                        y,
                        v,
                        X[:, :1],
                        method=method,
                        test=test,
                        level=self.level,
                        weights=w,
                        control=control,
                    )
                    R2 = (
                        0.0
                        if core0.tau2 == 0
                        else max(0.0, 100 * (core0.tau2 - core.tau2) / core0.tau2)
                    )
                except Exception:  # noqa: BLE001 - R^2 is optional, as in metafor
                    R2 = math.nan
        options = {
            "method": method,
            "test": test,
            "mods": self.mods if isinstance(self.mods, str) or self.mods is None else "array",
            "level": self.level,
            "stopping": self.stopping,
            "weights": w is not None,
        }
        prov = provenance(
            options,
            None,
            engine="taperwise.stats.meta.RMA",
            compatible_with="metafor 5.1-12 rma.uni",
        )
        return RMAResult(
            method=method, test=test, level=self.level, stopping=self.stopping, k=k, p=p, yi=y, vi=v, X=X,
            term_names=names, weights=w, core=core, R2=R2, control=control, provenance=prov,
        )  # fmt: skip


def _wls_adj_r2(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    k, p = X.shape
    WX = X * w[:, None]
    b = np.linalg.solve(X.T @ WX, WX.T @ y)
    r = y - X @ b
    ybar = np.sum(w * y) / np.sum(w)
    ss_res = np.sum(w * r**2)
    ss_tot = np.sum(w * (y - ybar) ** 2)
    if ss_tot == 0:
        return 0.0
    r2 = 1 - ss_res / ss_tot
    adj = 1 - (1 - r2) * (k - 1) / (k - p)
    return max(0.0, 100 * adj)
