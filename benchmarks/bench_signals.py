"""Signal-detection benchmark: synthetic FAERS-like data, tiers S / M / L (pharmacovigilance.md §5).

Tiers
-----
S  openEBGM's caers.csv (3,356 reports, 20,156 rows): end-to-end score (count, fit, score).
M  one FAERS quarter (400,000 synthetic reports, ~2.4M rows): DuckDB vs plain pandas counting
   (ratio), end-to-end DuckDB scoring, Dask LocalCluster counting (identical results checked).
L  full FAERS (20M synthetic reports, >= 100M report-drug-event rows): DuckDB end to end, run
   only with ``--tiers L`` (minutes); the peak RSS of the scoring process is reported.

The generator is not uniform: products and PTs have Zipf margins, each product has a signature
profile of PTs (40 % of a report's PTs come from its primary suspect's profile), reports carry
1 + Poisson(1) products (first PS, others SS or C) and 1 + Poisson(2) PTs. Chunks use generators
from ``SeedSequence(seed).spawn(n)``, so the data do not depend on the chunk being run.

Usage: ``python benchmarks/bench_signals.py [--tiers S,M] [--runs 5] [--l-reports 20000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CAERS = (
    Path(os.environ.get("TAPERWISE_REFERENCE_DATA", ROOT.parent / "shared" / "reference-data"))
    / "caers"
    / "caers.csv"
)


def _zipf_cdf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return np.cumsum(w / w.sum())


def generate(
    n_reports: int,
    out: Path,
    *,
    seed: int = 20261124,
    n_drugs: int = 20000,
    n_pts: int = 15000,
    chunk: int = 1_000_000,
) -> int:
    """Write a synthetic FAERS-like long table (id, drug, event, role) to ``out``; return rows."""
    master = np.random.default_rng(seed)
    drug_cdf = _zipf_cdf(n_drugs, 1.05)
    pt_cdf = _zipf_cdf(n_pts, 0.95)
    profiles = np.searchsorted(pt_cdf, master.uniform(size=(n_drugs, 8)))  # signature PTs per drug
    drug_names = pa.array([f"DRUG{i:05d}" for i in range(n_drugs)], pa.string())
    pt_names = pa.array([f"PT{i:05d}" for i in range(n_pts)], pa.string())
    role_names = pa.array(["PS", "SS", "C"], pa.string())
    n_chunks = (n_reports + chunk - 1) // chunk
    seqs = np.random.SeedSequence(seed).spawn(n_chunks)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("drug", pa.dictionary(pa.int32(), pa.string())),
            ("event", pa.dictionary(pa.int32(), pa.string())),
            ("role", pa.dictionary(pa.int8(), pa.string())),
        ]
    )
    total = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for k in range(n_chunks):
            rng = np.random.default_rng(seqs[k])
            start = k * chunk
            m = min(chunk, n_reports - start)
            kd = 1 + np.minimum(rng.poisson(1.0, m), 7)
            ke = 1 + np.minimum(rng.poisson(2.0, m), 11)
            d_off = np.concatenate([[0], np.cumsum(kd)])
            e_off = np.concatenate([[0], np.cumsum(ke)])
            drugs = np.searchsorted(drug_cdf, rng.uniform(size=d_off[-1])).astype(np.int32)
            first_drug = drugs[d_off[:-1]]
            ev_report = np.repeat(np.arange(m), ke)
            from_profile = rng.uniform(size=e_off[-1]) < 0.4
            events = np.searchsorted(pt_cdf, rng.uniform(size=e_off[-1]))
            prof = profiles[first_drug[ev_report], rng.integers(0, 8, e_off[-1])]
            events = np.where(from_profile, prof, events).astype(np.int32)
            pos_in_report = np.arange(d_off[-1]) - np.repeat(d_off[:-1], kd)
            roles = np.where(
                pos_in_report == 0, 0, np.where(rng.uniform(size=d_off[-1]) < 0.5, 1, 2)
            ).astype(np.int8)
            # cross product drugs x events within each report
            per = kd * ke
            r_off = np.concatenate([[0], np.cumsum(per)])
            rep = np.repeat(np.arange(m), per)
            p = np.arange(r_off[-1]) - r_off[:-1][rep]
            di = d_off[:-1][rep] + p // ke[rep]
            ei = e_off[:-1][rep] + p % ke[rep]
            table = pa.Table.from_arrays(
                [
                    pa.array(start + rep.astype(np.int64)),
                    pa.DictionaryArray.from_arrays(pa.array(drugs[di]), drug_names),
                    pa.DictionaryArray.from_arrays(pa.array(events[ei]), pt_names),
                    pa.DictionaryArray.from_arrays(pa.array(roles[di]), role_names),
                ],
                schema=schema,
            )
            writer.write_table(table)
            total += table.num_rows
    return total


def pandas_counts(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Plain pandas reference implementation of the default counting (PS+SS, distinct reports)."""
    df = pd.read_parquet(path)
    df = df[df["role"].isin(["PS", "SS"])][["id", "drug", "event"]]
    df = df.drop_duplicates()
    pairs = df.groupby(["drug", "event"], observed=True).size().rename("n").reset_index()
    n_drug = df[["id", "drug"]].drop_duplicates().groupby("drug", observed=True).size()
    n_event = df[["id", "event"]].drop_duplicates().groupby("event", observed=True).size()
    n_tot = df["id"].nunique()
    e = (pairs["drug"].map(n_drug).to_numpy(float) / n_tot) * pairs["event"].map(n_event).to_numpy(
        float
    )
    key = pairs["drug"].astype(str) + "\x1f" + pairs["event"].astype(str)
    order = np.argsort(key.to_numpy())
    return key.to_numpy()[order], pairs["n"].to_numpy()[order], e[order], n_tot


