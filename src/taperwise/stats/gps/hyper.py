"""Maximum-likelihood hyperparameters of the GPS prior, from several starts.

The optimiser works on (log alpha1, log beta1, log alpha2, log beta2, logit P), so every point it
visits is a valid prior; each start runs Nelder-Mead (robust on the flat alpha1 direction) and
then BFGS from its end point. The best converged start wins; the result says how many other
starts reached the same optimum (openEBGM ``autoHyper``'s consistency check, here on the
likelihood: within ``ll_tol``) and whether the optimum lies on the boundary (a shape or rate
below ``boundary_low`` or above ``boundary_high``, or P within ``boundary_low`` of 0 or 1),
which is how degenerate FAERS-scale fits show themselves (pharmacovigilance.md §4).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.provenance import provenance
from taperwise.stats.gps.likelihood import neg_loglik, neg_loglik_free
from taperwise.stats.gps.squash import Squashed

__all__ = ["DEFAULT_STARTS", "GPS", "GPSFit", "StartResult"]

log = logging.getLogger(__name__)

#: openEBGM vignettes 03-05 starting rows plus DuMouchel's "lightly justified" start.
DEFAULT_STARTS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.2, 0.1, 2.0, 4.0, 1.0 / 3.0),
    (0.1, 0.1, 10.0, 10.0, 0.2),
    (0.3, 0.5, 6.0, 6.0, 0.5),
    (0.5, 0.3, 12.0, 12.0, 0.8),
    (0.2, 0.06, 1.4, 1.8, 0.1),
)


def _to_free(theta: Sequence[float]) -> np.ndarray:
    a1, b1, a2, b2, p = theta
    return np.array([np.log(a1), np.log(b1), np.log(a2), np.log(b2), special.logit(p)])


def _from_free(x: np.ndarray) -> np.ndarray:
    return np.array([*np.exp(np.clip(x[:4], -700, 700)), special.expit(x[4])])


@dataclass(frozen=True)
class StartResult:
    """One local optimisation: its start, end point, -LL and whether it converged."""

    start: tuple[float, ...]
    theta: tuple[float, ...]
    neg_loglik: float
    converged: bool
    message: str


@dataclass(frozen=True)
class GPSFit:
    """Fitted GPS prior.

    Attributes
    ----------
    theta
        (alpha1, beta1, alpha2, beta2, P) at the best start.
    neg_loglik
        Objective at ``theta`` on the data it was fitted to.
    n_points, total_weight
        Points used (after squashing) and their summed weight.
    likelihood
        ``"truncated"`` (zero-truncated at ``n_star``) or ``"all_cells"``.
    agreeing_starts
        Converged starts (besides the best) whose -LL is within ``ll_tol`` of the best.
    boundary
        True when the optimum is on the parameter boundary (degenerate prior).
    starts
        Every start's outcome.
    provenance
        Options, versions.
    """

    theta: tuple[float, float, float, float, float]
    neg_loglik: float
    n_points: int
    total_weight: float
    likelihood: str
    n_star: int | None
    agreeing_starts: int
    boundary: bool
    starts: tuple[StartResult, ...]
    provenance: dict[str, Any] = field(repr=False)


class GPS:
    """Gamma-Poisson Shrinker hyperparameter model (DuMouchel 1999).

    Parameters
    ----------
    likelihood
        ``"truncated"`` (openEBGM default: only cells with N >= ``n_star``, each component
        truncated) or ``"all_cells"`` (zero cells included; pass them, usually squashed).
    n_star
        Truncation point of the truncated likelihood.
    starts
        Starting values (alpha1, beta1, alpha2, beta2, P).
    min_agree
        Other starts that must reach the best -LL (within ``ll_tol``) for the fit to be
        accepted; 0 accepts a single start.
    boundary_low, boundary_high
        Limits defining a boundary (degenerate) solution.
    on_boundary
        ``"warn"`` (log and flag), ``"raise"`` (ConvergenceError) or ``"ignore"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> e = rng.gamma(0.5, 1.0, 3000); lam = np.where(rng.uniform(size=3000) < 0.1,
    ...     rng.gamma(4, 1 / 2, 3000), rng.gamma(2, 2, 3000))
    >>> n = rng.poisson(lam * e); keep = n > 0
    >>> fit = GPS(min_agree=0).fit(n[keep], e[keep])
    >>> fit.likelihood, len(fit.theta)
    ('truncated', 5)
    """

    def __init__(
        self,
        *,
        likelihood: str = "truncated",
        n_star: int = 1,
        starts: Sequence[Sequence[float]] = DEFAULT_STARTS,
        min_agree: int = 1,
        ll_tol: float = 1e-4,
        boundary_low: float = 1e-4,
        boundary_high: float = 100.0,
        on_boundary: str = "warn",
        max_iter: int = 4000,
    ) -> None:
        self.likelihood = likelihood
        self.n_star = n_star
        self.starts = starts
        self.min_agree = min_agree
        self.ll_tol = ll_tol
        self.boundary_low = boundary_low
        self.boundary_high = boundary_high
        self.on_boundary = on_boundary
        self.max_iter = max_iter

    def options(self) -> dict[str, Any]:
        """The model's options as a plain dict (for provenance)."""
        return {
            "likelihood": self.likelihood,
            "n_star": self.n_star,
            "starts": [list(map(float, s)) for s in self.starts],
            "min_agree": self.min_agree,
            "ll_tol": self.ll_tol,
            "boundary_low": self.boundary_low,
            "boundary_high": self.boundary_high,
            "on_boundary": self.on_boundary,
        }

    def _validate(self, data: Squashed) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
        if self.likelihood not in ("truncated", "all_cells"):
            raise ValidationError(
                f"likelihood '{self.likelihood}' is not allowed; use truncated or all_cells"
            )
        if self.on_boundary not in ("warn", "raise", "ignore"):
            raise ValidationError(
                f"on_boundary '{self.on_boundary}' is not allowed; use warn, raise or ignore"
            )
        n, e, w = (
            data.n.astype(np.float64),
            data.e.astype(np.float64),
            data.weight.astype(np.float64),
        )
        if n.size == 0:
            raise ValidationError("GPS fit needs at least one cell")
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            raise ValidationError("expected counts E must be finite and > 0 for the GPS fit")
        if np.any(n < 0) or np.any(w <= 0):
            raise ValidationError("counts must be >= 0 and weights > 0 for the GPS fit")
        trunc: int | None = None
        if self.likelihood == "truncated":
            trunc = int(self.n_star)
            if trunc < 1:
                raise ValidationError(f"n_star must be >= 1; got {self.n_star}")
            keep = n >= trunc
            n, e, w = n[keep], e[keep], w[keep]
            if n.size == 0:
                raise ValidationError(f"no cell has N >= {trunc}")
        for s in self.starts:
            if len(s) != 5 or not (min(s[:4]) > 0 and 0 < s[4] < 1):
                raise ValidationError(
                    f"start {list(s)} is not a valid (alpha1, beta1, alpha2, beta2, P)"
                )
        return n, e, w, trunc

    def _is_boundary(self, theta: np.ndarray) -> bool:
        shapes = theta[:4]
        p = theta[4]
        return bool(
            np.any(shapes < self.boundary_low)
            or np.any(shapes > self.boundary_high)
            or p < self.boundary_low
            or p > 1 - self.boundary_low
        )

    def fit(self, n: object, e: object | None = None, weight: object | None = None) -> GPSFit:
        """Fit the prior to cells ``(n, e)`` or to a :class:`Squashed` object.

        Raises
        ------
        ConvergenceError
            No start converged, too few starts agree, or (``on_boundary="raise"``) the optimum
            is on the boundary.
        """
        if isinstance(n, Squashed):
            data = n
        else:
            if e is None:
                raise ValidationError("fit needs n and e (or one Squashed object)")
            n_arr = np.asarray(n, dtype=np.int64)
            e_arr = np.asarray(e, dtype=np.float64)
            w_arr = np.ones(n_arr.size) if weight is None else np.asarray(weight, dtype=np.float64)
            if not (n_arr.shape == e_arr.shape == w_arr.shape):
                raise ValidationError("n, e and weight must have the same length")
            data = Squashed(n_arr, e_arr, w_arr)
        nn, ee, ww, trunc = self._validate(data)
        # Identical (n, E) points contribute identically: collapse them (exact, and often a
        # several-fold speed-up because many pairs share both margins).
        n_in = int(nn.size)
        keys = np.stack([nn, ee], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        if len(uniq) < nn.size:
            ww = np.bincount(inverse.reshape(-1), weights=ww, minlength=len(uniq))
            nn, ee = uniq[:, 0].copy(), uniq[:, 1].copy()

        analytic = trunc is None or trunc == 1

        def objective(x: np.ndarray) -> float:
            return neg_loglik(_from_free(x), nn, ee, ww, truncation=trunc)

        def objective_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            return neg_loglik_free(x, nn, ee, ww, trunc)

        results: list[StartResult] = []
        for start in self.starts:
            x0 = _to_free(start)
            with np.errstate(all="ignore"):
                if analytic:
                    res = optimize.minimize(
                        objective_grad,
                        x0,
                        jac=True,
                        method="BFGS",
                        options={"gtol": 1e-9, "maxiter": self.max_iter},
                    )
                    grad_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
                else:
                    res = optimize.minimize(
                        objective,
                        x0,
                        method="Nelder-Mead",
                        options={"maxiter": self.max_iter, "xatol": 1e-8, "fatol": 1e-10},
                    )
                    res = optimize.minimize(objective, res.x, method="BFGS", options={"gtol": 1e-6})
                    grad_norm = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
            theta = _from_free(res.x)
            # "precision loss" at the optimum is normal for BFGS; accept a small gradient instead
            # (the gradient scales with the total weight, so the threshold is relative to -LL)
            converged = bool(np.isfinite(res.fun)) and (
                bool(res.success) or grad_norm < 1e-3 + 1e-6 * abs(float(res.fun))
            )
            results.append(
                StartResult(
                    tuple(map(float, start)),
                    tuple(map(float, theta)),
                    float(res.fun),
                    converged,
                    str(res.message),
                )
            )
        ok = [r for r in results if r.converged and np.isfinite(r.neg_loglik)]
        if not ok:
            raise ConvergenceError(
                "GPS hyperparameter fit did not converge from any start; try other starts, "
                "another squash or likelihood='all_cells'"
            )
        inside = [r for r in ok if not self._is_boundary(np.array(r.theta))]
        best = min(inside or ok, key=lambda r: r.neg_loglik)
        tol = self.ll_tol + 1e-9 * abs(best.neg_loglik)
        agree = sum(
            1
            for r in (inside or ok)
            if r is not best and abs(r.neg_loglik - best.neg_loglik) <= tol
        )
        if agree < self.min_agree:
            raise ConvergenceError(
                f"consistent convergence failed: {agree} other start(s) reached -LL {best.neg_loglik:.6f}, "
                f"{self.min_agree} needed; try more starts or another squash"
            )
        theta_best = np.array(best.theta)
        boundary = self._is_boundary(theta_best)
        if boundary:
            message = f"GPS fit is on the parameter boundary (degenerate prior): theta={theta_best.tolist()}"
            if self.on_boundary == "raise":
                raise ConvergenceError(message + "; try likelihood='all_cells'")
            if self.on_boundary == "warn":
                log.warning(message)
        return GPSFit(
            theta=tuple(float(v) for v in theta_best),  # type: ignore[arg-type]
            neg_loglik=float(best.neg_loglik),
            n_points=n_in,
            total_weight=float(ww.sum()),
            likelihood=self.likelihood,
            n_star=trunc,
            agreeing_starts=agree,
            boundary=boundary,
            starts=tuple(results),
            provenance=provenance(self.options()),
        )
