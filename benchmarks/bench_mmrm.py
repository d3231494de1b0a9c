"""MMRM engine benchmarks (issue 3): prints a results table; numbers go to RESULTS-mmrm.md.

1. fev_data, unstructured covariance, REML + Satterthwaite (R mmrm: 56 ms on its machine).
2. bcva_data (1,000 subjects x 10 visits), unstructured (R mmrm: 3.36 s).
3. statsmodels MixedLM random-intercept model on the same data sets (nearest Python peer; a
   different, simpler model: compound symmetry only, no df method).
4. 1,000 simulated trials, 300 subjects x 7 visits, us + Satterthwaite, 2 worker processes.

Usage: python benchmarks/bench_mmrm.py [--repeats 5] [--trials 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

# Single-threaded BLAS for every engine in this run (set before numpy loads): the matrices are
# small, and on a shared 2-core machine threaded OpenBLAS spins and slows fits down several-fold
# (measured: bcva 2.7 s -> 0.5 s). R's mmrm (TMB) also runs single-threaded.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = (
    Path(os.environ.get("TAPERWISE_REFERENCE_DATA", ROOT.parent / "shared" / "reference-data"))
    / "mmrm"
)


def timed(fn, repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up (imports, caches)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    q1, med, q3 = np.percentile(ts, [25, 50, 75])
    return float(med), float(q1), float(q3)


def simulate_trial(seed: int, n: int = 300, visits: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    base = rng.normal(20, 4, n)
    lag = np.abs(np.subtract.outer(np.arange(visits), np.arange(visits)))
    sd = np.linspace(4, 6, visits)
    cov = np.outer(sd, sd) * 0.6**lag
    e = rng.multivariate_normal(np.zeros(visits), cov, size=n)
    day = np.arange(visits)
    y = 0.5 * base[:, None] + 10 - 1.2 * day[None] - 0.4 * arm[:, None] * day[None] + e
    drop = rng.integers(2, visits + 4, n)  # monotone dropout, many complete
    y[day[None] >= drop[:, None]] = np.nan
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), visits),
            "day": np.tile([f"d{d}" for d in day], n),
            "arm": np.repeat(np.where(arm == 1, "kmc", "placebo"), visits),
            "base": np.repeat(base, visits),
            "score": y.ravel(),
        }
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--sim-repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from taperwise.stats.mmrm import MMRM, fit_many

    rows = []
    if (DATA / "fev_data.csv").exists():
        fev = pd.read_csv(DATA / "fev_data.csv")
        bcva = pd.read_csv(DATA / "bcva_data.csv")
        m_fev = MMRM("FEV1 ~ RACE + ARMCD*AVISIT + us(AVISIT | USUBJID)", df="satterthwaite")
        rows.append(
            (
                "fev us REML Satterthwaite (taperwise)",
                *timed(lambda: m_fev.fit(fev), args.repeats),
                "R mmrm 56.15 ms",
            )
        )
        m_b = MMRM("BCVA_CHG ~ RACE + BCVA_BL + ARMCD*AVISIT + us(AVISIT | USUBJID)")
        rows.append(
            (
                "bcva us REML Satterthwaite (taperwise)",
                *timed(lambda: m_b.fit(bcva), args.repeats),
                "R mmrm 3.36 s",
            )
        )
        try:
            import statsmodels.formula.api as smf

            fev_c = fev.dropna(subset=["FEV1"])

            def sm_fev():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    smf.mixedlm("FEV1 ~ RACE + ARMCD*AVISIT", fev_c, groups=fev_c["USUBJID"]).fit(
                        reml=True
                    )

            def sm_bcva():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    smf.mixedlm(
                        "BCVA_CHG ~ RACE + BCVA_BL + ARMCD*AVISIT", bcva, groups=bcva["USUBJID"]
                    ).fit(reml=True)

            rows.append(
                ("fev random intercept (statsmodels MixedLM)", *timed(sm_fev, args.repeats), "peer")
            )
            rows.append(
                (
                    "bcva random intercept (statsmodels MixedLM)",
                    *timed(sm_bcva, args.repeats),
                    "peer",
                )
            )
        except ImportError:  # pragma: no cover
            pass
    else:
        print(f"reference data not found under {DATA}; skipping fev/bcva", file=sys.stderr)

    frames = [simulate_trial(s) for s in np.random.SeedSequence(2026).generate_state(args.trials)]
    m_sim = MMRM("score ~ base + arm*day + us(day | id)")
    contrast = np.zeros(15)
    contrast[-1] = 1.0  # arm x last day
    sim_times, sim_cpu = [], []
    for _ in range(args.sim_repeats):
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        table = fit_many(
            m_sim, frames, contrast=contrast, executor="processes", workers=args.workers
        )
        sim_times.append(time.perf_counter() - t)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        sim_cpu.append((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime))
    q1, med, q3 = np.percentile(sim_times, [25, 50, 75])
    note = (
        f"target <= 60 s; median of {len(sim_times)}; worker CPU {statistics.median(sim_cpu):.1f} s;"
        f" converged {int(table['converged'].sum())}/{len(table)}"
    )
    rows.append(
        (
            f"{args.trials} trials 300x7 us Satterthwaite ({args.workers} processes)",
            med,
            q1,
            q3,
            note,
        )
    )

    print(f"load average at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'benchmark':58s} {'median':>10s} {'Q1':>10s} {'Q3':>10s}  reference")
    for name, med, q1, q3, note in rows:
        unit, f = ("ms", 1e3) if med < 1 else ("s", 1.0)
        print(f"{name:58s} {med * f:9.2f}{unit} {q1 * f:9.2f}{unit} {q3 * f:9.2f}{unit}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
