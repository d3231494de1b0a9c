"""Operating characteristics of a design by simulation: power, type I error, bias, CI coverage.

Replicates are cut into chunks of ``chunk_size`` (fixed by configuration, not by the executor);
chunk ``k`` draws its trials from ``SeedSequence(seed).spawn(n_chunks)[k]``, so ``serial``,
``processes`` and ``dask`` give identical results for a seed.

Each replicate simulates the scenario (and, for the type I error, its null version from a second
stream of the same chunk) and analyses it with the SAP's primary MMRM (``score ~ baseline + arm *
day``, unstructured covariance, REML, Satterthwaite df): ``analysis="fast"`` fits it from pattern
moments (:mod:`.fastmmrm`), ``analysis="sap"`` emits the analysis dataset and runs
:func:`taperwise.analysis.run_primary` -- the same numbers, about fifty times slower.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from taperwise.errors import ValidationError
from taperwise.simulate.model import simulate_trial, true_effects
from taperwise.simulate.params import Scenario
from taperwise.stats.parallel import single_threaded_blas, submit_all

log = logging.getLogger(__name__)

EXECUTORS = ("serial", "processes", "dask")
ANALYSES = ("fast", "sap")


def endpoint_name(arm: str, control: str) -> str:
    """Name of the primary endpoint of ``arm`` (e.g. ``LFX288_vs_PBO``)."""
    return f"{arm}_vs_{control}"


def _sap_for(scenario: Scenario):
    from taperwise.protocol import SAP

    a = scenario.analysis
    return SAP(
        primary_instrument=scenario.trajectory.instrument,
        primary_days=list(a.days),
        covariates=list(a.covariates),
        control_arm=a.control,
        covariance="us",
        covariance_fallbacks=[],
        alpha=a.alpha,
        sensitivity=[],
    )


def analyse_trial(trial, scenario: Scenario, analysis: str = "fast") -> dict[str, dict[str, Any]]:
    """Primary analysis of one simulated trial: ``{endpoint: {estimate, se, df, p, lower, upper}}``."""
    a = scenario.analysis
    control = scenario.arm_ids.index(a.control)
    if analysis == "fast":
        from taperwise.simulate.fastmmrm import analyse_primary

        days = list(a.days)
        y = trial.scores[:, : max(days)]
        out = analyse_primary(
            y,
            trial.arm_index,
            trial.baseline,
            n_arms=len(trial.arms),
            control=control,
            days=days,
            alpha=a.alpha,
        )
        return {endpoint_name(trial.arms[k], a.control): v for k, v in out.items()}
    from taperwise.analysis import run_primary
    from taperwise.simulate.dataset import to_dataset

    block = run_primary(to_dataset(trial), _sap_for(scenario))
    res = {}
    for c in block["contrasts"]:
        res[endpoint_name(c["arm"], a.control)] = {
            "estimate": c["estimate"],
            "se": c["se"],
            "df": c["df"],
            "p": c["pval"],
            "lower": c["ci_lb"],
            "upper": c["ci_ub"],
            "converged": bool(block["converged"]),
        }
    return res


def _run_chunk(
    scenario: Scenario,
    start: int,
    stop: int,
    seed_seq: np.random.SeedSequence,
    type1: bool,
    analysis: str,
) -> list[dict[str, Any]]:
    """Replicates ``start..stop-1``; the chunk's own streams make the result executor-free."""
    alt_seq, null_seq = seed_seq.spawn(2)
    rng_alt, rng_null = np.random.default_rng(alt_seq), np.random.default_rng(null_seq)
    null = scenario.null() if type1 else None
    rows = []
    for rep in range(start, stop):
        cpu0 = time.process_time()
        trial = simulate_trial(scenario, rng_alt)
        row: dict[str, Any] = {"rep": rep, "arms": trial.arm_summary()}
        try:
            row["alt"] = analyse_trial(trial, scenario, analysis)
        except Exception as exc:  # noqa: BLE001 - a failed replicate is counted, not fatal
            row["alt"] = {"error": str(exc)}
        if null is not None:
            trial0 = simulate_trial(null, rng_null)
            try:
                row["null"] = analyse_trial(trial0, null, analysis)
            except Exception as exc:  # noqa: BLE001
                row["null"] = {"error": str(exc)}
        row["cpu_s"] = time.process_time() - cpu0
        rows.append(row)
    return rows


