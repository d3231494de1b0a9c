"""Benchmark the meta-analysis engine against PyMARE and statsmodels on the same data.

Prints a table of medians (>= 5 repeats) and the ratio to the named peer (peer time / ours:
> 1 means taperwise is faster). Data: dat.bcg (k = 13) from shared/reference-data/metadat and
simulated data sets with k = 100 / 1,000 / 10,000 (seeded).

Usage: ``python benchmarks/bench_meta.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = (
    Path(os.environ.get("TAPERWISE_REFERENCE_DATA", ROOT.parent / "shared" / "reference-data"))
    / "metadat"
)


def timeit(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def simulate(k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.5, k)
    x = rng.uniform(0, 60, k)
    y = 0.25 - 0.03 * x + rng.normal(0, np.sqrt(v + 0.08))
    return y, v, x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from pymare import Dataset
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
    from statsmodels.stats.contingency_tables import StratifiedTable
    from statsmodels.stats.meta_analysis import combine_effects, effectsize_2proportions

    from taperwise.stats.meta import RMA, confint_tau2, escalc, influence, rma_mh

    bcg = pd.read_csv(DATA / "dat.bcg.csv")
    d = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    y13, v13 = d.yi.to_numpy(), d.vi.to_numpy()
    rows: list[tuple[str, float, str, float | None]] = []

    def add(
        name: str,
        ours: Callable[[], object],
        peer: str = "",
        theirs: Callable[[], object] | None = None,
    ):
        t_ours = timeit(ours, args.repeats)
        t_peer = timeit(theirs, args.repeats) if theirs is not None else None
        rows.append((name, t_ours, peer, t_peer))

    ds13 = Dataset(y=y13, v=v13)
    add("REML RE model, bcg k=13", lambda: RMA().fit(yi=y13, vi=v13), "PyMARE REML",
        lambda: VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(ds13).summary())  # fmt: skip
    add("DL RE model, bcg k=13", lambda: RMA(method="DL").fit(yi=y13, vi=v13), "statsmodels combine_effects",
        lambda: combine_effects(y13, v13, method_re="chi2"))  # fmt: skip
    add("DL RE model, bcg k=13 (vs PyMARE)", lambda: RMA(method="DL").fit(yi=y13, vi=v13), "PyMARE DL",
        lambda: DerSimonianLaird().fit_dataset(ds13).summary())  # fmt: skip
    add("REML + Q-profile CI, bcg", lambda: confint_tau2(RMA().fit(yi=y13, vi=v13)), "PyMARE REML + CI",
        lambda: VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(ds13).summary().get_re_stats())  # fmt: skip
    dsx = Dataset(y=y13, v=v13, X=bcg[["ablat"]].to_numpy(float))
    xab = bcg[["ablat"]].to_numpy(float)
    add("REML meta-regression ~ ablat, bcg", lambda: RMA(mods=xab).fit(yi=y13, vi=v13), "PyMARE REML",
        lambda: VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(dsx).summary())  # fmt: skip
    res13 = RMA().fit(yi=y13, vi=v13)
    add("influence (13 REML refits), bcg", lambda: influence(res13))
    for k in (100, 1000, 10000):
        y, v, x = simulate(k)
        dsk = Dataset(y=y, v=v, X=x[:, None])
        add(f"REML meta-regression, simulated k={k}", lambda y=y, v=v, x=x: RMA(mods=x).fit(yi=y, vi=v),
            "PyMARE REML", lambda dsk=dsk: VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(dsk).summary())  # fmt: skip
    rng = np.random.default_rng(2)
    n = 100_000
    n1 = rng.integers(20, 500, n)
    n2 = rng.integers(20, 500, n)
    a = rng.binomial(n1, 0.2)
    c = rng.binomial(n2, 0.25)
    add(f"escalc RR, k={n:,}", lambda: escalc("RR", ai=a, n1i=n1, ci=c, n2i=n2), "statsmodels effectsize_2proportions",
        lambda: effectsize_2proportions(a, n1, c, n2, statistic="rr"))  # fmt: skip
    m = 1000
    tab = np.stack(
        [np.array([[a[i], n1[i] - a[i]], [c[i], n2[i] - c[i]]]) for i in range(m)], axis=2
    ).astype(float)
    add(f"Mantel-Haenszel OR (+CMH, Tarone), k={m}",
        lambda: rma_mh("OR", ai=a[:m], n1i=n1[:m], ci=c[:m], n2i=n2[:m]), "statsmodels StratifiedTable",
        lambda: (lambda s: (s.logodds_pooled_se, s.test_null_odds(True), s.test_equal_odds(True)))(StratifiedTable(tab)))  # fmt: skip

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'benchmark':45s} {'taperwise':>12s}  {'peer':38s} {'peer time':>12s} {'ratio':>7s}")
    for name, ours, peer, theirs in rows:
        ratio = f"{theirs / ours:7.2f}" if theirs else "      -"
        peer_t = f"{theirs * 1e3:10.3f} ms" if theirs else " " * 12
        print(f"{name:45s} {ours * 1e3:9.3f} ms  {peer:38s} {peer_t} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
