"""Sample-size search by simulation: the smallest n per arm whose simulated power reaches a target.

Power is evaluated with the same seed at every n (common random numbers), so the power curve is
smooth enough for a bisection on integers; the answer is as good as the Monte Carlo error of the
power at the final n (reported).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taperwise.errors import ValidationError
from taperwise.simulate.operating import endpoint_name, operating_characteristics
from taperwise.simulate.params import Scenario


def sample_size_search(
    scenario: Scenario,
    *,
    target: float = 0.8,
    endpoint: str | None = None,
    reps: int = 200,
    seed: int = 1,
    n_min: int = 10,
    n_max: int = 400,
    step: int = 5,
    progress: Callable[[int, int], None] | None = None,
    **run: Any,
) -> dict[str, Any]:
    """Smallest equal n per arm (to ``step``) with simulated power >= ``target`` on ``endpoint``.

    Parameters
    ----------
    scenario : Scenario
        Design and generating model; every arm gets the searched n.
    target : float
        Target power (0-1).
    endpoint : str, optional
        ``ARM_vs_CONTROL`` (default: the first non-control arm).
    reps, seed : int
        Replicates per evaluated n and the common seed.
    n_min, n_max, step : int
        Search range and resolution.
    **run
        ``executor``, ``workers``, ``address``, ``chunk_size``, ``analysis``.

    Returns
    -------
    dict
        ``n_per_arm`` (None when even ``n_max`` falls short), ``power`` at it, ``target``,
        ``endpoint`` and every ``evaluations`` row (n, power, mcse).

    Examples
    --------
    >>> from taperwise.simulate import load_scenario
    >>> out = sample_size_search(load_scenario("lofexidine-phase3"), reps=4, n_min=20,
    ...                          n_max=40, step=20, chunk_size=2)  # doctest: +SKIP
    """
    if not 0 < target < 1:
        raise ValidationError(f"target power must be in (0, 1) (got {target})")
    if not 2 <= n_min <= n_max:
        raise ValidationError(f"need 2 <= n_min <= n_max (got {n_min}, {n_max})")
    control = scenario.analysis.control
    names = [endpoint_name(a, control) for a in scenario.arm_ids if a != control]
    endpoint = endpoint or names[0]
    if endpoint not in names:
        raise ValidationError(f"endpoint '{endpoint}' unknown; allowed: {', '.join(names)}")
    evaluations: list[dict[str, Any]] = []
    cache: dict[int, dict[str, float]] = {}

    def power_at(n: int) -> float:
        if n not in cache:
            oc = operating_characteristics(
                scenario.with_n(n), reps=reps, seed=seed, type1=False, **run
            )
            cache[n] = oc.power[endpoint]
            evaluations.append({"n_per_arm": n, **cache[n]})
            if progress:
                progress(len(evaluations), 0)
        return cache[n]["estimate"]

    lo, hi = n_min, n_max
    if power_at(hi) < target:
        found = None
    elif power_at(lo) >= target:
        found = lo
    else:
        while hi - lo > step:
            mid = (lo + hi) // 2
            if power_at(mid) >= target:
                hi = mid
            else:
                lo = mid
        found = hi
    return {
        "endpoint": endpoint,
        "target": target,
        "n_per_arm": found,
        "power": cache[found] if found is not None else None,
        "reps_per_n": reps,
        "seed": seed,
        "evaluations": sorted(evaluations, key=lambda r: r["n_per_arm"]),
        "note": "equal n in every arm; power from simulation with common random numbers",
    }
