"""The frozen :class:`MMRMResult` and its tests: summary, contrasts, LS means, ANOVA, prediction."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.errors import ValidationError
from taperwise.provenance import provenance
from taperwise.stats.mmrm.formula import Design, FormulaParts
from taperwise.stats.mmrm.likelihood import Problem


@dataclass(frozen=True)
class MMRMResult:
    """Result of :meth:`MMRM.fit`.

    Attributes
    ----------
    coef, se, df : pandas.Series
        Coefficients (R names, ``(Intercept)``), standard errors (from ``vcov``) and the
        denominator degrees of freedom of each coefficient's t test.
    vcov : pandas.DataFrame
        Coefficient covariance used for inference (asymptotic, Kenward-Roger adjusted or sandwich).
    deviance : float
        ``-2 log L`` (the REML criterion under REML) at the optimum.
    cov_params : pandas.Series
        Covariance parameters ``theta`` (mmrm's parameterisation).
    covariance : dict
        Estimated covariance matrix over the visits per covariance group (DataFrames).
    converged : bool
        Max |gradient| of ``-2 log L`` below 1e-5 and positive definite observed information.
    """

    coef: pd.Series
    se: pd.Series
    df: pd.Series
    vcov: pd.DataFrame
    deviance: float
    loglik: float
    aic: float
    bic: float
    cov_params: pd.Series
    theta_vcov: pd.DataFrame
    covariance: dict[str, pd.DataFrame]
    converged: bool
    max_gradient: float
    n_iter: int
    start: str
    n_obs: int
    n_subjects: int
    structure: str
    provenance: dict[str, Any]
    _model: Any = field(repr=False)
    _parts: FormulaParts = field(repr=False)
    _design: Design = field(repr=False)
    _problem: Problem = field(repr=False)
    _tester: Any = field(repr=False)
    _theta: np.ndarray = field(repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _from_fit(
        cls, model, parts, design: Design, problem: Problem, fit, elapsed: float
    ) -> MMRMResult:
        from taperwise.stats.mmrm.model import make_tester

        ev = fit.ev
        tester = make_tester(model, design, problem, fit)
        names = list(design.column_names)
        rows = [tester.test_1d(np.eye(len(names))[j]) for j in range(len(names))]
        coef = pd.Series(ev["beta"], index=names, name="estimate")
        se = pd.Series([r["se"] for r in rows], index=names, name="se")
        dfs = pd.Series([r["df"] for r in rows], index=names, name="df")
        st = problem.structure
        visits = (
            design.visit_levels if design.coords is None else tuple(f"d{k}" for k in range(st.m))
        )
        tnames = st.theta_names(visits)
        if problem.n_groups > 1:
            tnames = [f"{g}:{n}" for g in design.group_levels for n in tnames]
        cov_params = pd.Series(fit.theta, index=tnames, name="theta")
        covariance = {}
        s = st.n_theta
        for g, lv in enumerate(design.group_levels):
            th = fit.theta[g * s : (g + 1) * s]
            if design.coords is None:
                covariance[lv] = pd.DataFrame(
                    st.sigma(th), index=list(visits), columns=list(visits)
                )
            else:  # spatial: covariance at unit distance apart shown for a 2-point grid
                dist = np.array([[[0.0, 1.0], [1.0, 0.0]]])
                covariance[lv] = pd.DataFrame(
                    st.sigma(th, dist)[0], index=["d0", "d1"], columns=["d0", "d1"]
                )
        n_par = problem.n_theta + (0 if model.reml else problem.n_coef)
        dev = float(ev["f"])
        try:
            W = 2.0 * np.linalg.inv(ev["hess"])
        except np.linalg.LinAlgError:
            W = np.full((problem.n_theta, problem.n_theta), np.nan)
        return cls(
            coef=coef,
            se=se,
            df=dfs,
            vcov=pd.DataFrame(tester.V, index=names, columns=names),
            deviance=dev,
            loglik=-0.5 * dev,
            aic=dev + 2.0 * n_par,
            bic=dev + n_par * float(np.log(problem.n_subjects)),
            cov_params=cov_params,
            theta_vcov=pd.DataFrame(W, index=tnames, columns=tnames),
            covariance=covariance,
            converged=bool(fit.converged),
            max_gradient=float(fit.max_grad),
            n_iter=int(fit.n_iter),
            start=fit.start,
            n_obs=problem.n_obs,
            n_subjects=problem.n_subjects,
            structure=parts.cov_type,
            provenance=provenance(
                model.options(),
                None,
                engine="taperwise.stats.mmrm",
                n_rows_dropped=design.n_dropped,
                fit_seconds=round(elapsed, 4),
            ),
            _model=model,
            _parts=parts,
            _design=design,
            _problem=problem,
            _tester=tester,
            _theta=np.asarray(fit.theta),
        )

    # ------------------------------------------------------------------ tables
    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """One row per coefficient: estimate, se, df, t, p, confidence limits."""
        tq = stats.t.ppf(0.5 + level / 2.0, self.df.to_numpy())
        t = self.coef / self.se
        p = 2.0 * stats.t.sf(np.abs(t), self.df)
        return pd.DataFrame(
            {
                "estimate": self.coef,
                "se": self.se,
                "df": self.df,
                "t": t,
                "p": p,
                "lower": self.coef - tq * self.se,
                "upper": self.coef + tq * self.se,
            }
        )

    def contrast(self, L: Any) -> dict[str, float]:
        """Test ``L beta = 0``: a vector gives a t test, a matrix an F test.

        ``L`` may be a pandas Series/DataFrame indexed by coefficient names.
        """
        names = list(self.coef.index)
        if isinstance(L, pd.Series):
            L = L.reindex(names).fillna(0.0).to_numpy()
        elif isinstance(L, pd.DataFrame):
            L = L.reindex(columns=names).fillna(0.0).to_numpy()
        L = np.asarray(L, dtype=float)
        if L.shape[-1] != len(names):
            raise ValidationError(
                f"contrast has {L.shape[-1]} columns; the model has {len(names)} coefficients"
            )
        if L.ndim == 1:
            return self._tester.test_1d(L)
        return self._tester.test_md(L)

    # ------------------------------------------------------------------ ANOVA
    def _type3_factor_contrast(self, idx: int) -> np.ndarray | None:
        """Type III rows for a term made of factors only, in mmrm's (car-like) basis.

        Cell means of the term's factors (equal weights over the other factors) are contrasted
        with ``kron(D_1, ..., D_k)``, ``D_f`` = rows "level j minus the mean of the levels",
        j = 1..n_f - 1 (the sum-to-zero basis).  The F statistic does not depend on the basis;
        the multi-row Satterthwaite df does, and this is the basis mmrm 0.3.18 uses.
        Returns None if the term involves a numeric variable.
        """
        d = self._design
        fs = list(d.term_variables[idx])
        if not fs or any(f not in d.factor_levels for f in fs):
            return None
        grid, X = self._grid([])
        cells = grid.groupby(fs, observed=True).indices
        order = [
            tuple(
                d.factor_levels[f].index(v)
                for f, v in zip(fs, k if isinstance(k, tuple) else (k,), strict=True)
            )
            for k in cells
        ]
        keys = [k for _, k in sorted(zip(order, cells, strict=True))]
        M = np.array([X[cells[k]].mean(axis=0) for k in keys])
        C = np.ones((1, 1))
        for f in fs:
            n = len(d.factor_levels[f])
            C = np.kron(C, np.eye(n)[:-1] - 1.0 / n)
        return C @ M

    def _term_contrast(self, idx: int, type_: int) -> np.ndarray:
        d = self._design
        if type_ == 3 and "(Intercept)" in d.column_names:
            L3 = self._type3_factor_contrast(idx)
            if L3 is not None:
                L3[np.abs(L3) < np.sqrt(np.finfo(float).eps)] = 0.0
                return L3
        cols = d.term_columns[idx]
        q = len(d.column_names)
        L = np.zeros((len(cols), q))
        L[np.arange(len(cols)), list(cols)] = 1.0
        vars_t = set(d.term_variables[idx])
        for j, (other_vars, ocols) in enumerate(
            zip(d.term_variables, d.term_columns, strict=False)
        ):
            if j == idx or not vars_t < set(other_vars):
                continue
            extra = set(other_vars) - vars_t
            if any(v not in d.factor_levels for v in extra):
                continue
            if type_ == 3:
                t_levels = int(np.prod([len(d.factor_levels[v]) for v in extra]))
                base = [_strip_vars(d.raw_column_names[c], extra) for c in cols]
                for c2 in ocols:
                    key = _strip_vars(d.raw_column_names[c2], extra)
                    if key in base:
                        L[base.index(key), c2] = 1.0 / t_levels
            else:
                X = d.X
                x1 = X[:, list(cols)]
                x2 = X[:, list(ocols)]
                keep = [c for c in range(q) if c not in cols and c not in ocols]
                x0 = X[:, keep]
                Mx1 = x1 - x0 @ np.linalg.lstsq(x0, x1, rcond=None)[0]
                Mx2 = x2 - x0 @ np.linalg.lstsq(x0, x2, rcond=None)[0]
                L[:, list(ocols)] = np.linalg.solve(x1.T @ Mx1, x1.T @ Mx2)
        L[np.abs(L) < np.sqrt(np.finfo(float).eps)] = 0.0
        return L

    def anova(self, type: int | str = 3) -> pd.DataFrame:  # noqa: A002 - mirrors car::Anova
        """Type II or III F tests, one row per model term (intercept excluded)."""
        type_ = {"2": 2, "II": 2, "3": 3, "III": 3}.get(str(type).upper())
        if type_ is None:
            raise ValidationError(f"anova type '{type}' not supported; allowed: 2, 3")
        rows = []
        for i, name in enumerate(self._design.term_names):
            if name == "(Intercept)":
                continue
            res = self.contrast(self._term_contrast(i, type_))
            rows.append({"term": name, **res})
        return pd.DataFrame(rows).set_index("term")

    # ------------------------------------------------------------------ LS means
    def _grid(self, by: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        d = self._design
        factors = list(d.factor_levels)
        for b in by:
            if b not in factors:
                raise ValidationError(
                    f"lsmeans: '{b}' is not a factor of the model; factors: {factors}"
                )
        combos = (
            list(itertools.product(*[d.factor_levels[f] for f in factors])) if factors else [()]
        )
        grid = pd.DataFrame(combos, columns=factors)
        for f in factors:
            grid[f] = pd.Categorical(grid[f], categories=list(d.factor_levels[f]))
        for v, mu in d.numeric_means.items():
            grid[v] = mu
        X = np.asarray(d.model_spec.get_model_matrix(grid), dtype=float)
        return grid, X

    def lsmeans(self, by: list[str] | str, level: float = 0.95) -> pd.DataFrame:
        """Least-squares means (equal weights over the other factors, covariates at their mean).

        Examples
        --------
        >>> res.lsmeans(by=["ARMCD", "AVISIT"])  # doctest: +SKIP
        """
        by = [by] if isinstance(by, str) else list(by)
        grid, X = self._grid(by)
        rows = []
        for key, idx in grid.groupby(by, observed=True).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            c = X[idx].mean(axis=0)
            r = self._tester.test_1d(c)
            tq = stats.t.ppf(0.5 + level / 2.0, r["df"])
            rows.append(
                {
                    **dict(zip(by, key, strict=False)),
                    "estimate": r["estimate"],
                    "se": r["se"],
                    "df": r["df"],
                    "lower": r["estimate"] - tq * r["se"],
                    "upper": r["estimate"] + tq * r["se"],
                }
            )
        return pd.DataFrame(rows)

    def lsmeans_diff(
        self, factor: str, at: list[str] | str | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Differences of LS means of ``factor`` levels from its reference level, within ``at`` groups."""
        at = [] if at is None else ([at] if isinstance(at, str) else list(at))
        grid, X = self._grid([factor, *at])
        ref = self._design.factor_levels[factor][0]
        rows = []
        groups = (
            grid.groupby(at, observed=True).indices.items() if at else [((), np.arange(len(grid)))]
        )
        for key, idx in groups:
            key = key if isinstance(key, tuple) else (key,)
            sub = grid.iloc[idx]
            c_ref = X[idx[np.asarray(sub[factor] == ref)]].mean(axis=0)
            for lv in self._design.factor_levels[factor][1:]:
                c = X[idx[np.asarray(sub[factor] == lv)]].mean(axis=0) - c_ref
                r = self._tester.test_1d(c)
                tq = stats.t.ppf(0.5 + level / 2.0, r["df"])
                rows.append(
                    {
                        **dict(zip(at, key, strict=False)),
                        "contrast": f"{lv} - {ref}",
                        **r,
                        "lower": r["estimate"] - tq * r["se"],
                        "upper": r["estimate"] + tq * r["se"],
                    }
                )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ prediction
    def predict(self, newdata: pd.DataFrame, conditional: bool = True) -> pd.DataFrame:
        """Predicted means for ``newdata`` rows.

        With ``conditional=True`` (default) a row whose response is missing is predicted from
        its subject's observed responses in ``newdata`` (``mu_u + S_uo S_oo^-1 (y_o - mu_o)``),
        and rows with an observed response return it; otherwise the population mean ``X beta``.
        """
        d, p = self._design, self._parts
        nd = newdata.copy()
        for f, lv in d.factor_levels.items():
            if f not in nd.columns:
                raise ValidationError(f"predict: newdata lacks column '{f}'")
            bad = set(nd[f].dropna().astype(str)) - set(lv)
            if bad:
                raise ValidationError(
                    f"predict: column '{f}' has unknown levels {sorted(bad)}; allowed {list(lv)}"
                )
            nd[f] = pd.Categorical(nd[f].astype(str), categories=list(lv))
        X = np.asarray(d.model_spec.get_model_matrix(nd, na_action="ignore"), dtype=float)
        beta = self.coef.to_numpy()
        mu = X @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.vcov.to_numpy(), X))
        pred = mu.copy()
        if (
            conditional
            and p.response in nd.columns
            and d.coords is None
            and p.subject in nd.columns
        ):
            tcol = p.time[0]
            vmap = {v: i for i, v in enumerate(d.visit_levels)}
            st, s = self._problem.structure, self._problem.structure.n_theta
            glv = {g: i for i, g in enumerate(d.group_levels)}
            for _, idx in nd.groupby(p.subject, sort=False).indices.items():
                vis = np.array([vmap.get(str(v), -1) for v in nd[tcol].iloc[idx]])
                yv = nd[p.response].iloc[idx].to_numpy(dtype=float)
                obs = ~np.isnan(yv) & (vis >= 0)
                mis = np.isnan(yv) & (vis >= 0)
                if not obs.any() or not mis.any():
                    pred[idx[obs]] = yv[obs]
                    continue
                g = glv.get(str(nd[p.group].iloc[idx[0]]), 0) if p.group else 0
                S = st.sigma(self._theta[g * s : (g + 1) * s])
                so, sm = vis[obs], vis[mis]
                adj = S[np.ix_(sm, so)] @ np.linalg.solve(S[np.ix_(so, so)], yv[obs] - mu[idx[obs]])
                pred[idx[mis]] = mu[idx[mis]] + adj
                pred[idx[obs]] = yv[obs]
        return pd.DataFrame({"prediction": pred, "mean": mu, "se_mean": se}, index=newdata.index)


def _strip_vars(raw: str, drop: set[str]) -> str:
    parts = []
    for piece in raw.split(":"):
        m = re.match(r"^(.*?)\[", piece)
        var = m.group(1) if m else piece
        if var not in drop:
            parts.append(piece)
    return ":".join(parts)
