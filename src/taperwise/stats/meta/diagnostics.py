"""Sensitivity analyses: leave-one-out, influence diagnostics, cumulative meta-analysis and
permutation tests (metafor ``leave1out``, ``influence``, ``cumul``, ``permutest``).

Every refit uses the original model's method, test, weights and iteration control, so with the
default ``stopping="metafor"`` the numbers are those metafor reports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import ValidationError
from taperwise.stats.meta._fit import FitCore, fit_core
from taperwise.stats.meta.mh import MHResult, refit_subset
from taperwise.stats.meta.rma import RMAResult


def _refit(
    res: RMAResult, idx: np.ndarray, *, X: np.ndarray | None = None, y: np.ndarray | None = None
) -> FitCore:
    Xm = res.X if X is None else X
    ym = res.yi if y is None else y
    w = None if res.weights is None else res.weights[idx]
    return fit_core(ym[idx], res.vi[idx], Xm[idx], method=res.method, test=res.test, level=res.level,
                    weights=w, control=res.control)  # fmt: skip


def leave1out(res: RMAResult | MHResult, *, labels: Any = None) -> pd.DataFrame:
    """Refit the model leaving out each study in turn (intercept-only models, MH and Peto).

    Columns: estimate, se, zval, pval, ci_lb, ci_ub, Q, Qp, tau2 (not for MH/Peto), I2, H2.

    Examples
    --------
    >>> from taperwise.stats.meta import RMA
    >>> res = RMA(method="DL").fit(yi=[0.1, 0.5, 0.9, -0.2], vi=[0.02, 0.03, 0.05, 0.04])
    >>> leave1out(res).shape
    (4, 11)
    """
    if isinstance(res, MHResult):
        return _mh_table(
            res, [np.delete(np.arange(res.k), i) for i in range(res.k)], _labels(labels, res.k)
        )
    if not res.intercept_only:
        raise ValidationError("leave1out: only for models without moderators")
    rows = []
    for i in range(res.k):
        idx = np.delete(np.arange(res.k), i)
        c = _refit(res, idx)
        rows.append(
            dict(
                estimate=c.beta[0],
                se=c.se[0],
                zval=c.zval[0],
                pval=c.pval[0],
                ci_lb=c.ci_lb[0],
                ci_ub=c.ci_ub[0],
                Q=c.QE,
                Qp=c.QEp,
                tau2=c.tau2,
                I2=c.I2,
                H2=c.H2,
            )  # fmt: skip
        )
    return pd.DataFrame(rows, index=_labels(labels, res.k))


def _labels(labels: Any, k: int) -> pd.Index:
    if labels is None:
        return pd.RangeIndex(1, k + 1, name="study")
    lab = list(labels)
    if len(lab) != k:
        raise ValidationError(f"labels has {len(lab)} entries; the model has {k} studies")
    return pd.Index(lab, name="study")


def influence(res: RMAResult, *, labels: Any = None) -> pd.DataFrame:
    """Case-deletion diagnostics (metafor ``influence.rma.uni``).

    Columns: rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight (%), dfbetas per
    term (``dfbs_<term>``) and ``inf`` (metafor's rule of thumb for an influential study).
    """
    c0 = res.core
    hat = res.hatvalues()
    wi = c0.wi
    weight = 100 * wi / wi.sum()
    vb_inv = np.linalg.inv(c0.vb)
    det_vb = np.linalg.det(c0.vb)
    pred_full = res.fitted()
    rows = []
    k, p = res.k, res.p
    for i in range(k):
        idx = np.delete(np.arange(k), i)
        c = _refit(res, idx)
        xi = res.X[i]
        resid = res.yi[i] - xi @ c.beta
        s2w = (
            c.s2w
        )  # 1 unless test="knha"/"adhoc" (as metafor: mean-shift outlier model under knha)
        var = (res.vi[i] + c.tau2) * s2w + xi @ c.vb @ xi
        db = c0.beta - c.beta
        row = {
            "rstudent": resid / math.sqrt(var),
            "dffits": (pred_full[i] - xi @ c.beta) / math.sqrt(s2w * hat[i] * (c.tau2 + res.vi[i])),
            "cook_d": float(db @ vb_inv @ db),
            "cov_r": float(np.linalg.det(c.vb) / det_vb),
            "tau2_del": c.tau2,
            "QE_del": c.QE,
            "hat": hat[i],
            "weight": weight[i],
        }
        # metafor scales DFBETAS by the variance of the full-data fit with tau2_del plugged in
        w_all = 1 / (res.vi + c.tau2)
        vb_all = np.linalg.inv(res.X.T @ (res.X * w_all[:, None])) * s2w
        for j, name in enumerate(res.term_names):
            row[f"dfbs_{name}"] = db[j] / math.sqrt(vb_all[j, j])
        rows.append(row)
    out = pd.DataFrame(rows, index=_labels(labels, k))
    dfbs = out[[f"dfbs_{n}" for n in res.term_names]].abs().to_numpy()
    out["inf"] = (
        (out["dffits"].abs() > 3 * math.sqrt(p / max(k - p, 1)))
        | (out["cook_d"] > _chi2_median(p))
        | (out["hat"] > 3 * p / k)
        | (dfbs.max(axis=1) > 1)
    )
    return out


def _chi2_median(p: int) -> float:
    from scipy import stats

    return float(stats.chi2.ppf(0.5, p))


def cumul(res: RMAResult | MHResult, *, order: Any = None, labels: Any = None) -> pd.DataFrame:
    """Cumulative meta-analysis: add studies one at a time in ``order`` (stable, ties keep data
    order; default: data order). Columns as :func:`leave1out`."""
    if not isinstance(res, MHResult) and not res.intercept_only:
        raise ValidationError("cumul: only for models without moderators")
    k = res.k
    if order is None:
        idx_all = np.arange(k)
    else:
        key = np.asarray(order)
        if len(key) != k:
            raise ValidationError(f"cumul: order has {len(key)} values; the model has {k} studies")
        idx_all = np.argsort(key, kind="stable")
    lab = _labels(labels, k)
    if isinstance(res, MHResult):
        index = pd.Index(np.asarray(lab)[idx_all], name="added")
        return _mh_table(res, [idx_all[:m] for m in range(1, k + 1)], index)
    rows = []
    for m in range(1, k + 1):
        c = _refit(res, idx_all[:m])
        rows.append(
            dict(
                estimate=c.beta[0],
                se=c.se[0],
                zval=c.zval[0],
                pval=c.pval[0],
                ci_lb=c.ci_lb[0],
                ci_ub=c.ci_ub[0],
                Q=c.QE,
                Qp=c.QEp,
                tau2=c.tau2,
                I2=c.I2,
                H2=c.H2,
            )  # fmt: skip
        )
    return pd.DataFrame(rows, index=pd.Index(np.asarray(lab)[idx_all], name="added"))


def _mh_table(res: MHResult, subsets: list[np.ndarray], index: pd.Index) -> pd.DataFrame:
    rows = []
    for idx in subsets:
        r = refit_subset(res, idx)
        rows.append(
            dict(
                estimate=r.estimate,
                se=r.se,
                zval=r.zval,
                pval=r.pval,
                ci_lb=r.ci_lb,
                ci_ub=r.ci_ub,
                Q=r.QE,
                Qp=r.QEp,
                I2=r.I2,
                H2=r.H2,
            )  # fmt: skip
        )
    return pd.DataFrame(rows, index=index)


def permutest(
    res: RMAResult,
    *,
    iter: int = 1000,  # noqa: A002 - metafor's name
    exact: bool | None = None,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Permutation test of the coefficients (metafor ``permutest.rma.uni``).

    Intercept-only models: the signs of the outcomes are flipped (exact: all 2^k patterns when
    ``2^k <= iter`` or ``exact=True``). Models with moderators: the rows of the moderator matrix are
    permuted (exact: all k! orders when ``k! <= iter``). Each permutation refits the whole model.
    Exact p-values are the share of patterns (identity included) with |z| >= |z_obs|; random
    permutation p-values are (count + 1)/(iter + 1) with the observed data added.
    """
    k, p = res.k, res.p
    z_obs = np.abs(res.core.zval)
    qm_obs = res.core.QM
    tol = 1e-10 * max(1.0, float(z_obs.max()))
    rng = np.random.default_rng(seed)
    idx = np.arange(k)
    if res.intercept_only:
        n_all = 2**k
        exact = n_all <= iter if exact is None else exact
        patterns = (
            (np.array(s) for s in itertools.product([1.0, -1.0], repeat=k))
            if exact
            else (rng.choice([1.0, -1.0], size=k) for _ in range(iter))
        )

        def fit(pat: np.ndarray) -> FitCore:
            return _refit(res, idx, y=res.yi * pat)
    else:
        n_all = math.factorial(k)
        exact = n_all <= iter if exact is None else exact
        patterns = (
            (np.array(s) for s in itertools.permutations(range(k)))
            if exact
            else (rng.permutation(k) for _ in range(iter))
        )
        cols = [j for j in range(p)]

        def fit(pat: np.ndarray) -> FitCore:
            X = res.X.copy()
            X[:, cols] = res.X[pat][:, cols]
            return _refit(res, idx, X=X)

    n_total = n_all if exact else iter
    count = np.zeros(p)
    count_qm = 0
    for i, pat in enumerate(patterns):
        c = fit(np.asarray(pat))
        count += np.abs(c.zval) >= z_obs - tol
        count_qm += c.QM >= qm_obs - 1e-10 * max(1.0, qm_obs)
        if progress is not None:
            progress(i + 1, n_total)
    if exact:
        pvals = count / n_total
        qm_p = count_qm / n_total
    else:
        pvals = (count + 1) / (n_total + 1)
        qm_p = (count_qm + 1) / (n_total + 1)
    return {
        "exact": bool(exact),
        "permutations": int(n_total),
        "pval": {name: float(pvals[j]) for j, name in enumerate(res.term_names)},
        "QMp": float(qm_p),
        "seed": seed,
    }


def lrt(full: RMAResult, reduced: RMAResult) -> dict[str, Any]:
    """Likelihood-ratio test between two nested fits (metafor ``anova(full, reduced)``).

    Uses the ML log-likelihoods for ML fits and the REML ones for REML fits (REML LRTs are only
    meaningful when both models have the same fixed effects; metafor warns, we state it here).

    Examples
    --------
    >>> from taperwise.stats.meta import RMA
    >>> y, v, x = [0.1, 0.5, 0.9, -0.2, 0.3], [0.02, 0.03, 0.05, 0.04, 0.02], [1, 2, 3, 0, 2]
    >>> out = lrt(RMA(method="ML", mods=x).fit(yi=y, vi=v), RMA(method="ML").fit(yi=y, vi=v))
    >>> out["df"]
    1
    """
    if full.method != reduced.method or full.method not in ("ML", "REML"):
        raise ValidationError("lrt: both fits must use the same method, ML or REML")
    if full.k != reduced.k or not np.array_equal(full.yi, reduced.yi):
        raise ValidationError("lrt: the two fits must use the same studies")
    from scipy import stats

    pick = (lambda r: r.core.ll_ml) if full.method == "ML" else (lambda r: r.core.ll_reml)
    df = full.core.parms - reduced.core.parms
    if df <= 0:
        raise ValidationError("lrt: the full model must have more parameters than the reduced one")
    stat = max(0.0, 2 * (pick(full) - pick(reduced)))
    return {
        "LRT": stat,
        "df": int(df),
        "pval": float(stats.chi2.sf(stat, df)),
        "logLik_full": pick(full),
        "logLik_reduced": pick(reduced),
    }
