"""Scoring pipeline: counts -> (squash) -> GPS fit -> one row of scores per pair."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import ConvergenceError, ValidationError
from taperwise.provenance import provenance
from taperwise.signals.counting import Counts, count_pairs, expected_counts
from taperwise.signals.normalize import ProductNormalizer
from taperwise.signals.source import LongSource
from taperwise.stats.gps import GPS, GPSFit, Squashed, auto_squash, neg_loglik, score_pairs
from taperwise.stats.gps.squash import (
    squash_log_bins,
    zero_cells_from_margins,
    zero_cells_stratified,
)

__all__ = ["OUTPUT_COLUMNS", "ScoreResult", "fit_prior", "score_counts", "score_source"]

log = logging.getLogger(__name__)

#: Columns of the score table, in order (issue 5).
OUTPUT_COLUMNS = (
    "drug",
    "event",
    "n",
    "expected",
    "prr",
    "ror",
    "ror_lb",
    "ror_ub",
    "ic",
    "ic025",
    "qn",
    "ebgm",
    "eb05",
    "eb95",
)
SQUASH = ("auto", "none", "log-bins")
LIKELIHOODS = ("auto", "truncated", "all_cells")


@dataclass(frozen=True)
class ScoreResult:
    """Scores of every observed pair plus the prior they used.

    Attributes
    ----------
    table
        DataFrame with :data:`OUTPUT_COLUMNS` (plus ``prr_lb, prr_ub, chi2, evans`` when
        ``extra=True``); ``drug`` and ``event`` are categoricals.
    theta
        Prior (alpha1, beta1, alpha2, beta2, P), fitted or given.
    neg_loglik
        -LL of ``theta`` on the points it was fitted on (or, for a given theta, on all pairs
        under the truncated likelihood).
    pairs, reports
        Observed pairs; reports in the analysis set (N).
    fit
        The GPS fit (``None`` when theta was given).
    """

    table: pd.DataFrame
    theta: tuple[float, ...]
    neg_loglik: float
    pairs: int
    reports: int
    fit: GPSFit | None
    counts: Counts = field(repr=False)
    provenance: dict[str, Any] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` document of ``taperwise signals score``."""
        out: dict[str, Any] = {
            "theta": list(self.theta),
            "neg_loglik": self.neg_loglik,
            "pairs": self.pairs,
            "reports": self.reports,
            "products": int(len(self.counts.drugs)),
            "events": int(len(self.counts.events)),
            "dropped_rows": self.counts.dropped_rows,
            "margins": self.counts.margins,
            "strata": [s.replace("\x1f", " | ") for s in self.counts.strata],
            "signals": {
                "eb05_ge_2": int(np.sum(self.table["eb05"].to_numpy() >= 2)),
                "ebgm_gt_3": int(np.sum(self.table["ebgm"].to_numpy() > 3)),
                "ic025_gt_0": int(np.sum(self.table["ic025"].to_numpy() > 0)),
                "ror_lb_gt_1": int(np.nansum(self.table["ror_lb"].to_numpy() > 1)),
            },
        }
        if self.fit is not None:
            out["fit"] = {
                "likelihood": self.fit.likelihood,
                "points": self.fit.n_points,
                "agreeing_starts": self.fit.agreeing_starts,
                "boundary": self.fit.boundary,
            }
        out["provenance"] = self.provenance
        return out


def _squash(n: np.ndarray, e: np.ndarray, mode: str, max_points: int) -> Squashed:
    data = Squashed.unsquashed(n, e)
    if mode == "none" or (mode == "auto" and n.size <= max_points):
        return data
    if mode == "auto":
        data = auto_squash(data)
        if len(data) <= max_points:
            return data
    return squash_log_bins(data, bins_per_decade=50)


def _zero_cells(counts: Counts, expected: np.ndarray, max_cells: float = 2e9) -> Squashed:
    if not counts.strata:
        return zero_cells_from_margins(
            counts.drug_margin, counts.event_margin, float(counts.n_total), expected
        )
    cells = float(len(counts.drugs)) * float(len(counts.events))
    if cells > max_cells:
        raise ValidationError(
            f"the all-cells likelihood with strata needs every product x event cell ({cells:.3g} > {max_cells:.3g}); "
            "drop --strata or use --likelihood truncated"
        )
    return zero_cells_stratified(
        counts.drug_margin_s, counts.event_margin_s, counts.n_total_s, expected
    )


