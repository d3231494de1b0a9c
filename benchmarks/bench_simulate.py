"""Benchmark: simulated 3-arm withdrawal trials with the MMRM primary analysis (issue 7).

Target: 1,000 trials x 300 participants (100 per arm) x 7 days, each analysed with the primary
MMRM (``score ~ baseline + arm * day + us(day | participant)``, REML, Satterthwaite), in <= 2
minutes on 2 cores; and the speed-up from 1 to 2 Dask workers.

Peer: the same analysis through the analysis pipeline (``taperwise.analysis.run_primary`` on the
emitted analysis dataset, i.e. the general MMRM engine), timed on a few trials and extrapolated.

Run standalone::

    python benchmarks/bench_simulate.py            # 1000 trials, 5 repeats per configuration
    python benchmarks/bench_simulate.py --trials 200 --repeats 3 --configs serial,dask2

Prints one results table (median / min / max wall seconds, CPU seconds spent in the trial work,
trials per second) plus the Dask 1 -> 2 worker speed-up and the ratio to the peer. The machine's
load average is printed too: wall times on a shared machine are only as good as its idleness.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

CONFIGS = {
    "serial": ("serial", 1),
    "processes2": ("processes", 2),
    "dask1": ("dask", 1),
    "dask2": ("dask", 2),
}


def _scenario(n_per_arm: int):
    from taperwise.simulate import load_scenario

    return load_scenario("kmc-vs-buprenorphine-vs-placebo").with_n(n_per_arm)


def run_config(name: str, trials: int, n_per_arm: int, seed: int) -> dict:
    from taperwise.simulate.operating import operating_characteristics

    executor, workers = CONFIGS[name]
    t0 = time.perf_counter()
    oc = operating_characteristics(
        _scenario(n_per_arm),
        reps=trials,
        seed=seed,
        type1=False,
        executor=executor,
        workers=workers,
        chunk_size=25,
    )
    wall = time.perf_counter() - t0
    failed = sum(p.get("failed_fits", 0) for p in oc.power.values())
    return {"wall": wall, "cpu": oc.settings["cpu_s"], "failed": failed, "power": oc.power}


def peer_seconds_per_trial(n_per_arm: int, trials: int = 5) -> float:
    import numpy as np

    from taperwise.simulate import simulate_trial
    from taperwise.simulate.operating import analyse_trial

    sc = _scenario(n_per_arm)
    seqs = np.random.SeedSequence(1).spawn(trials)
    t0 = time.perf_counter()
    for s in seqs:
        analyse_trial(simulate_trial(sc, np.random.default_rng(s)), sc, "sap")
    return (time.perf_counter() - t0) / trials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--n-per-arm", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", default="serial,dask1,dask2,processes2")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--peer-trials", type=int, default=5)
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("distributed").setLevel(logging.WARNING)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for n in names:
        if n not in CONFIGS:
            parser.error(f"unknown config {n}; allowed: {', '.join(CONFIGS)}")
    load0 = os.getloadavg()[0]
    results: dict[str, list[dict]] = {n: [] for n in names}
    for _ in range(args.repeats):
        for n in names:
            results[n].append(run_config(n, args.trials, args.n_per_arm, args.seed))
            print(f"  {n}: {results[n][-1]['wall']:.1f} s", file=sys.stderr, flush=True)
    peer = peer_seconds_per_trial(args.n_per_arm, args.peer_trials) if args.peer_trials else None
    load1 = os.getloadavg()[0]
    print(
        f"bench_simulate: {args.trials} trials x {3 * args.n_per_arm} participants x 7 days, "
        f"MMRM primary analysis; {args.repeats} repeats; {platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average {load0:.1f} -> {load1:.1f}"
    )
    header = f"{'config':<12}{'median s':>10}{'min s':>9}{'max s':>9}{'cpu s':>9}{'trials/s':>10}"
    print(header)
    print("-" * len(header))
    med = {}
    for n in names:
        walls = [r["wall"] for r in results[n]]
        cpus = [r["cpu"] for r in results[n]]
        med[n] = statistics.median(walls)
        print(
            f"{n:<12}{med[n]:>10.1f}{min(walls):>9.1f}{max(walls):>9.1f}"
            f"{statistics.median(cpus):>9.1f}{args.trials / med[n]:>10.1f}"
        )
    if "dask1" in med and "dask2" in med:
        print(f"speed-up dask 1 -> 2 workers: {med['dask1'] / med['dask2']:.2f}x")
    if peer is not None:
        best = min(med.values())
        print(
            f"peer (run_primary on the emitted dataset): {peer:.2f} s/trial -> "
            f"{peer * args.trials:.0f} s for {args.trials} trials serially; "
            f"fast path serial is {peer * args.trials / med.get('serial', best):.0f}x faster"
        )
    failed = sum(r["failed"] for rs in results.values() for r in rs)
    print(f"failed fits: {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
