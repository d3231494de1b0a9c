"""Benchmark taperwise.randomize: list generation, concealment look-ups, minimisation.

Peers (no R is available here, so blockrand/Minirand cannot be timed):
- lists: a textbook pure-Python baseline (stdlib ``random``: draw a size, ``shuffle`` a balanced
  block, append) producing the same structure;
- minimisation: the same rule recomputing counts from the whole history for every participant
  (``Minimiser.assign`` in a loop, as Minirand does), versus ``assign_sequence``'s running counts.

Run: ``python benchmarks/bench_randomize.py`` (prints a table; medians of 7 runs).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from taperwise.randomize import Minimiser, generate_block_list, next_assignment

RUNS = 7


def median_time(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stdlib_block_list(arms, ratio, sizes, strata_count, n, seed):
    rng = random.Random(seed)
    unit = sum(ratio)
    rows = []
    seq = 0
    for stratum in range(strata_count):
        count = block = 0
        while count < n:
            size = rng.choice(sizes)
            content = [a for a, r in zip(arms, ratio, strict=True) for _ in range(r * size // unit)]
            rng.shuffle(content)
            block += 1
            for arm in content:
                seq += 1
                rows.append((seq, stratum, block, size, arm))
            count += size
    return rows


def main() -> int:
    arms, ratio = ["KMC", "BUP", "PBO"], [1, 1, 1]
    rows = []

    for label, strata, n in [
        ("list 4 strata x 60 (typical)", {"site": ["a", "b"], "sex": ["F", "M"]}, 60),
        ("list 8 strata x 10,000", {"site": list("abcd"), "sex": ["F", "M"]}, 10_000),
    ]:
        n_strata = 1
        for levels in strata.values():
            n_strata *= len(levels)
        ours = median_time(
            lambda strata=strata, n=n: generate_block_list(
                arms=arms, ratio=ratio, block_sizes=[3, 6], strata=strata, n_per_stratum=n, seed=11
            )
        )
        peer = median_time(
            lambda n_strata=n_strata, n=n: stdlib_block_list(arms, ratio, [3, 6], n_strata, n, 11)
        )
        rows.append((label, ours, "stdlib random baseline", peer))

    lst = generate_block_list(
        arms=arms,
        ratio=ratio,
        block_sizes=[3, 6],
        strata={"site": ["a", "b"]},
        n_per_stratum=500,
        seed=1,
    )

    def walk() -> None:
        used: set[int] = set()
        for _ in range(400):
            used.add(next_assignment(lst.entries, used, "site=a").entry.sequence)

    rows.append(("next_assignment x400 (1,002-entry list)", median_time(walk), "-", float("nan")))

    factors = {
        "sex": ["F", "M"],
        "site": list("abcd"),
        "opioid": ["fentanyl", "heroin", "rx"],
        "cows": ["lo", "hi"],
    }
    prng = random.Random(3)
    people = [{f: prng.choice(levels) for f, levels in factors.items()} for _ in range(1000)]
    m = Minimiser(arms=arms, factors=factors, method="range", p_best=0.8, seed=5)

    def naive() -> None:
        history = []
        for levels in people:
            history.append((levels, m.assign(levels, history).arm))

    rows.append(
        (
            "minimise 1,000 participants, 4 factors",
            median_time(lambda: m.assign_sequence(people), runs=5),
            "recount-from-history loop",
            median_time(naive, runs=5),
        )
    )

    print(f"{'case':44s} {'taperwise s':>12s}  {'peer':28s} {'peer s':>10s} {'peer/ours':>9s}")
    for label, ours, peer_name, peer in rows:
        ratio_text = f"{peer / ours:9.2f}" if peer == peer else "        -"
        peer_text = f"{peer:10.4f}" if peer == peer else "         -"
        print(f"{label:44s} {ours:12.4f}  {peer_name:28s} {peer_text} {ratio_text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
