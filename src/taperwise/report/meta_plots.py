"""Forest and funnel plots for meta-analysis results (metafor-style layout), PNG or SVG.

These functions write files, so they live in ``report/`` (``stats/`` stays pure).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from taperwise.errors import ValidationError

FORMATS = (".png", ".svg", ".pdf")


def _figure_backend():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _check_out(out: str | Path) -> Path:
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise ValidationError(f"plot: output '{path}' must end in {', '.join(FORMATS)}")
    if not path.parent.exists():
        raise ValidationError(f"plot: folder '{path.parent}' does not exist")
    return path


def forest_plot(
    res: Any,
    out: str | Path,
    *,
    labels: Sequence[str] | None = None,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
    xlab: str = "Observed Outcome",
    refline: float | None = 0.0,
    title: str | None = None,
) -> Path:
    """Forest plot of an intercept-only :class:`~taperwise.stats.meta.RMAResult`.

    Layout as metafor's ``forest.rma``: one row per study (square sized by weight, CI whiskers),
    labels on the left, "estimate [CI]" on the right, the pooled estimate as a diamond at the
    bottom with the prediction interval as a dotted line, and a reference line.

    Examples
    --------
    >>> import tempfile, os
    >>> from taperwise.stats.meta import RMA
    >>> res = RMA(method="DL").fit(yi=[0.1, 0.5, 0.9], vi=[0.02, 0.03, 0.05])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = forest_plot(res, os.path.join(d, "f.svg"))
    ...     p.exists()
    True
    """
    path = _check_out(out)
    if not getattr(res, "intercept_only", False):
        raise ValidationError("forest: only models without moderators are supported")
    plt = _figure_backend()
    k = res.k
    labels = list(labels) if labels is not None else [f"Study {i + 1}" for i in range(k)]
    if len(labels) != k:
        raise ValidationError(f"forest: {len(labels)} labels for {k} studies")
    yi, vi = res.yi, res.vi
    crit = 1.959963984540054
    lo, hi = yi - crit * np.sqrt(vi), yi + crit * np.sqrt(vi)
    pred = res.predict()
    est, cl, cu, pl, pu = (
        float(pred.loc[0, c]) for c in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
    )
    tf = transf or (lambda x: x)
    wts = res.core.wi / res.core.wi.sum()
    rows = np.arange(k, 0, -1) + 1.0
    height = 0.35 * (k + 4) + 1
    fig, ax = plt.subplots(figsize=(8, height))
    for r, a, b in zip(rows, lo, hi, strict=True):
        ax.plot([a, b], [r, r], color="black", lw=1)
    sizes = 40 + 260 * wts / wts.max()
    ax.scatter(yi, rows, marker="s", s=sizes, color="black", zorder=3)
    ax.fill([cl, est, cu, est], [0, 0.3, 0, -0.3], color="black", zorder=3)
    if res.method not in ("EE", "FE", "CE") and math.isfinite(pl):
        ax.plot([pl, pu], [0, 0], color="black", lw=1, ls=":")
    if refline is not None:
        ax.axvline(refline, color="black", lw=0.8, ls="--")
    ax.set_yticks([*rows, 0])
    model = "EE Model" if res.method in ("EE", "FE", "CE") else "RE Model"
    ax.set_yticklabels([*labels, model])
    ax.set_ylim(-1, k + 2.5)
    ax.axhline(1.0, color="black", lw=0.8)
    right = [f"{tf(np.array([y]))[0]:.2f} [{tf(np.array([a]))[0]:.2f}, {tf(np.array([b]))[0]:.2f}]"
             for y, a, b in zip(yi, lo, hi, strict=True)]  # fmt: skip
    right.append(
        f"{tf(np.array([est]))[0]:.2f} [{tf(np.array([cl]))[0]:.2f}, {tf(np.array([cu]))[0]:.2f}]"
    )
    ax2 = ax.twinx()
    ax2.set_ylim(ax.get_ylim())
    ax2.set_yticks([*rows, 0])
    ax2.set_yticklabels(right, family="monospace")
    for a in (ax, ax2):
        a.tick_params(axis="y", length=0)
        for s in ("top", "right", "left"):
            a.spines[s].set_visible(False)
    if transf is not None:
        ticks = ax.get_xticks()
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:.2f}" for t in tf(ticks)])
    ax.set_xlabel(xlab)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def funnel_plot(
    res: Any,
    out: str | Path,
    *,
    xlab: str = "Observed Outcome",
    level: float = 95,
    filled: Any = None,
    title: str | None = None,
) -> Path:
    """Funnel plot (metafor ``funnel``): outcomes against standard errors (0 at the top), the
    pooled estimate as a vertical line and the pseudo-confidence region (white triangle on a grey
    background). ``filled``: a DataFrame of trim-and-fill studies (yi, vi) drawn as open circles.
    """
    path = _check_out(out)
    plt = _figure_backend()
    from scipy import stats

    sei = np.sqrt(res.vi)
    est = res.estimate if getattr(res, "intercept_only", True) else 0.0
    crit = float(stats.norm.isf((100 - level) / 200))
    ymax = (
        float(sei.max()) * 1.05
        if filled is None
        else float(max(sei.max(), np.sqrt(filled["vi"]).max())) * 1.05
    )
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.set_facecolor("lightgray")
    ax.fill([est - crit * ymax, est, est + crit * ymax], [ymax, 0, ymax], color="white", zorder=1)
    ax.plot(
        [est - crit * ymax, est, est + crit * ymax],
        [ymax, 0, ymax],
        color="black",
        lw=0.8,
        ls=":",
        zorder=2,
    )
    ax.axvline(est, color="black", lw=0.8, zorder=2)
    ax.scatter(res.yi, sei, color="black", s=25, zorder=3)
    if filled is not None and len(filled):
        ax.scatter(
            filled["yi"],
            np.sqrt(filled["vi"]),
            facecolors="white",
            edgecolors="black",
            s=25,
            zorder=3,
        )
    ax.set_ylim(ymax, 0)
    ax.set_xlabel(xlab)
    ax.set_ylabel("Standard Error")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
