"""The generating model: daily withdrawal scores with heterogeneity, correlation and MNAR dropout.

Everything is vectorised over participants; one call draws one trial from one generator, always in
the same order, so a seed fixes the trial exactly. See :mod:`taperwise.simulate.params` for the
model equations and the meaning of every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

from taperwise.simulate.params import ArmModel, Scenario

#: Reasons a simulated participant leaves (analysis-dataset ``exit_reason`` values).
EXIT_REASONS = ("completed", "lack_of_efficacy", "adverse_event", "other")


@lru_cache(maxsize=16)
def instrument_max(instrument: str) -> int:
    """Maximum total of an instrument (e.g. 30 for SOWS-Gossop, 48 for COWS)."""
    from taperwise.instruments import get_instrument

    return int(get_instrument(instrument).max_total)


def course(t: np.ndarray | float, peak_day: float) -> np.ndarray:
    """Gamma-shaped withdrawal course ``(t / t_p) exp(1 - t / t_p)``: 0 at day 0, 1 at the peak.

    Examples
    --------
    >>> float(course(2.5, 2.5))
    1.0
    """
    x = np.asarray(t, dtype=float) / peak_day
    return x * np.exp(1.0 - x)


def arm_profile(arm: ArmModel, days: int) -> np.ndarray:
    """Per-day multiplier of the arm's effect on days 1..days (time-varying effect)."""
    if not arm.profile:
        return np.ones(days)
    return np.asarray(arm.profile[:days], dtype=float)