def _median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def tier_s(runs: int) -> list[tuple[str, str]]:
    from taperwise.signals.pipeline import score_source
    from taperwise.signals.source import open_source

    if not CAERS.exists():
        return [("S", f"skipped: {CAERS} not found")]
    t, res = _median_time(lambda: score_source(open_source(CAERS)), runs)
    return [
        (
            "S caers.csv: count + GPS fit (5 starts) + scores, DuckDB",
            f"{t:.2f} s (median of {runs}); -LL {res.neg_loglik:.6f}; {res.pairs} pairs",
        ),
    ]


def tier_m(runs: int, workdir: Path, n_reports: int = 400_000) -> list[tuple[str, str]]:
    from taperwise.signals.counting import count_pairs, expected_counts
    from taperwise.signals.pipeline import score_source
    from taperwise.signals.source import open_source

    path = workdir / "tier_m.parquet"
    t0 = time.perf_counter()
    rows = generate(n_reports, path, n_drugs=5000, n_pts=8000)
    gen = time.perf_counter() - t0
    src = open_source(path)
    t_duck, counts = _median_time(lambda: count_pairs(src), runs)
    t_pd, (keys, n_pd, e_pd, tot_pd) = _median_time(lambda: pandas_counts(path), runs)
    key_duck = np.char.add(
        np.char.add(counts.drugs[counts.pair_drug].astype(str), "\x1f"),
        counts.events[counts.pair_event].astype(str),
    )
    order = np.argsort(key_duck)
    e_duck = expected_counts(counts)[order]
    same_pd = bool(
        np.array_equal(key_duck[order], keys)
        and np.array_equal(counts.n[order], n_pd)
        and np.allclose(e_duck, e_pd, rtol=1e-14, atol=0)
        and counts.n_total == tot_pd
    )
    t_score, res = _median_time(lambda: score_source(src), runs)
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        dask_runs = max(3, min(runs, 5))
        t_dask, dcounts = _median_time(
            lambda: count_pairs(src, backend="dask", dask_client=client), dask_runs
        )
    same_dask = all(
        np.array_equal(np.asarray(getattr(counts, f)), np.asarray(getattr(dcounts, f)))
        for f in counts.__dataclass_fields__
    ) and np.array_equal(expected_counts(counts), expected_counts(dcounts))
    return [
        ("M generate", f"{n_reports:,} reports, {rows:,} rows in {gen:.1f} s"),
        ("M pairs / reports after PS+SS", f"{counts.n_pairs:,} pairs, {counts.n_total:,} reports"),
        ("M counting, DuckDB", f"{t_duck:.2f} s (median of {runs})"),
        ("M counting, plain pandas", f"{t_pd:.2f} s (median of {runs}); identical: {same_pd}"),
        ("M ratio pandas / DuckDB", f"{t_pd / t_duck:.2f}x"),
        (
            "M end to end (count + fit + score), DuckDB",
            f"{t_score:.2f} s (median of {runs}); fit points {res.fit.n_points if res.fit else 0}",
        ),
        (
            "M counting, Dask LocalCluster (2 workers)",
            f"{t_dask:.2f} s (median of {dask_runs}); identical to DuckDB: {same_dask}",
        ),
    ]


