"""From a simulated trial to the analysis dataset (the contract in :mod:`taperwise.analysis_dataset`).

Every simulated total becomes a valid item-level form of the instrument whose items sum to it
exactly (each item from its allowed set: SOWS-Gossop 0-3, COWS pulse 0/1/2/4, gooseflesh 0/3/5,
...); points a magnesium-containing product adds are placed on the instrument's GI items, so the
no-GI subtotal excludes them.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

import numpy as np
import pandas as pd

from taperwise.analysis_dataset import AnalysisDataset
from taperwise.simulate.model import EXIT_REASONS, SimulatedTrial

#: Hours between the last opioid use and the first dose (assumption; short-acting opioids).
HOURS_LAST_USE_TO_FIRST_DOSE = 12.0
#: Hours after the first daily dose at which the daily assessment is made (Fishman 2019: 3.5 h).
ASSESSMENT_HOUR = 3.5
START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


@lru_cache(maxsize=16)
def _item_spec(instrument: str) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...], frozenset]:
    from taperwise.instruments import get_instrument

    inst = get_instrument(instrument)
    keys = tuple(inst.item_keys)
    allowed = tuple(tuple(sorted(inst.item(k).allowed)) for k in keys)
    return keys, allowed, frozenset(inst.gi_item_keys)


def _allocate(
    target: int, allowed: list[tuple[int, ...]], rng: np.random.Generator
) -> list[int] | None:
    """Values, one per item from its allowed set, summing to ``target`` (None if impossible)."""
    n = len(allowed)
    reach = [0] * (n + 1)
    reach[n] = 1  # bit s set = sum s reachable by items j..n-1
    for j in range(n - 1, -1, -1):
        bits = 0
        for v in allowed[j]:
            bits |= reach[j + 1] << v
        reach[j] = bits
    if target < 0 or not (reach[0] >> target) & 1:
        return None
    out = []
    rem = target
    cap_left = sum(max(a) for a in allowed)
    for j in range(n):
        cap_left -= max(allowed[j])
        ok = [v for v in allowed[j] if v <= rem and (reach[j + 1] >> (rem - v)) & 1]
        share = rem / (cap_left + max(allowed[j])) if (cap_left + max(allowed[j])) else 0.0
        centre = share * max(allowed[j])
        w = np.exp(-0.5 * ((np.asarray(ok, dtype=float) - centre) / 0.8) ** 2)
        v = int(ok[int(rng.choice(len(ok), p=w / w.sum()))])
        out.append(v)
        rem -= v
    return out


def items_for_total(
    instrument: str, total: int, rng: np.random.Generator, *, gi_points: int = 0
) -> dict[str, int]:
    """A valid form of ``instrument`` whose items sum to ``total``; ``gi_points`` go to GI items.

    Examples
    --------
    >>> import numpy as np
    >>> form = items_for_total("sows_gossop", 17, np.random.default_rng(1), gi_points=2)
    >>> sum(form.values()), set(form.values()) <= {0, 1, 2, 3}
    (17, True)
    """
    keys, allowed, gi_keys = _item_spec(instrument)
    order = rng.permutation(len(keys))
    gi_idx = [i for i in order if keys[i] in gi_keys]
    rest_idx = [i for i in order if keys[i] not in gi_keys]
    total = int(total)
    gi_points = int(min(gi_points, total))
    values: dict[int, int] = {}
    if gi_idx and gi_points > 0:
        # the product's GI points: at least gi_points on the GI items, the rest shared
        for g in range(gi_points, -1, -1):
            gi_vals = _allocate(g, [allowed[i] for i in gi_idx], rng)
            if gi_vals is None:
                continue
            extra = []
            for i, v in zip(gi_idx, gi_vals, strict=True):
                extra.append(tuple(a - v for a in allowed[i] if a >= v))
            rest = _allocate(total - g, extra + [allowed[i] for i in rest_idx], rng)
            if rest is not None:
                for pos, i in enumerate(gi_idx):
                    values[i] = gi_vals[pos] + rest[pos]
                for pos, i in enumerate(rest_idx):
                    values[i] = rest[len(gi_idx) + pos]
                break
    if not values:
        idx = list(order)
        vals = _allocate(total, [allowed[i] for i in idx], rng)
        if vals is None:
            raise ValueError(f"{instrument}: total {total} cannot be formed from allowed scores")
        values = dict(zip(idx, vals, strict=True))
    return {keys[i]: int(values[i]) for i in range(len(keys))}


def to_dataset(
    trial: SimulatedTrial,
    *,
    study: str = "simulated",
    seed: int = 0,
    sites: tuple[str, ...] = ("s01", "s02", "s03"),
) -> AnalysisDataset:
    """The analysis dataset (participants + assessments tables) of a simulated trial.

    Examples
    --------
    >>> import numpy as np
    >>> from taperwise.simulate import load_scenario, simulate_trial
    >>> sc = load_scenario("lofexidine-phase3").with_n(5)
    >>> ds = to_dataset(simulate_trial(sc, np.random.default_rng(1)))
    >>> ds.counts()["participants"]
    15
    """
    from taperwise.protocol.stages import StageModel

    stages = StageModel()

    sc = trial.scenario
    instrument = sc.trajectory.instrument
    keys, _, gi_keys = _item_spec(instrument)
    from taperwise.instruments import get_instrument

    version = get_instrument(instrument).version
    rng = np.random.default_rng(seed)
    labels = {a.id: a.label for a in sc.arms}
    parts, assess = [], []
    T = trial.scores.shape[1]
    for i in range(trial.n):
        code = f"P{i + 1:04d}"
        arm = trial.arms[int(trial.arm_index[i])]
        site = sites[i % len(sites)]
        first_dose = START + dt.timedelta(days=int(i // 8))
        exit_day = int(trial.exit_day[i])
        reason = EXIT_REASONS[int(trial.reason[i])]
        parts.append(
            {
                "study": study,
                "participant": code,
                "site": site,
                "arm": arm,
                "arm_label": labels[arm],
                "strata": f"site={site}",
                "opioid_class": "short_acting",
                "randomised": True,
                "randomised_at": (first_dose - dt.timedelta(hours=1)).isoformat(),
                "first_dose_at": first_dose.isoformat(),
                "completed": reason == "completed",
                "exit_day": exit_day,
                "exit_reason": reason,
            }
        )
        rows = [(0, int(trial.baseline[i]), 0, False, -0.5)]
        for d in range(1, min(exit_day, T) + 1):
            rows.append(
                (
                    d,
                    int(trial.scores[i, d - 1]),
                    int(trial.gi_points[i, d - 1]),
                    bool(trial.gi_flag[i, d - 1]),
                    24.0 * (d - 1) + ASSESSMENT_HOUR,
                )
            )
        for day, total, gi, flag, hours in rows:
            form = items_for_total(instrument, total, rng, gi_points=gi)
            since_use = hours + HOURS_LAST_USE_TO_FIRST_DOSE
            assess.append(
                {
                    "study": study,
                    "participant": code,
                    "site": site,
                    "arm": arm,
                    "strata": f"site={site}",
                    "day": day,
                    "hours_since_first_dose": hours,
                    "hours_since_last_opioid": since_use,
                    "stage": stages.stage_for(since_use, "short_acting"),
                    "visit": "baseline" if day == 0 else f"day{day}",
                    "instrument": instrument,
                    "version": version,
                    "total": total,
                    "subtotal_no_gi": total - sum(form[k] for k in gi_keys),
                    "complete": True,
                    "gi_attributed_to_product": flag,
                    "items": json.dumps(form),
                }
            )
    return AnalysisDataset(
        participants=pd.DataFrame(parts),
        assessments=pd.DataFrame(assess),
        meta={
            "study": study,
            "source": f"taperwise.simulate scenario {sc.name}",
            "simulated": True,
            "blinded": False,
        },
    )