def mean_course(scenario: Scenario, arm: ArmModel) -> np.ndarray:
    """Median-scale mean ``mu_a(t)`` for days 0..T (day 0 = ``baseline_mean``)."""
    tr = scenario.trajectory
    t = np.arange(1, tr.days + 1, dtype=float)
    eff = scenario.arm_effect(arm) * arm_profile(arm, tr.days)
    mu = tr.floor_level + tr.amplitude * course(t, tr.peak_day) * (1.0 - eff)
    return np.concatenate([[tr.baseline_mean], mu])


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial as arrays (the fast path); :func:`to_dataset` makes the tables.

    Attributes
    ----------
    arms : tuple of str
        Arm ids, in scenario order.
    arm_index : ndarray (n,)
        Arm of each participant (index into ``arms``).
    baseline : ndarray (n,)
        Day-0 score.
    scores : ndarray (n, T)
        Observed totals on days 1..T (NaN after the participant left).
    full_scores : ndarray (n, T)
        Totals had nobody left (for estimand checks; never analysed).
    gi_points : ndarray (n, T)
        Points the product added to GI items (part of ``scores``).
    gi_flag : ndarray (n, T)
        Rater flagged the GI score as attributed to the study product.
    exit_day : ndarray (n,)
        Last day assessed (T for completers).
    reason : ndarray (n,)
        Index into :data:`EXIT_REASONS`.
    """

    scenario: Scenario
    arms: tuple[str, ...]
    arm_index: np.ndarray
    baseline: np.ndarray
    scores: np.ndarray
    full_scores: np.ndarray
    gi_points: np.ndarray
    gi_flag: np.ndarray
    exit_day: np.ndarray
    reason: np.ndarray

    @property
    def n(self) -> int:
        return int(self.arm_index.size)

    @property
    def completed(self) -> np.ndarray:
        return self.reason == 0

    def arm_summary(self) -> list[dict[str, float]]:
        """Per-arm n, 7-day completion, observed mean over days 1-7 and day-3 mean.

        ``mean_score_days_1_7`` is the mean over participants of each participant's mean observed
        score over days 1-7 (how Alam 2020 summarise Fishman 2019's Study 1).
        """
        out = []
        last = min(7, self.scores.shape[1])
        for k, arm in enumerate(self.arms):
            rows = self.arm_index == k
            s = self.scores[rows, :last]
            subject_means = np.nanmean(s, axis=1)
            day3 = s[:, 2] if s.shape[1] >= 3 else np.full(rows.sum(), np.nan)
            out.append(
                {
                    "arm": arm,
                    "n": int(rows.sum()),
                    "completion": float(np.mean(self.reason[rows] == 0)),
                    "mean_score_days_1_7": float(np.nanmean(subject_means)),
                    "day3_mean": float(np.nanmean(day3)) if np.isfinite(day3).any() else None,
                    "sd_subject_mean": float(np.nanstd(subject_means, ddof=1)),
                    **{
                        f"dropout_{r}": float(np.mean(self.reason[rows] == i))
                        for i, r in enumerate(EXIT_REASONS)
                        if i > 0
                    },
                }
            )
        return out


def simulate_trial(scenario: Scenario, rng: np.random.Generator) -> SimulatedTrial:
    """Draw one trial of ``scenario`` from ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> from taperwise.simulate import load_scenario, simulate_trial
    >>> trial = simulate_trial(load_scenario("lofexidine-phase3"), np.random.default_rng(1))
    >>> trial.scores.shape
    (602, 7)
    """
    tr, dr = scenario.trajectory, scenario.dropout
    T = tr.days
    top = instrument_max(tr.instrument)
    sizes = np.array([a.n for a in scenario.arms])
    arm_index = np.repeat(np.arange(len(sizes)), sizes)
    n = int(sizes.sum())
    mu = np.stack([mean_course(scenario, a) for a in scenario.arms])[arm_index]  # (n, T+1)
    ae = np.array([a.ae_hazard for a in scenario.arms])[arm_index]
    loe_shift = np.array([a.loe_log_odds for a in scenario.arms])[arm_index]
    other = np.array(
        [dr.other_hazard if a.other_hazard is None else a.other_hazard for a in scenario.arms]
    )[arm_index]
    lam = np.array([a.gi_confound for a in scenario.arms])[arm_index]
    attrib = np.array([a.gi_attribution for a in scenario.arms])[arm_index]

    # draws, always in this order
    u = rng.standard_normal(n) * tr.sd_subject
    z = rng.standard_normal((n, T + 1))
    gi = rng.poisson(np.repeat(lam[:, None], T, axis=1)) if lam.any() else np.zeros((n, T))
    flag_u = rng.random((n, T))
    drop_u = rng.random((n, T))
    v = rng.standard_normal(n) * tr.sd_subject  # drawn last: the other streams do not move

    e = np.empty_like(z)
    e[:, 0] = z[:, 0] * tr.sd_residual
    innov = np.sqrt(1.0 - tr.rho**2) * tr.sd_residual
    for t in range(1, T + 1):
        e[:, t] = tr.rho * e[:, t - 1] + innov * z[:, t]
    shrink = 0.5 * (tr.sd_subject**2 + tr.sd_residual**2)
    latent = mu * np.exp(u[:, None] + e - shrink)
    total = np.clip(np.rint(latent[:, 1:]) + gi, 0, top)
    link = tr.baseline_link
    u0 = link * u + np.sqrt(max(0.0, 1.0 - link**2)) * v
    baseline = np.clip(np.rint(mu[:, 0] * np.exp(u0 + e[:, 0] - shrink)), 0, top)
    gi_points = np.minimum(gi, total).astype(np.int64)
    gi_flag = (gi_points > 0) & (flag_u < attrib[:, None])

    h_loe = special.expit(
        dr.loe_intercept + loe_shift[:, None] + dr.loe_slope * (total - dr.loe_centre)
    )
    cum_loe = h_loe
    cum_ae = cum_loe + ae[:, None]
    cum_all = np.minimum(cum_ae + other[:, None], 0.999)
    leaves = drop_u < cum_all
    any_leave = leaves.any(axis=1)
    first = np.where(any_leave, leaves.argmax(axis=1), T - 1)
    exit_day = first + 1
    du = drop_u[np.arange(n), first]
    reason = np.where(
        ~any_leave,
        0,
        np.where(
            du < cum_loe[np.arange(n), first], 1, np.where(du < cum_ae[np.arange(n), first], 2, 3)
        ),
    )
    observed = np.arange(1, T + 1)[None, :] <= exit_day[:, None]
    scores = np.where(observed, total, np.nan)
    return SimulatedTrial(
        scenario=scenario,
        arms=tuple(scenario.arm_ids),
        arm_index=arm_index,
        baseline=baseline,
        scores=scores,
        full_scores=total,
        gi_points=np.where(observed, gi_points, 0),
        gi_flag=gi_flag & observed,
        exit_day=exit_day,
        reason=reason,
    )


def expected_scores(scenario: Scenario) -> np.ndarray:
    """Exact expected totals (arms x days 1..T) had nobody left: the estimand's building block.

    ``E clip(round(X) + G, 0, max)`` with ``X`` log-normal and ``G`` Poisson, summed over the
    integer support (no simulation error).
    """
    tr = scenario.trajectory
    top = instrument_max(tr.instrument)
    s = float(np.hypot(tr.sd_subject, tr.sd_residual))
    k = np.arange(0, top + 1)
    out = np.zeros((len(scenario.arms), tr.days))
    for a_i, arm in enumerate(scenario.arms):
        mu = mean_course(scenario, arm)[1:]
        for t in range(tr.days):
            m = mu[t]
            if s == 0:
                px = (k == np.clip(np.rint(m), 0, top)).astype(float)
            else:
                dist = stats.lognorm(s=s, scale=m * np.exp(-0.5 * s * s))
                edges = dist.cdf(np.concatenate([[0.5], k[1:] + 0.5]))
                px = np.diff(np.concatenate([[0.0], edges]))
                px[-1] += 1.0 - edges[-1]
            if arm.gi_confound > 0:
                g = np.arange(0, top + 1)
                pg = stats.poisson.pmf(g, arm.gi_confound)
                pg[-1] += 1 - pg.sum()
                tot = np.clip(k[:, None] + g[None, :], 0, top)
                out[a_i, t] = float(px @ tot @ pg)
            else:
                out[a_i, t] = float(px @ k)
    return out


def true_effects(scenario: Scenario) -> dict[str, float]:
    """True arm-vs-control differences in mean score averaged over the primary days."""
    means = expected_scores(scenario)
    days = np.asarray(scenario.analysis.days) - 1
    c = scenario.arm_ids.index(scenario.analysis.control)
    return {
        arm: float(np.mean(means[i, days] - means[c, days]))
        for i, arm in enumerate(scenario.arm_ids)
        if i != c
    }