def _child_l(stage: str, path: str, out: str) -> None:
    """Run one tier-L stage in this process and print a JSON line with times and peak RSS."""
    t0 = time.perf_counter()
    info: dict[str, object] = {}
    if stage == "gen":
        info["rows"] = generate(int(os.environ["TW_L_REPORTS"]), Path(path))
    else:
        from taperwise.signals.counting import count_pairs
        from taperwise.signals.pipeline import score_counts
        from taperwise.signals.source import open_source

        stages: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(message: str) -> None:
            now = time.perf_counter()
            stages[message] = round(now - last[0], 1)
            last[0] = now

        # the same calls as `taperwise signals score` (score_source), timed one by one
        memory = os.environ.get("TW_L_MEMORY", "9GB")
        counts = count_pairs(open_source(path), memory_limit=memory, threads=2, progress=progress)
        progress("assemble counts")
        res = score_counts(counts)
        progress("fit + scores")
        res.table.to_parquet(out, index=False)
        progress("write parquet")
        info.update(
            pairs=res.pairs,
            reports=res.reports,
            stages=stages,
            theta=list(res.theta),
            likelihood=res.fit.likelihood if res.fit else None,
            boundary=res.fit.boundary if res.fit else None,
        )
    info["seconds"] = time.perf_counter() - t0
    info["cpu_seconds"] = time.process_time()
    info["load_average"] = list(os.getloadavg())
    info["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(info))


def _run_child(stage: str, path: Path, out: Path, env: dict) -> dict | str:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", stage, str(path), str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return f"FAILED: {proc.stderr.strip().splitlines()[-1:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tier_l(
    workdir: Path, n_reports: int, keep: Path | None = None, runs: int = 1
) -> list[tuple[str, str]]:
    """Tier L end to end, ``runs`` times, each in a fresh process (so peak RSS is per run)."""
    base = keep or workdir
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"tier_l_{n_reports}.parquet"
    out = workdir / "tier_l_scores.parquet"
    env = dict(os.environ, TW_L_REPORTS=str(n_reports))
    rows = []
    if not path.exists():
        info = _run_child("gen", path, out, env)
        if isinstance(info, str):
            return [("L generate", info)]
        rows.append(
            (
                "L generate",
                f"{n_reports:,} reports, {info['rows']:,} rows in {info['seconds']:.0f} s, "
                f"peak RSS {info['peak_rss_gb']:.1f} GB",
            )
        )
    results = []
    for i in range(runs):
        info = _run_child("score", path, out, env)
        if isinstance(info, str):
            rows.append((f"L end to end, run {i + 1}", info))
            return rows
        results.append(info)
        load = ", ".join(f"{v:.1f}" for v in info["load_average"])
        rows.append(
            (
                f"L run {i + 1}",
                f"{info['seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU, peak RSS "
                f"{info['peak_rss_gb']:.1f} GB (load average at end {load}); stages "
                + json.dumps(info["stages"]),
            )
        )
    walls = [r["seconds"] for r in results]
    last = results[-1]
    rows.append(
        (
            "L end to end (count + fit + score + write), DuckDB",
            f"median {statistics.median(walls):.0f} s wall (min {min(walls):.0f}, max "
            f"{max(walls):.0f}, {len(walls)} runs), peak RSS "
            f"{max(r['peak_rss_gb'] for r in results):.1f} GB (largest run)",
        )
    )
    rows.append(
        (
            "L pairs / reports",
            f"{last['pairs']:,} pairs, {last['reports']:,} reports; fit on {last['likelihood']}, "
            f"boundary: {last['boundary']}",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default="S,M")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--l-reports", type=int, default=20_000_000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument(
        "--keep-data", default=None, help="keep / reuse the tier-L input in this folder"
    )
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_l(*args.child)
        return 0
    tiers = [t.strip().upper() for t in args.tiers.split(",") if t.strip()]
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        if "S" in tiers:
            rows += tier_s(args.runs)
        if "M" in tiers:
            rows += tier_m(args.runs, work)
        if "L" in tiers:
            rows += tier_l(
                work,
                args.l_reports,
                Path(args.keep_data) if args.keep_data else None,
                runs=args.runs,
            )
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  result")
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
