"""Delta-adjusted multiple imputation (tipping point) for dropout not at random.

1. Missing daily scores on the primary days are imputed under MAR from the primary MMRM: for
   each imputation a coefficient vector is drawn from ``N(beta_hat, vcov)`` and each
   participant's missing days from the conditional normal given their observed days
   (``Sigma`` held at its estimate).
2. For a shift ``delta`` the imputed scores of one experimental arm are moved by ``delta``
   against that arm's estimated effect (worse outcomes after dropout than MAR predicts).
3. Each completed data set is analysed by ANCOVA of the participant's mean score over the
   primary days on arm and the MMRM's covariates; Rubin's rules (Barnard-Rubin df) combine them.

The tipping point is the smallest ``delta`` at which the combined CI includes 0 (linear
interpolation between grid points); ``None`` when the MAR result already includes 0 or the
grid never reaches it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.analysis.primary import PrimaryFit

log = logging.getLogger(__name__)


def _model_matrix(res: Any, nd: pd.DataFrame) -> np.ndarray:
    d = res._design  # the MMRM result keeps its formulaic spec; no public model_matrix yet
    nd = nd.copy()
    for f, lv in d.factor_levels.items():
        nd[f] = pd.Categorical(nd[f].astype(str), categories=list(lv))
    return np.asarray(d.model_spec.get_model_matrix(nd, na_action="ignore"), dtype=float)


def impute_mar(fit: PrimaryFit, frame: pd.DataFrame, *, n_imputations: int, seed: int):
    """Wide completed scores: array (M, participants, days), plus the participant table."""
    res = fit.result
    days = [str(d) for d in fit.days]
    people = frame.drop_duplicates("participant").set_index("participant")
    cols = ["arm", *fit.covariates]
    grid = pd.MultiIndex.from_product([people.index, days], names=["participant", "day"])
    nd = grid.to_frame(index=False)
    for c in cols:
        nd[c] = nd["participant"].map(people[c])
    obs = frame.assign(day=frame["day"].astype(str)).set_index(["participant", "day"])["score"]
    nd["score"] = obs.reindex(pd.MultiIndex.from_frame(nd[["participant", "day"]])).to_numpy()
    X = _model_matrix(res, nd)
    n_p, n_d = len(people), len(days)
    Y = nd["score"].to_numpy(dtype=float).reshape(n_p, n_d)
    X3 = X.reshape(n_p, n_d, -1)
    sigma = next(iter(res.covariance.values())).loc[days, days].to_numpy()
    beta_hat = res.coef.to_numpy()
    vc = res.vcov.to_numpy()
    rng = np.random.default_rng(seed)
    out = np.repeat(Y[None, :, :], n_imputations, axis=0)
    miss = np.isnan(Y)
    patterns: dict[bytes, list[int]] = {}
    for i in range(n_p):
        if miss[i].any():
            patterns.setdefault(miss[i].tobytes(), []).append(i)
    betas = rng.multivariate_normal(beta_hat, vc, size=n_imputations, method="cholesky")
    for key, rows in patterns.items():
        m = np.frombuffer(key, dtype=bool)
        o = ~m
        idx = np.asarray(rows)
        if o.any():
            A = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T  # S_mo S_oo^-1
            cov = sigma[np.ix_(m, m)] - A @ sigma[np.ix_(o, m)]
        else:
            A = np.zeros((m.sum(), 0))
            cov = sigma[np.ix_(m, m)]
        L = np.linalg.cholesky(cov + 1e-10 * np.eye(len(cov)))
        for k in range(n_imputations):
            mu = X3[idx] @ betas[k]  # (rows, days)
            resid = Y[np.ix_(idx, o)] - mu[:, o]
            cond = mu[:, m] + resid @ A.T
            out[k][np.ix_(idx, m)] = cond + rng.normal(size=cond.shape) @ L.T
    return out, miss, people


def _ancova(y: np.ndarray, Z: np.ndarray, j: int) -> tuple[float, float, int]:
    beta, *_ = np.linalg.lstsq(Z, y, rcond=None)
    resid = y - Z @ beta
    dof = len(y) - Z.shape[1]
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(Z.T @ Z)
    return float(beta[j]), float(cov[j, j]), dof


def _rubin(ests: np.ndarray, vars_: np.ndarray, dof_com: int, alpha: float) -> dict[str, float]:
    m = len(ests)
    qbar = float(ests.mean())
    w = float(vars_.mean())
    b = float(ests.var(ddof=1)) if m > 1 else 0.0
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    df_old = (m - 1) / lam**2 if lam > 0 else np.inf
    df_obs = (dof_com + 1) / (dof_com + 3) * dof_com * (1 - lam)
    df = 1 / (1 / df_old + 1 / df_obs) if np.isfinite(df_old) else df_obs
    se = np.sqrt(t)
    tq = stats.t.ppf(1 - alpha / 2, df)
    return {
        "estimate": qbar,
        "se": float(se),
        "df": float(df),
        "ci_lb": qbar - tq * se,
        "ci_ub": qbar + tq * se,
        "pval": float(2 * stats.t.sf(abs(qbar) / se, df)) if se > 0 else 1.0,
    }


def tipping_point(
    fit: PrimaryFit,
    frame: pd.DataFrame,
    *,
    alpha: float,
    n_imputations: int = 20,
    n_deltas: int = 9,
    max_delta: float | None = None,
    seed: int = 2026,
) -> dict[str, Any]:
    """Delta-adjusted MI per experimental arm; see the module docstring."""
    imputed, miss, people = impute_mar(fit, frame, n_imputations=n_imputations, seed=seed)
    sigma = next(iter(fit.result.covariance.values())).to_numpy()
    resid_sd = float(np.sqrt(np.mean(np.diag(sigma))))
    arms = fit.arms
    cov_cols = []
    for c in fit.covariates:
        if c == "baseline":
            cov_cols.append(people[["baseline"]].astype(float))
        else:
            cov_cols.append(
                pd.get_dummies(people[c].astype(str), prefix=c, drop_first=True, dtype=float)
            )
    arm_d = pd.get_dummies(
        pd.Categorical(people["arm"], categories=arms), drop_first=True, dtype=float
    )
    arm_d.index = people.index
    Z = pd.concat([pd.Series(1.0, index=people.index, name="one"), arm_d, *cov_cols], axis=1)
    Zm = Z.to_numpy(dtype=float)
    results = []
    for a_i, arm in enumerate(arms[1:], start=1):
        in_arm = (people["arm"] == arm).to_numpy()
        shift_mask = miss & in_arm[:, None]
        base = np.array([_ancova(imp.mean(axis=1), Zm, a_i)[0] for imp in imputed])
        direction = 1.0 if base.mean() <= 0 else -1.0
        deltas = _grid(
            max_delta, resid_sd, n_deltas, imputed, shift_mask, Zm, a_i, direction, alpha
        )
        grid = []
        for delta in deltas:
            ests, vars_ = [], []
            dof = 0
            for imp in imputed:
                y = (imp + direction * delta * shift_mask).mean(axis=1)
                e, v, dof = _ancova(y, Zm, a_i)
                ests.append(e)
                vars_.append(v)
            grid.append(
                {"delta": float(delta), **_rubin(np.array(ests), np.array(vars_), dof, alpha)}
            )
        results.append(
            {
                "arm": arm,
                "vs": arms[0],
                "direction": "added" if direction > 0 else "subtracted",
                "n_imputed_scores": int(shift_mask.sum()),
                "grid": grid,
                "tipping_delta": _tip(grid),
            }
        )
    return {
        "method": "delta-adjusted MI from the primary MMRM; ANCOVA of mean score; Rubin",
        "n_imputations": n_imputations,
        "seed": seed,
        "residual_sd": resid_sd,
        "arms": results,
    }


def _grid(max_delta, resid_sd, n, imputed, shift_mask, Zm, j, direction, alpha) -> np.ndarray:
    """Deltas from 0 to ``max_delta``, or to 1.25 x the projected tipping point (the estimate is
    linear in delta) within [2, 10] residual SDs."""
    if max_delta is not None:
        return np.linspace(0.0, max_delta, n)
    ends = []
    for delta in (0.0, resid_sd):
        fits = [
            _ancova((imp + direction * delta * shift_mask).mean(axis=1), Zm, j) for imp in imputed
        ]
        e = np.array([f[0] for f in fits])
        r = _rubin(e, np.array([f[1] for f in fits]), fits[0][2], alpha)
        ends.append(r["ci_ub"] if direction > 0 else -r["ci_lb"])
    slope = (ends[1] - ends[0]) / resid_sd
    top = 2.0 * resid_sd
    if ends[0] < 0 and slope > 0:
        top = min(max(1.25 * -ends[0] / slope, top), 10.0 * resid_sd)
    return np.linspace(0.0, top, n)


def _tip(grid: list[dict[str, float]]) -> float | None:
    def excludes(g: dict[str, float]) -> bool:
        return g["ci_lb"] > 0 or g["ci_ub"] < 0

    if not grid or not excludes(grid[0]):
        return None
    for g0, g1 in zip(grid, grid[1:], strict=False):
        if not excludes(g1):
            # the CI bound nearest 0 crosses it between g0 and g1
            b0 = g0["ci_ub"] if g0["estimate"] < 0 else -g0["ci_lb"]
            b1 = g1["ci_ub"] if g0["estimate"] < 0 else -g1["ci_lb"]
            frac = b0 / (b0 - b1) if b0 != b1 else 0.0
            return float(g0["delta"] + frac * (g1["delta"] - g0["delta"]))
    return None
