"""Covariance structures and their derivatives.

Each structure maps an unconstrained parameter vector ``theta`` to a covariance matrix over the
visits, with the parameterisation of R's ``mmrm`` (log standard deviations; correlations through
``x / sqrt(1 + x^2)``; for ``us`` the row-wise lower triangle of the scaled Cholesky factor;
``sp_exp`` uses ``rho = invlogit(theta_2)``).  Using the same parameterisation keeps the
Kenward-Roger second-derivative term comparable with mmrm.

First derivatives are exact: analytic for ``us``, complex-step for the others (complex-step
differentiation has no subtractive cancellation, so it is exact to rounding).  Second
derivatives are analytic for ``us`` and central differences of the exact first derivatives
otherwise (about 1e-9 relative), which is ample for the observed information and Kenward-Roger.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_H_CS = 1e-30


@lru_cache(maxsize=64)
def _row_wise_tril(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Strictly lower-triangular indices in row-wise order (mmrm's ``us`` theta order)."""
    ii, jj = np.tril_indices(m, -1)
    order = np.lexsort((jj, ii))
    return ii[order], jj[order]


def _cor(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(1.0 + x * x)


def _inv_cor(r: np.ndarray | float) -> np.ndarray:
    r = np.clip(r, -0.95, 0.95)
    return r / np.sqrt(1.0 - r * r)


@dataclass(frozen=True)
class Structure:
    """A covariance structure for ``m`` visits (or, for spatial ones, a coordinate metric)."""

    name: str
    m: int

    # ---- size and names -------------------------------------------------------------------
    @property
    def n_theta(self) -> int:
        m, n = self.m, self.name
        if n == "us":
            return m * (m + 1) // 2
        if n in ("toep", "ad"):
            return 1 + (m - 1)
        if n in ("toeph", "adh"):
            return m + (m - 1)
        if n in ("ar1", "cs", "sp_exp"):
            return 2
        if n in ("ar1h", "csh"):
            return m + 1
        raise ValueError(n)

    def theta_names(self, visits: tuple[str, ...]) -> list[str]:
        n, m = self.name, self.m
        if n == "sp_exp":
            return ["log_sd", "logit_rho"]
        hetero = n in ("us", "toeph", "adh", "ar1h", "csh")
        sd = [f"log_sd[{v}]" for v in visits] if hetero else ["log_sd"]
        if n == "us":
            return sd + [f"chol[{visits[i]},{visits[j]}]" for i in range(m) for j in range(i)]
        if n in ("toep", "toeph"):
            return sd + [f"cor_raw[lag {k}]" for k in range(1, m)]
        if n in ("ad", "adh"):
            return sd + [f"cor_raw[{visits[k]},{visits[k + 1]}]" for k in range(m - 1)]
        return sd + ["cor_raw"]

    # ---- matrices (vectorised over a leading batch axis of theta, complex-safe) -------------
    def sigma_batch(self, theta: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
        """Covariance matrices for a batch ``theta`` of shape (B, n_theta) -> (B, m, m).

        For ``sp_exp`` ``dist`` is (P, K, K) distances and the result is (B, P, K, K).
        """
        n, m = self.name, self.m
        B = theta.shape[0]
        if n == "sp_exp":
            var = np.exp(2.0 * theta[:, 0])
            rho = 1.0 / (1.0 + np.exp(-theta[:, 1]))
            return var[:, None, None, None] * np.exp(dist[None] * np.log(rho)[:, None, None, None])
        if n == "us":
            sd = np.exp(theta[:, :m])
            L = np.zeros((B, m, m), dtype=theta.dtype)
            ii, jj = np.tril_indices(m, -1)
            order = np.lexsort((jj, ii))  # row-wise
            ii, jj = ii[order], jj[order]
            L[:, ii, jj] = theta[:, m:]
            L[:, np.arange(m), np.arange(m)] = 1.0
            L = sd[:, :, None] * L
            return L @ np.swapaxes(L, 1, 2)
        hetero = n.endswith("h")
        k0 = m if hetero else 1
        sd = np.exp(theta[:, :k0])
        if not hetero:
            sd = np.repeat(sd, m, axis=1)
        r = _cor(theta[:, k0:])
        C = np.ones((B, m, m), dtype=theta.dtype)
        idx = np.arange(m)
        lag = np.abs(idx[:, None] - idx[None, :])
        if n in ("ar1", "ar1h"):
            C = r[:, 0][:, None, None] ** lag[None]
        elif n in ("cs", "csh"):
            C = np.where(lag[None] == 0, 1.0, r[:, 0][:, None, None] + 0 * C)
        elif n in ("toep", "toeph"):
            rr = np.concatenate([np.ones((B, 1), dtype=theta.dtype), r], axis=1)
            C = rr[:, lag]
        elif n in ("ad", "adh"):
            # corr(i, j) = product of the consecutive correlations between visits j..i
            C = np.ones((B, m, m), dtype=theta.dtype)
            for j in range(m):
                acc = np.ones(B, dtype=theta.dtype)
                for i in range(j + 1, m):
                    acc = acc * r[:, i - 1]
                    C[:, i, j] = acc
                    C[:, j, i] = acc
        return sd[:, :, None] * C * sd[:, None, :]

    def sigma(self, theta: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
        return self.sigma_batch(np.asarray(theta, dtype=float)[None], dist)[0]

    def dsigma(self, theta: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
        """First derivatives, shape (n_theta, m, m) (spatial: (n_theta, P, K, K))."""
        theta = np.asarray(theta, dtype=float)
        if self.name == "us":
            return self._us_derivs(theta, second=False)[1]
        p = theta.size
        tb = theta[None, :] + 1j * _H_CS * np.eye(p)
        return self.sigma_batch(tb, dist).imag / _H_CS

    def d2sigma(self, theta: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
        """Second derivatives, shape (n_theta, n_theta, ...)."""
        theta = np.asarray(theta, dtype=float)
        if self.name == "us":
            return self._us_derivs(theta, second=True)[2]
        p = theta.size
        out = []
        for j in range(p):
            step = 1e-4 * max(1.0, abs(theta[j]))
            e = np.zeros(p)
            e[j] = step
            out.append((self.dsigma(theta + e, dist) - self.dsigma(theta - e, dist)) / (2 * step))
        d2 = np.stack(out, axis=1)
        return 0.5 * (d2 + np.swapaxes(d2, 0, 1))

    def _us_derivs(self, theta: np.ndarray, second: bool):
        m = self.m
        p = theta.size
        ii, jj = _row_wise_tril(m)
        rng = np.arange(m)
        koff = np.arange(ii.size)
        sd = np.exp(theta[:m])
        U = np.eye(m)
        U[ii, jj] = theta[m:]
        L = sd[:, None] * U
        S = L @ L.T
        dL = np.zeros((p, m, m))
        dL[rng, rng, :] = L
        dL[m + koff, ii, jj] = sd[ii]
        LdT = dL @ L.T  # dL_k L'
        dS = LdT + np.swapaxes(LdT, 1, 2)
        if not second:
            return S, dS, None
        d2L = np.zeros((p, p, m, m))
        d2L[rng, rng, rng, :] = L
        d2L[ii, m + koff, ii, jj] = sd[ii]
        d2L[m + koff, ii, ii, jj] = sd[ii]
        t1 = d2L @ L.T
        t2 = dL[:, None] @ np.swapaxes(dL, 1, 2)[None]
        d2S = t1 + np.swapaxes(t1, 2, 3) + t2 + np.swapaxes(t2, 2, 3)
        return S, dS, d2S

    # ---- starting values -------------------------------------------------------------------
    def start(self, emp: np.ndarray) -> np.ndarray:
        """Starting ``theta`` from an empirical covariance matrix (m x m, may be rough)."""
        n, m = self.name, self.m
        d = np.clip(np.diag(emp), 1e-8, None)
        if n == "sp_exp":
            return np.array([0.5 * np.log(d.mean()), 0.0])
        if n == "us":
            S = emp.copy()
            try:
                L = np.linalg.cholesky(S)
            except np.linalg.LinAlgError:
                L = np.diag(np.sqrt(d))
            sd = np.diag(L)
            U = L / sd[:, None]
            ii, jj = np.tril_indices(m, -1)
            order = np.lexsort((jj, ii))
            return np.concatenate([np.log(sd), U[ii[order], jj[order]]])
        hetero = n.endswith("h")
        sdpart = 0.5 * np.log(d) if hetero else np.array([0.5 * np.log(d.mean())])
        cor = emp / np.sqrt(np.outer(d, d))
        idx = np.arange(m)
        lag = np.abs(idx[:, None] - idx[None, :])
        if n in ("ar1", "ar1h"):
            r = np.array([cor[lag == 1].mean() if m > 1 else 0.3])
        elif n in ("cs", "csh"):
            r = np.array([cor[lag > 0].mean() if m > 1 else 0.3])
        elif n in ("toep", "toeph"):
            r = np.array([cor[lag == k].mean() for k in range(1, m)])
        else:
            r = np.array([cor[k + 1, k] for k in range(m - 1)])
        r = np.where(np.isfinite(r), r, 0.3)
        return np.concatenate([sdpart, _inv_cor(np.clip(r, 0.05, 0.95))])

    def std_start(self) -> np.ndarray:
        """mmrm's standard start: identity covariance (0.5 correlation for ar1-type)."""
        t = np.zeros(self.n_theta)
        if self.name in ("ar1", "ar1h"):
            t[-1] = _inv_cor(0.5)
        return t
