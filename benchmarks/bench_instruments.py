"""Benchmark instrument scoring, definition loading and exports.

Peer: a minimal hand-written COWS scorer (set membership per item, sum, band by if-chain) with no
error messages, no partial-form handling and no GI subtotal: the floor for pure-Python scoring.
Run standalone: ``python benchmarks/bench_instruments.py``. Prints medians of 7 runs.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

from taperwise.instruments import get_instrument, reload_instruments, score
from taperwise.instruments.fhir import questionnaire, questionnaire_response
from taperwise.instruments.redcap import data_dictionary_csv

RUNS = 7


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - start) / repeat)
    return statistics.median(times)


def main() -> int:
    inst = get_instrument("cows")
    rng = random.Random(11)
    forms = [{item.key: rng.choice(item.allowed) for item in inst.items} for _ in range(2000)]
    allowed = {item.key: frozenset(item.allowed) for item in inst.items}

    def minimal(items: dict[str, int]) -> tuple[int, str | None]:
        for key, value in items.items():
            if value not in allowed[key]:
                raise ValueError(key)
        total = sum(items.values())
        band = None
        if total >= 37:
            band = "severe"
        elif total >= 25:
            band = "moderately severe"
        elif total >= 13:
            band = "moderate"
        elif total >= 5:
            band = "mild"
        return total, band

    it = iter(range(10**9))

    def ours() -> None:
        score(inst, forms[next(it) % len(forms)])

    def peer() -> None:
        minimal(forms[next(it) % len(forms)])

    def load() -> None:
        reload_instruments()
        get_instrument("cows")

    rows = [
        (
            "score() one complete COWS form",
            _median_seconds(ours, 20000),
            _median_seconds(peer, 20000),
        ),
        ("load all 7 YAML definitions", _median_seconds(load, 5), None),
        (
            "FHIR Questionnaire cows (build+validate)",
            _median_seconds(lambda: questionnaire("cows"), 50),
            None,
        ),
        (
            "FHIR QuestionnaireResponse cows",
            _median_seconds(lambda: questionnaire_response("cows", forms[0]), 200),
            None,
        ),
        (
            "REDCap dictionary CSV sows",
            _median_seconds(lambda: data_dictionary_csv("sows"), 500),
            None,
        ),
    ]
    print(f"{'benchmark':<44} {'median':>12} {'peer':>12} {'ratio':>7}")
    for name, ours_s, peer_s in rows:
        peer_txt = f"{peer_s * 1e6:9.2f} us" if peer_s else f"{'-':>12}"
        ratio = f"{ours_s / peer_s:6.1f}x" if peer_s else f"{'-':>7}"
        print(f"{name:<44} {ours_s * 1e6:9.2f} us {peer_txt} {ratio}")
    print(f"(medians of {RUNS} runs; peer = minimal hand-written COWS scorer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
