"""Benchmark of taperwise.analysis: the primary-only fast path and the full SAP run.

Runs standalone: ``python benchmarks/bench_analysis.py``. Prints medians of 5 runs. There is no
peer package that runs a trial SAP end to end, so the table reports absolute times; the primary
fast path is also compared with one raw ``MMRM.fit`` of the same data (the floor).
"""

from __future__ import annotations

import statistics
import time

from taperwise.analysis import run_primary, run_sap, synthetic_dataset, synthetic_sap
from taperwise.analysis.prepare import analysis_frame
from taperwise.stats.mmrm import MMRM


def _median(fn, *args, n: int = 5, **kwargs) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    rows = []
    for n_per_arm, days in ((20, [1, 2, 3]), (60, list(range(1, 8)))):
        ds = synthetic_dataset(
            n_per_arm=n_per_arm, effects={"ACT": -2.0, "BUP": -4.0}, n_days=max(days), seed=1
        )
        sap = synthetic_sap(days=days)
        frame, kept = analysis_frame(
            ds, instrument="cows", days=days, covariates=["baseline", "site"]
        )
        formula = "score ~ baseline + site + arm * day + us(day | participant)"
        levels = {"arm": ["PBO", "ACT", "BUP"], "day": [str(d) for d in days]}
        raw = _median(MMRM(formula, levels=levels).fit, frame)
        fast = _median(run_primary, ds, sap)
        full = _median(run_sap, ds, sap, sensitivity=False)
        sens = _median(run_sap, ds, sap, sensitivity=True, n=3)
        rep = _median(run_sap, ds, sap, sensitivity=True, report=True, n=3)
        label = f"3 arms x {n_per_arm}, {len(days)} days"
        rows += [
            (label, "MMRM.fit (floor)", raw, 1.0),
            (label, "run_primary (fast path)", fast, fast / raw),
            (label, "run_sap, no sensitivity", full, full / raw),
            (label, "run_sap + sensitivity", sens, sens / raw),
            (label, "run_sap + sensitivity + report", rep, rep / raw),
        ]
    print(f"{'design':<24} {'what':<32} {'median s':>9} {'x MMRM.fit':>11}")
    for label, what, t, ratio in rows:
        print(f"{label:<24} {what:<32} {t:>9.3f} {ratio:>11.2f}")


if __name__ == "__main__":
    main()
