"""The :class:`MMRM` model object: options only; :meth:`MMRM.fit` validates and fits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.stats.mmrm import inference as inf
from taperwise.stats.mmrm.formula import (
    COV_TYPES,
    Design,
    FormulaParts,
    build_design,
    parse_formula,
)
from taperwise.stats.mmrm.likelihood import Problem, build_problem
from taperwise.stats.mmrm.optimize import default_starts, optimise

log = logging.getLogger(__name__)

DF_METHODS = (
    "satterthwaite",
    "kenward-roger",
    "kenward-roger-linear",
    "residual",
    "between-within",
)
VCOV_METHODS = ("asymptotic", "empirical", "jackknife", "bias-reduced")


@dataclass(frozen=True)
class MMRM:
    """Mixed model for repeated measures (marginal model with structured residual covariance).

    Parameters
    ----------
    formula : str
        R ``mmrm`` syntax, e.g. ``"FEV1 ~ RACE + SEX + ARMCD*AVISIT + us(AVISIT | USUBJID)"``;
        grouped covariance ``us(AVISIT | ARMCD / USUBJID)``; structures ``us, toep, toeph, ar1,
        ar1h, ad, adh, cs, csh, sp_exp``.
    reml : bool
        REML (default) or ML.
    df : str
        ``satterthwaite`` (default), ``kenward-roger``, ``kenward-roger-linear``, ``residual``,
        ``between-within``.
    vcov : str
        ``asymptotic`` (default), ``empirical`` (CR0), ``jackknife`` (CR3), ``bias-reduced`` (CR2).
        Kenward-Roger df always use the Kenward-Roger adjusted covariance.
    weights : str, optional
        Column of positive observation weights (``Sigma_i = W_i^-1/2 Sigma W_i^-1/2``).
    levels : dict, optional
        Factor level orders, first level = reference (default: sorted levels).
    start : array, optional
        Starting ``theta`` tried before the automatic starts.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"id": np.repeat(np.arange(40), 3), "visit": np.tile(["v1", "v2", "v3"], 40),
    ...                   "arm": np.repeat(rng.integers(0, 2, 40), 3).astype(str)})
    >>> d["y"] = rng.normal(size=120) + (d["arm"] == "1") * 0.5
    >>> res = MMRM("y ~ arm * visit + us(visit | id)").fit(d)
    >>> res.converged, list(res.coef.index)[:2]
    (True, ['(Intercept)', 'arm1'])
    """

    formula: str
    reml: bool = field(default=True, kw_only=True)
    df: str = field(default="satterthwaite", kw_only=True)
    vcov: str = field(default="asymptotic", kw_only=True)
    weights: str | None = field(default=None, kw_only=True)
    levels: dict[str, list[str]] | None = field(default=None, kw_only=True)
    start: Any = field(default=None, kw_only=True)

    def options(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "reml": self.reml,
            "df": self.df,
            "vcov": self.vcov,
            "weights": self.weights,
            "levels": self.levels,
        }

    def _validate(self) -> FormulaParts:
        if self.df not in DF_METHODS:
            raise ValidationError(
                f"df method '{self.df}' is not supported; allowed: {', '.join(DF_METHODS)}"
            )
        if self.vcov not in VCOV_METHODS:
            raise ValidationError(
                f"vcov '{self.vcov}' is not supported; allowed: {', '.join(VCOV_METHODS)}"
            )
        if self.df.startswith("kenward") and not self.reml:
            raise ValidationError("Kenward-Roger degrees of freedom need REML (reml=True)")
        if self.df.startswith("kenward") and self.vcov != "asymptotic":
            raise ValidationError(
                "Kenward-Roger df come with their own adjusted vcov; use vcov='asymptotic'"
            )
        parts = parse_formula(self.formula)
        if parts.cov_type not in COV_TYPES:  # pragma: no cover - regex guarantees it
            raise ValidationError(f"covariance '{parts.cov_type}' not supported")
        return parts

    def fit(self, data: pd.DataFrame):
        """Fit the model to ``data`` (one row per subject and visit) -> :class:`MMRMResult`."""
        from taperwise.stats.mmrm.results import MMRMResult

        t0 = time.perf_counter()
        parts = self._validate()
        design = build_design(data, parts, levels=self.levels, weights=self.weights)
        problem = build_problem(design, parts.cov_type, reml=self.reml)
        fit = fit_problem(problem, self.start)
        if not fit.ev:
            raise ConvergenceError(
                f"MMRM '{self.formula}': no starting value gave a positive definite covariance"
            )
        res = MMRMResult._from_fit(
            self, parts, design, problem, fit, elapsed=time.perf_counter() - t0
        )
        if not res.converged:
            log.warning("MMRM did not converge (max |gradient| %.3g)", fit.max_grad)
        return res


def fit_problem(problem: Problem, start: Any = None):
    """Optimise ``problem`` from the user start (if any) and the automatic starts."""
    starts = default_starts(problem)
    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (problem.n_theta,):
            raise ValidationError(
                f"start must have {problem.n_theta} values for this covariance structure"
            )
        starts = [("user", start), *starts]
    return optimise(problem, starts)


@dataclass
class Tester:
    """Computes tests of contrasts for one fit under its df / vcov method."""

    method: str
    vcov_kind: str
    beta: np.ndarray
    Phi: np.ndarray  # asymptotic vcov
    V: np.ndarray  # vcov used for inference (asymptotic, KR-adjusted or sandwich)
    W: np.ndarray
    B: np.ndarray
    P: np.ndarray | None = None
    sandwich_parts: tuple | None = None
    residual_df: float = np.nan
    bw_df: np.ndarray | None = None

    def _df_1d(self, c: np.ndarray) -> float:
        if self.method == "residual":
            return self.residual_df
        if self.method == "between-within":
            nz = np.abs(c) > 0
            return float(np.min(self.bw_df[nz])) if nz.any() else self.residual_df
        if self.method.startswith("kenward"):
            return inf.kr_df(self.Phi, c[None, :], self.W, self.P)[0]
        if self.vcov_kind != "asymptotic":
            Xt, Ai = self.sandwich_parts
            return inf.bell_mccaffrey_df(c, self.Phi, Xt, Ai)
        return inf.satterthwaite_1d(c, self.Phi, self.B, self.W)[1]

    def test_1d(self, c: np.ndarray) -> dict[str, float]:
        c = np.asarray(c, dtype=float)
        est = float(c @ self.beta)
        var = float(c @ self.V @ c)
        df = self._df_1d(c)
        se, t, p = inf.t_test(est, var, df)
        return {"estimate": est, "se": se, "df": df, "t": t, "p": p}

    def test_md(self, L: np.ndarray) -> dict[str, float]:
        from scipy import stats

        L = np.atleast_2d(np.asarray(L, dtype=float))
        if self.method.startswith("kenward"):
            m, lam = inf.kr_df(self.Phi, L, self.W, self.P)
            Lb = L @ self.beta
            F = float(Lb @ np.linalg.solve(L @ self.V @ L.T, Lb)) / L.shape[0]
            Fs = lam * F
            return {
                "num_df": L.shape[0],
                "den_df": m,
                "F": Fs,
                "p": float(stats.f.sf(Fs, L.shape[0], m)),
            }
        cov = L @ self.V @ L.T
        w, U = np.linalg.eigh(cov)
        order = np.argsort(w)[::-1]
        w, U = w[order], U[:, order]
        tol = max(np.sqrt(np.finfo(float).eps) * w[0], 0.0)
        rank = int(np.sum(w > tol))
        rows = U[:, :rank].T @ L
        t2 = (rows @ self.beta) ** 2 / w[:rank]
        F = float(t2.sum() / rank)
        if self.method in ("residual", "between-within"):
            den = (
                self.residual_df
                if self.method == "residual"
                else float(np.min([self._df_1d(r) for r in L]))
            )
            return {"num_df": rank, "den_df": den, "F": F, "p": float(stats.f.sf(F, rank, den))}
        nus = np.array([self._df_1d(r) for r in rows])
        den = inf.md_denominator_df(nus)
        out = {"num_df": rank, "den_df": den, "F": F, "p": float(stats.f.sf(F, rank, den))}
        if rank > 1 and np.all(nus > 2):
            # d log(den_df) / d log(nu_i) is at most E / (E - r): the sensitivity of the
            # multi-row df to the one-row df it combines (diagnostic, used by the tests)
            E = float(np.sum(nus / (nus - 2.0)))
            out["df_amplification"] = E / (E - rank)
        return out


def make_tester(model: MMRM, design: Design, problem: Problem, fit) -> Tester:
    ev = fit.ev
    Phi = ev["Ainv"]
    try:
        W = 2.0 * np.linalg.inv(ev["hess"])
    except np.linalg.LinAlgError:  # singular information (not converged): df become unreliable
        W = 2.0 * np.linalg.pinv(ev["hess"])
    t = Tester(
        method=model.df, vcov_kind=model.vcov, beta=ev["beta"], Phi=Phi, V=Phi, W=W, B=ev["B"]
    )
    t.residual_df = float(problem.n_obs - problem.n_coef)
    if model.df.startswith("kenward"):
        linear = model.df == "kenward-roger-linear"
        P_, Q, R, _ = inf.kr_components(problem, fit.theta, ev, linear=linear)
        t.P = P_
        t.V = inf.kr_adjusted_vcov(Phi, W, P_, Q, R)
    elif model.vcov != "asymptotic":
        V, Xt, Ai = inf.sandwich(problem, ev["Sinv"], ev["beta"], Phi, model.vcov)
        t.V = V
        t.sandwich_parts = (Xt, Ai)
    if model.df == "between-within":
        X = design.X
        subj = design.subject_codes
        between = np.array(
            [
                bool(np.all(pd.Series(X[:, j]).groupby(subj).nunique() <= 1))
                for j in range(X.shape[1])
            ]
        )
        nb = int(between.sum())
        n_sub = problem.n_subjects
        t.bw_df = np.where(between, n_sub - nb, problem.n_obs - n_sub - (X.shape[1] - nb)).astype(
            float
        )
    return t