@dataclass(frozen=True)
class OCResult:
    """Operating characteristics of a scenario (see :func:`operating_characteristics`)."""

    arms: list[dict[str, Any]]
    power: dict[str, dict[str, float]]
    type1_error: dict[str, dict[str, float]] | None
    bias: dict[str, dict[str, float]]
    coverage: dict[str, dict[str, float]]
    true_effect: dict[str, float]
    settings: dict[str, Any]
    replicates: list[dict[str, Any]] = field(repr=False, default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (without per-replicate rows; a deep copy)."""
        return copy.deepcopy(
            {
                "arms": self.arms,
                "power": self.power,
                "type1_error": self.type1_error,
                "bias": self.bias,
                "coverage": self.coverage,
                "true_effect": self.true_effect,
                "settings": self.settings,
                "provenance": self.provenance,
            }
        )


def _prop(x: np.ndarray) -> dict[str, float]:
    n = x.size
    p = float(x.mean()) if n else float("nan")
    return {"estimate": p, "mcse": math.sqrt(p * (1 - p) / n) if n else float("nan"), "n": n}


def _mean(x: np.ndarray) -> dict[str, float]:
    n = x.size
    return {
        "estimate": float(x.mean()) if n else float("nan"),
        "mcse": float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
        "n": n,
    }


def summarise_replicates(
    rows: list[dict[str, Any]], scenario: Scenario
) -> tuple[list, dict, dict | None, dict, dict, dict]:
    """Aggregate replicate rows into arms, power, type I error, bias, coverage, true effects."""
    a = scenario.analysis
    truth = true_effects(scenario)
    arms = []
    for k, arm in enumerate(scenario.arm_ids):
        per = [r["arms"][k] for r in rows]
        entry: dict[str, Any] = {"arm": arm, "n": per[0]["n"] if per else 0}
        for key in ("completion", "mean_score_days_1_7", "day3_mean"):
            vals = np.array([p[key] for p in per if p[key] is not None], dtype=float)
            vals = vals[np.isfinite(vals)]
            m = _mean(vals)
            entry[key] = m["estimate"]
            entry[f"{key}_mcse"] = m["mcse"]
        arms.append(entry)
    power, type1, bias, coverage = {}, {}, {}, {}
    for arm in scenario.arm_ids:
        if arm == a.control:
            continue
        name = endpoint_name(arm, a.control)
        fits = [r["alt"].get(name) for r in rows if name in r["alt"]]
        fits = [f for f in fits if f and np.isfinite(f.get("p", np.nan))]
        est = np.array([f["estimate"] for f in fits])
        p = np.array([f["p"] for f in fits])
        power[name] = _prop((p < a.alpha) & (est < 0))
        power[name]["failed_fits"] = len(rows) - len(fits)
        b = _mean(est - truth[arm])
        bias[name] = {**b, "true_effect": truth[arm], "mean_estimate": float(est.mean())}
        lo = np.array([f["lower"] for f in fits])
        hi = np.array([f["upper"] for f in fits])
        coverage[name] = _prop((lo <= truth[arm]) & (truth[arm] <= hi))
        nulls = [r["null"].get(name) for r in rows if "null" in r and name in r["null"]]
        nulls = [f for f in nulls if f and np.isfinite(f.get("p", np.nan))]
        if nulls:
            type1[name] = _prop(np.array([f["p"] for f in nulls]) < a.alpha)
    has_null = any("null" in r for r in rows)
    return arms, power, (type1 if has_null else None), bias, coverage, truth


def _chunks(reps: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, reps)) for s in range(0, reps, chunk_size)]


def run_chunks(
    scenario: Scenario,
    *,
    reps: int,
    seed: int,
    type1: bool = True,
    analysis: str = "fast",
    executor: str = "serial",
    workers: int = 2,
    address: str | None = None,
    chunk_size: int = 25,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every replicate on ``executor``; rows come back in replicate order."""
    if executor not in EXECUTORS:
        raise ValidationError(
            f"executor '{executor}' not supported; allowed: {', '.join(EXECUTORS)}"
        )
    if analysis not in ANALYSES:
        raise ValidationError(
            f"analysis '{analysis}' not supported; allowed: {', '.join(ANALYSES)}"
        )
    if reps < 1:
        raise ValidationError(f"reps must be >= 1 (got {reps})")
    if chunk_size < 1:
        raise ValidationError(f"chunk_size must be >= 1 (got {chunk_size})")
    bounds = _chunks(reps, chunk_size)
    seqs = np.random.SeedSequence(seed).spawn(len(bounds))
    args = [(scenario, s, e, q, type1, analysis) for (s, e), q in zip(bounds, seqs, strict=True)]
    results: list[list[dict[str, Any]] | None] = [None] * len(args)
    done = 0

    def _tick(k: int, rows: list[dict[str, Any]]) -> None:
        nonlocal done
        results[k] = rows
        done += len(rows)
        if progress:
            progress(done, reps)

    if executor == "serial":
        for k, a in enumerate(args):
            _tick(k, _run_chunk(*a))
    elif executor == "processes":
        _run_processes(args, workers, _tick)
    else:
        _run_dask(args, workers, address, _tick)
    return [row for chunk in results for row in (chunk or [])]


def _run_processes(args: list[tuple], workers: int, tick: Callable) -> None:
    from concurrent.futures import as_completed

    pool, submitted = submit_all(_run_chunk, args, workers)
    futures = {fut: k for k, fut in enumerate(submitted)}
    with pool:
        for fut in as_completed(futures):
            tick(futures[fut], fut.result())


def _run_dask(args: list[tuple], workers: int, address: str | None, tick: Callable) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ValidationError("executor 'dask' needs dask[distributed] installed") from exc
    cluster = None
    if address:
        client = Client(address)
    else:
        with single_threaded_blas():
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
        client = Client(cluster)
    try:
        scenario = client.scatter(args[0][0], broadcast=True) if args else None
        futures = [
            client.submit(
                _run_chunk, scenario, *a[1:], key=f"taperwise-sim-{a[1]}-{id(args)}", pure=False
            )
            for a in args
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in as_completed(futures):
            tick(index[fut.key], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def operating_characteristics(
    scenario: Scenario,
    *,
    reps: int,
    seed: int,
    type1: bool = True,
    analysis: str = "fast",
    executor: str = "serial",
    workers: int = 2,
    address: str | None = None,
    chunk_size: int = 25,
    progress: Callable[[int, int], None] | None = None,
    keep_replicates: bool = False,
) -> OCResult:
    """Simulate ``reps`` trials of ``scenario`` and summarise power, type I error, bias, coverage.

    Parameters
    ----------
    scenario : Scenario
        The design and generating model (:func:`~taperwise.simulate.load_scenario`).
    reps, seed : int
        Replicates and seed (the same seed gives the same result on every executor).
    type1 : bool
        Also simulate the null scenario (:meth:`Scenario.null`) for the type I error.
    analysis : {"fast", "sap"}
        Pattern-moment MMRM or the analysis pipeline's :func:`~taperwise.analysis.run_primary`.
    executor : {"serial", "processes", "dask"}
        Where chunks run; ``address`` names a Dask scheduler (else a LocalCluster of
        ``workers`` single-threaded processes).
    chunk_size : int
        Replicates per chunk (part of the configuration: changing it changes the random streams).
    progress : callable, optional
        ``progress(done, total)`` after each chunk.

    Returns
    -------
    OCResult

    Examples
    --------
    >>> from taperwise.simulate import load_scenario
    >>> from taperwise.simulate.operating import operating_characteristics
    >>> oc = operating_characteristics(load_scenario("lofexidine-phase3").with_n(40), reps=4,
    ...                                seed=1, chunk_size=2)
    >>> sorted(oc.power)
    ['LFX216_vs_PBO', 'LFX288_vs_PBO']
    """
    from taperwise.provenance import provenance

    scenario = scenario.validate()
    t0 = time.perf_counter()
    rows = run_chunks(
        scenario,
        reps=reps,
        seed=seed,
        type1=type1,
        analysis=analysis,
        executor=executor,
        workers=workers,
        address=address,
        chunk_size=chunk_size,
        progress=progress,
    )
    elapsed = time.perf_counter() - t0
    arms, power, t1, bias, coverage, truth = summarise_replicates(rows, scenario)
    settings = {
        "scenario": scenario.name,
        "instrument": scenario.trajectory.instrument,
        "days": scenario.trajectory.days,
        "n_per_arm": {a.id: a.n for a in scenario.arms},
        "reps": reps,
        "seed": seed,
        "executor": executor,
        "workers": workers if executor != "serial" else 1,
        "address": address,
        "chunk_size": chunk_size,
        "analysis": analysis,
        "primary_model": "score ~ baseline + arm * day + us(day | participant), REML, Satterthwaite",
        "endpoint": "LS-mean difference vs control averaged over days "
        + ",".join(str(d) for d in scenario.analysis.days),
        "alpha": scenario.analysis.alpha,
        "power_rule": "two-sided p < alpha and estimate < 0 (lower score = less withdrawal)",
        "type1_rule": "two-sided p < alpha under the null scenario",
        "elapsed_s": elapsed,
        "cpu_s": float(sum(r["cpu_s"] for r in rows)),
    }
    return OCResult(
        arms=arms,
        power=power,
        type1_error=t1,
        bias=bias,
        coverage=coverage,
        true_effect=truth,
        settings=settings,
        replicates=rows if keep_replicates else [],
        provenance=provenance(
            {k: v for k, v in settings.items() if k not in ("elapsed_s", "cpu_s")},
            seed,
            scenario=scenario.to_dict(),
        ),
    )
