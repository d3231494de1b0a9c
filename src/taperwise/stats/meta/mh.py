"""Mantel-Haenszel (OR, RR, RD) and Peto pooled estimates for 2x2 tables (metafor ``rma.mh``,
``rma.peto``).

Variances: Robins-Breslow-Greenland for the MH log OR, Greenland-Robins for the MH log RR,
Sato (1989) / Greenland-Robins for the MH RD (the estimator metafor uses, valid for sparse
tables). Heterogeneity: Q around the pooled estimate using the per-study escalc values
(``add=1/2`` to tables with a zero cell, tables with no events in both arms dropped), I^2 and
H^2 Q-based, as in metafor. The CMH test (continuity corrected) and Tarone's test of
homogeneity of the odds ratios come with MH OR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.errors import ValidationError
from taperwise.provenance import provenance
from taperwise.stats.meta._design import as_vector
from taperwise.stats.meta._fit import alpha_from_level
from taperwise.stats.meta.escalc import escalc

MH_MEASURES = ("OR", "RR", "RD")


@dataclass(frozen=True, eq=False)
class MHResult:
    """Pooled equal-effects estimate from MH or Peto (log scale for OR/RR).

    Examples
    --------
    >>> res = rma_mh("OR", ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
    >>> res.k
    2
    """

    method: str
    measure: str
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    QE: float
    QEp: float
    I2: float
    H2: float
    CMH: float | None = None
    CMHp: float | None = None
    TA: float | None = None
    TAp: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    #: the 2x2 tables used (ai, bi, ci, di), for leave-one-out / cumulative refits
    tables: tuple[np.ndarray, ...] = field(default=(), repr=False)
    level: float = 95

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise meta mh`` / ``meta peto``."""
        out = {
            "k": self.k,
            "method": self.method,
            "measure": self.measure,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "QE": self.QE,
            "QEp": self.QEp,
            "I2": self.I2,
            "H2": self.H2,
        }
        if self.measure in ("OR", "RR", "PETO"):
            out["exp_estimate"] = math.exp(self.estimate)
            out["exp_ci_lb"] = math.exp(self.ci_lb)
            out["exp_ci_ub"] = math.exp(self.ci_ub)
        if self.CMH is not None:
            out.update(CMH=self.CMH, CMHp=self.CMHp, TA=self.TA, TAp=self.TAp)
        out["provenance"] = self.provenance
        return out


def _tables(ai, bi, ci, di, n1i, n2i, data) -> tuple[np.ndarray, ...]:
    a = as_vector("ai", ai, data)
    c = as_vector("ci", ci, data)
    b = as_vector("bi", bi, data) if bi is not None else as_vector("n1i", n1i, data) - a
    d = as_vector("di", di, data) if di is not None else as_vector("n2i", n2i, data) - c
    if not (len(a) == len(b) == len(c) == len(d)):
        raise ValidationError("mh: ai, bi, ci, di must have the same length")
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(d)
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if np.any(np.concatenate([a, b, c, d]) < 0):
        raise ValidationError("mh: cell counts must be >= 0")
    ok = (a + b > 0) & (c + d > 0)
    return a[ok], b[ok], c[ok], d[ok]


def _q_stats(yi: np.ndarray, vi: np.ndarray, est: float) -> tuple[float, float, float, float, int]:
    ok = np.isfinite(yi) & np.isfinite(vi)
    kq = int(ok.sum())
    if kq <= 1:
        return 0.0, 1.0, 0.0, 1.0, kq
    QE = max(0.0, float(np.sum((yi[ok] - est) ** 2 / vi[ok])))
    QEp = float(stats.chi2.sf(QE, kq - 1))
    I2 = max(0.0, 100 * (QE - (kq - 1)) / QE) if QE > 0 else 0.0
    return QE, QEp, I2, QE / (kq - 1), kq


def rma_mh(
    measure: str = "OR",
    *,
    ai: Any,
    bi: Any = None,
    ci: Any,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    level: float = 95,
    correct: bool = True,
) -> MHResult:
    """Mantel-Haenszel pooled OR / RR / RD (metafor ``rma.mh``).

    Examples
    --------
    >>> res = rma_mh("RR", ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
    >>> round(res.estimate, 4)
    -1.3517
    """
    measure = measure.upper()
    if measure not in MH_MEASURES:
        raise ValidationError(f"mh: measure '{measure}' not supported; allowed: OR, RR, RD")
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i, data)
    k = len(a)
    if k == 0:
        raise ValidationError("mh: no tables with both arms non-empty")
    n1, n2 = a + b, c + d
    n = n1 + n2
    alpha = alpha_from_level(level)
    CMH = CMHp = TA = TAp = None
    if measure == "OR":
        R = a * d / n
        S = b * c / n
        Pp = (a + d) / n
        Qq = (b + c) / n
        sR, sS = R.sum(), S.sum()
        if sR == 0 or sS == 0:
            raise ValidationError("mh: the MH odds ratio is 0 or infinite for these tables")
        est = math.log(sR / sS)
        var = (
            np.sum(Pp * R) / (2 * sR**2)
            + np.sum(Pp * S + Qq * R) / (2 * sR * sS)
            + np.sum(Qq * S) / (2 * sS**2)
        )
        xt, yt = a + c, b + d
        ok = n > 1
        num = abs(float(np.sum(a - n1 * xt / n))) - (0.5 if correct else 0.0)
        den = float(np.sum((xt * yt * (n1 / n) * (n2 / n) / (n - 1))[ok]))
        CMH = max(0.0, num) ** 2 / den
        CMHp = float(stats.chi2.sf(CMH, 1))
        TA, TAp = _tarone(a, n1, n2, xt, math.exp(est))
    elif measure == "RR":
        R = a * n2 / n
        S = c * n1 / n
        sR, sS = R.sum(), S.sum()
        if sR == 0 or sS == 0:
            raise ValidationError("mh: the MH risk ratio is 0 or infinite for these tables")
        est = math.log(sR / sS)
        var = float(np.sum((n1 * n2 * (a + c) - a * c * n) / n**2)) / (sR * sS)
    else:
        W = float(np.sum(n1 * n2 / n))
        est = float(np.sum((a * n2 - c * n1) / n)) / W
        Pp = (n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2
        Qq = (a * (n2 - c) + c * (n1 - a)) / (2 * n)
        var = (est * float(Pp.sum()) + float(Qq.sum())) / W**2
    se = math.sqrt(var)
    z = est / se
    crit = float(stats.norm.isf(alpha / 2))
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, drop00=True)
    QE, QEp, I2, H2, _ = _q_stats(es["yi"].to_numpy(), es["vi"].to_numpy(), est)
    prov = provenance(
        {"measure": measure, "level": level, "correct": correct},
        None,
        engine="taperwise.stats.meta.rma_mh",
    )
    return MHResult(
        method="MH", measure=measure, k=k, estimate=est, se=se, zval=z, pval=float(2 * stats.norm.sf(abs(z))),
        ci_lb=est - crit * se, ci_ub=est + crit * se, QE=QE, QEp=QEp, I2=I2, H2=H2,
        CMH=CMH, CMHp=CMHp, TA=TA, TAp=TAp, provenance=prov, tables=(a, b, c, d), level=level,
    )  # fmt: skip