def fit_prior(
    counts: Counts,
    expected: np.ndarray,
    *,
    likelihood: str = "auto",
    squash: str = "auto",
    max_points: int = 20000,
    model: GPS | None = None,
) -> GPSFit:
    """Fit the GPS prior to observed pairs (and, for ``all_cells``, the squashed zero cells).

    ``likelihood="auto"`` fits openEBGM's zero-truncated likelihood first and falls back to the
    all-cells likelihood when that fit is degenerate (boundary) or fails, as it does at FAERS
    scale (pharmacovigilance.md §4); the result's ``likelihood`` says which one was used.
    """
    if squash not in SQUASH:
        raise ValidationError(f"squash '{squash}' is not allowed; use {', '.join(SQUASH)}")
    if likelihood not in LIKELIHOODS:
        raise ValidationError(
            f"likelihood '{likelihood}' is not allowed; use {', '.join(LIKELIHOODS)}"
        )
    pts = _squash(counts.n, expected, squash, max_points)
    if likelihood in ("truncated", "auto"):
        if model is not None:
            return model.fit(pts)
        if likelihood == "truncated":
            return GPS(likelihood="truncated").fit(pts)
        try:
            fit = GPS(likelihood="truncated", on_boundary="ignore").fit(pts)
            if not fit.boundary:
                return fit
            log.warning(
                "zero-truncated GPS fit is degenerate (theta=%s); refitting on all cells",
                list(fit.theta),
            )
        except ConvergenceError as exc:
            log.warning("zero-truncated GPS fit failed (%s); refitting on all cells", exc)
    zeros = _zero_cells(counts, expected)
    pts = Squashed(
        np.concatenate([zeros.n, pts.n]),
        np.concatenate([zeros.e, pts.e]),
        np.concatenate([zeros.weight, pts.weight]),
    )
    return (model or GPS(likelihood="all_cells")).fit(pts)


def score_counts(
    counts: Counts,
    *,
    theta: Sequence[float] | None = None,
    likelihood: str = "auto",
    squash: str = "auto",
    extra: bool = False,
    options: dict[str, Any] | None = None,
) -> ScoreResult:
    """Fit (unless ``theta`` is given) and score every observed pair of ``counts``."""
    if counts.n_pairs == 0:
        raise ValidationError("no (product, event) pair left to score after filtering")
    e = expected_counts(counts)
    fit: GPSFit | None = None
    if theta is None:
        fit = fit_prior(counts, e, likelihood=likelihood, squash=squash)
        theta_t = tuple(fit.theta)
        nll = fit.neg_loglik
    else:
        theta_t = tuple(float(v) for v in theta)
        nll = neg_loglik(theta_t, counts.n, e, truncation=1)
    s = score_pairs(
        counts.n,
        e,
        counts.drug_margin[counts.pair_drug],
        counts.event_margin[counts.pair_event],
        counts.n_total,
        theta_t,
    )
    cols = s.as_dict()
    table = pd.DataFrame(
        {
            "drug": pd.Categorical.from_codes(
                counts.pair_drug, categories=pd.Index(counts.drugs, dtype=object)
            ),
            "event": pd.Categorical.from_codes(
                counts.pair_event, categories=pd.Index(counts.events, dtype=object)
            ),
            "n": counts.n,
        }
    )
    for name in OUTPUT_COLUMNS[3:]:
        table[name] = cols[name]
    if extra:
        for name in ("prr_lb", "prr_ub", "chi2", "evans"):
            table[name] = cols[name]
    opts = dict(options or {})
    opts.update(
        {
            "likelihood": likelihood,
            "squash": squash,
            "theta_given": theta is not None,
            "margins": counts.margins,
        }
    )
    return ScoreResult(
        table=table,
        theta=theta_t,
        neg_loglik=float(nll),
        pairs=counts.n_pairs,
        reports=counts.n_total,
        fit=fit,
        counts=counts,
        provenance=provenance(
            opts,
            fit_starts=None
            if fit is None
            else [list(r.theta) + [r.neg_loglik] for r in fit.starts],
        ),
    )


def score_source(
    source: LongSource,
    *,
    backend: str = "duckdb",
    margins: str = "reports",
    roles: Sequence[str] | None = ("PS", "SS"),
    normalizer: ProductNormalizer | None = None,
    theta: Sequence[float] | None = None,
    likelihood: str = "auto",
    squash: str = "auto",
    extra: bool = False,
    dask_client: Any = None,
    progress: Callable[[str], None] | None = None,
    **backend_options: Any,
) -> ScoreResult:
    """Count, fit and score in one call.

    Examples
    --------
    >>> import pandas as pd
    >>> from taperwise.signals.source import open_source
    >>> df = pd.DataFrame({"id": [1, 1, 2, 3], "drug": ["A", "A", "B", "A"], "event": ["x", "y", "x", "x"]})
    >>> res = score_source(open_source(df), theta=[0.2, 0.1, 2, 4, 0.3])
    >>> res.table.columns.tolist()[:4], res.reports
    (['drug', 'event', 'n', 'expected'], 3)
    """
    counts = count_pairs(
        source,
        backend=backend,
        margins=margins,
        roles=roles,
        normalizer=normalizer,
        dask_client=dask_client,
        progress=progress,
        **backend_options,
    )
    options = {
        "backend": backend,
        "roles": None if roles is None or source.role_col is None else list(roles),
        "normalized": normalizer is not None,
        "strata": list(source.strata),
        "input": str(source.path) if source.path is not None else "frame",
    }
    return score_counts(
        counts, theta=theta, likelihood=likelihood, squash=squash, extra=extra, options=options
    )
