"""Charts of the trial report as inline SVG text (matplotlib, Agg backend, no external fonts)."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

_COLOURS = ("#4d4d4d", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "taperwise"})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE (external DTD URL)
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def colour_of(arms: list[str]) -> dict[str, str]:
    return {a: _COLOURS[i % len(_COLOURS)] for i, a in enumerate(arms)}


def trajectory_chart(result: Any, instrument: str) -> str | None:
    """Model LS means with CIs by arm and day (solid) and observed means (dotted)."""
    primary = result.primary or {}
    ls = primary.get("lsmeans") or []
    obs = result.trajectories or []
    if not ls and not obs:
        return None
    plt = _plt()
    arms = [a["id"] for a in result.arms]
    col = colour_of(arms)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    offsets = np.linspace(-0.12, 0.12, max(len(arms), 1))
    for k, arm in enumerate(arms):
        rows = sorted((r for r in ls if r["arm"] == arm), key=lambda r: r["day"])
        if rows:
            x = np.array([r["day"] for r in rows]) + offsets[k]
            y = np.array([r["estimate"] for r in rows])
            err = np.array(
                [
                    [r["estimate"] - r["ci_lb"] for r in rows],
                    [r["ci_ub"] - r["estimate"] for r in rows],
                ]
            )
            ax.errorbar(
                x,
                y,
                yerr=err,
                marker="o",
                ms=4,
                capsize=3,
                color=col[arm],
                label=f"{arm} (LS mean, CI)",
            )
        o = sorted((r for r in obs if r["arm"] == arm), key=lambda r: r["day"])
        if o:
            ax.plot(
                [r["day"] for r in o],
                [r["mean"] for r in o],
                ls=":",
                color=col[arm],
                alpha=0.8,
                label=f"{arm} (observed mean)",
            )
    ax.set_xlabel("study day")
    ax.set_ylabel(f"{instrument} score")
    ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    return _svg(fig)


def km_chart(result: Any) -> str | None:
    """Kaplan-Meier curves of staying in the study (dropout = event) with pointwise CIs."""
    km = (result.time_to_dropout or {}).get("km") or {}
    if not km:
        return None
    plt = _plt()
    col = colour_of([a["id"] for a in result.arms])
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for arm, k in km.items():
        t = np.asarray(k["time"], dtype=float)
        ax.step(t, k["survival"], where="post", color=col.get(arm), label=f"{arm} (n={k['n']})")
        ax.fill_between(t, k["ci_lb"], k["ci_ub"], step="post", color=col.get(arm), alpha=0.15)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("study day")
    ax.set_ylabel("proportion still in the study")
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    return _svg(fig)


def forest_rows(result: Any) -> tuple[list[dict], list[dict]]:
    """(difference rows, ratio rows) for the forest plot: label, estimate, ci_lb, ci_ub."""
    diff, ratio = [], []
    for c in (result.primary or {}).get("contrasts") or []:
        diff.append({"label": f"Primary: {c['arm']} vs {c['vs']}", **c})
    for name, block in (result.sensitivity or {}).items():
        for c in (block or {}).get("contrasts") or []:
            diff.append({"label": f"{name.replace('_', ' ')}: {c['arm']} vs {c['vs']}", **c})
    for c in ((result.scores or {}).get("peak") or {}).get("comparisons") or []:
        diff.append({"label": f"Peak: {c['arm']} vs {c['vs']}", **c})
    for c in (result.completion or {}).get("comparisons") or []:
        ratio.append({"label": f"Completion RR: {c['arm']} vs {c['vs']}", **c["risk_ratio"]})
    for c in (result.time_to_dropout or {}).get("hazard_ratios") or []:
        ratio.append({"label": f"Dropout HR: {c['arm']} vs {c['vs']}", **c})
    ok = [r for r in diff if r.get("ci_lb") is not None and r.get("ci_ub") is not None]
    okr = [r for r in ratio if r.get("ci_lb") and r.get("ci_ub") and r["ci_ub"] < 1e6]
    return ok, okr


def forest_chart(result: Any) -> str | None:
    """Forest plot: score differences (left) and ratio measures on a log scale (right)."""
    diff, ratio = forest_rows(result)
    if not diff and not ratio:
        return None
    plt = _plt()
    n = max(len(diff), len(ratio), 1)
    panels = [
        p
        for p in (
            ("difference (arm - control)", diff, False),
            ("ratio (arm / control)", ratio, True),
        )
        if p[1]
    ]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.8 * len(panels) / 1.4, 0.32 * n + 1.0), squeeze=False
    )
    for ax, (title, rows, log) in zip(axes[0], panels, strict=True):
        y = np.arange(len(rows))[::-1]
        est = np.array([r["estimate"] for r in rows])
        lo = np.array([r["ci_lb"] for r in rows])
        hi = np.array([r["ci_ub"] for r in rows])
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="s", ms=4, color="#1f4e79", capsize=2)
        ax.axvline(1.0 if log else 0.0, color="#888", lw=0.8)
        if log:
            ax.set_xscale("log")
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"] for r in rows], fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _svg(fig)