def _tarone(
    a: np.ndarray, n1: np.ndarray, n2: np.ndarray, xt: np.ndarray, psi: float
) -> tuple[float, float]:
    """Breslow-Day statistic with Tarone's correction for a common odds ratio ``psi``."""
    lo = np.maximum(0.0, xt - n2)
    hi = np.minimum(xt, n1)
    # expected ai solves A (n2 - xt + A) = psi (n1 - A)(xt - A): quadratic in A
    qa = 1 - psi
    qb = (n2 - xt) + psi * (n1 + xt)
    qc = -psi * n1 * xt
    with np.errstate(invalid="ignore", divide="ignore"):
        if abs(qa) < 1e-14:
            A = -qc / qb
        else:
            disc = np.sqrt(qb**2 - 4 * qa * qc)
            r1 = (-qb + disc) / (2 * qa)
            r2 = (-qb - disc) / (2 * qa)
            A = np.where((r1 >= lo - 1e-9) & (r1 <= hi + 1e-9), r1, r2)
        V = 1 / (1 / A + 1 / (n1 - A) + 1 / (xt - A) + 1 / (n2 - xt + A))
    ok = np.isfinite(V) & (V > 0) & (hi > lo)
    kk = int(ok.sum())
    if kk < 2:
        return math.nan, math.nan
    bd = float(np.sum((a[ok] - A[ok]) ** 2 / V[ok]))
    ta = bd - float(np.sum(a[ok] - A[ok])) ** 2 / float(np.sum(V[ok]))
    return ta, float(stats.chi2.sf(ta, kk - 1))


def rma_peto(
    *,
    ai: Any,
    bi: Any = None,
    ci: Any,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    level: float = 95,
) -> MHResult:
    """Peto's one-step pooled log odds ratio (metafor ``rma.peto``).

    Examples
    --------
    >>> res = rma_peto(ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
    >>> res.method
    'PETO'
    """
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i, data)
    k = len(a)
    if k == 0:
        raise ValidationError("peto: no tables with both arms non-empty")
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        V = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    sV = float(V.sum())
    if sV <= 0:
        raise ValidationError("peto: no table has both events and non-events")
    est = float(np.sum(a - E)) / sV
    se = 1 / math.sqrt(sV)
    z = est / se
    crit = float(stats.norm.isf(alpha_from_level(level) / 2))
    ok = V > 0
    kq = int(ok.sum())
    QE = max(0.0, float(np.sum((a - E)[ok] ** 2 / V[ok])) - float(np.sum((a - E)[ok])) ** 2 / sV)
    if kq > 1:
        QEp = float(stats.chi2.sf(QE, kq - 1))
        I2 = max(0.0, 100 * (QE - (kq - 1)) / QE) if QE > 0 else 0.0
        H2 = QE / (kq - 1)
    else:
        QEp, I2, H2 = 1.0, 0.0, 1.0
    prov = provenance({"level": level}, None, engine="taperwise.stats.meta.rma_peto")
    return MHResult(
        method="PETO", measure="PETO", k=k, estimate=est, se=se, zval=z, pval=float(2 * stats.norm.sf(abs(z))),
        ci_lb=est - crit * se, ci_ub=est + crit * se, QE=QE, QEp=QEp, I2=I2, H2=H2, provenance=prov,
        tables=(a, b, c, d), level=level,
    )  # fmt: skip


def refit_subset(res: MHResult, idx: np.ndarray) -> MHResult:
    """Refit an MH or Peto result on a subset of its tables (leave-one-out, cumulative)."""
    a, b, c, d = (t[idx] for t in res.tables)
    if res.method == "PETO":
        return rma_peto(ai=a, bi=b, ci=c, di=d, level=res.level)
    return rma_mh(res.measure, ai=a, bi=b, ci=c, di=d, level=res.level)
