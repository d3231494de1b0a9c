"""Benchmark: protocol loading (with line tracking) and safety-rule evaluation.

Peers for loading: ``yaml.safe_load`` + ``Protocol.model_validate`` and the same with libyaml's
``CSafeLoader`` (the same validation without the line map; the second is the fair peer). The rule engine has no external peer; absolute times per evaluation are shown.
Run standalone: ``python benchmarks/bench_protocol_safety.py``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path

import yaml

from taperwise.protocol import Protocol, load_protocol, parse_protocol
from taperwise.safety import AssessmentFact, DoseFact, ParticipantFacts, VitalsFact, evaluate

ROOT = Path(__file__).resolve().parents[1]
KMC = ROOT / "examples" / "kmc-vs-buprenorphine-vs-placebo.yaml"
LFX = ROOT / "examples" / "lofexidine-phase3.yaml"
REPEATS = 7


def median_seconds(fn, inner: int, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def history(protocol: Protocol, arm_id: str, days: int) -> ParticipantFacts:
    t0 = dt.datetime(2026, 1, 1, 8)
    arm = protocol.arm(arm_id)
    assessments, doses, vitals = [], [], []
    for d in range(days):
        for k in range(4):
            t = t0 + dt.timedelta(days=d, hours=5 * k)
            items = {"pulse": 1, "sweating": 1, "gi_upset": 2}
            assessments.append(AssessmentFact(t, "cows", 12, True, items))
            doses.append(DoseFact(t + dt.timedelta(minutes=5), arm_id, 2.0, arm.regimen.unit, True))
            vitals.append(VitalsFact(t, 118, 74, 70))
    return ParticipantFacts(
        "P-1", arm, assessments=tuple(assessments), doses=tuple(doses), vitals=tuple(vitals)
    )


def main() -> int:
    text = KMC.read_text()
    rows = []
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def ours_fn():
        return parse_protocol(text, source=str(KMC))

    peers = {
        "safe_load+validate (pure)": lambda: Protocol.model_validate(yaml.safe_load(text)),
        "CSafeLoader+validate": lambda: Protocol.model_validate(yaml.load(text, Loader=c_loader)),  # noqa: S506
    }
    for label, peer_fn in peers.items():
        # interleave ours and the peer in every repeat so load on the machine hits both alike
        ours_t, peer_t = [], []
        for _ in range(REPEATS):
            ours_t.append(median_seconds(ours_fn, 10, repeats=1))
            peer_t.append(median_seconds(peer_fn, 10, repeats=1))
        rows.append((f"parse KMC vs {label}", statistics.median(ours_t), statistics.median(peer_t)))
    rows.append(
        ("load_protocol lofexidine file", median_seconds(lambda: load_protocol(LFX), 20), None)
    )
    lfx = load_protocol(LFX)
    for days in (7, 70):
        f = history(lfx, "LFX288", days)
        t = dt.datetime(2026, 1, 1, 8) + dt.timedelta(days=days)
        dose = DoseFact(t, "LFX288", 4, "tablet", True)
        cows = AssessmentFact(t, "cows", 20, True, {"gi_upset": 2})
        n = len(f.assessments) + len(f.doses) + len(f.vitals)
        rows.append(
            (
                f"evaluate dose, history {n} facts",
                median_seconds(lambda f=f, e=dose: evaluate(lfx, f, e), 200),
                None,
            )
        )
        rows.append(
            (
                f"evaluate COWS, history {n} facts",
                median_seconds(lambda f=f, e=cows: evaluate(lfx, f, e), 200),
                None,
            )
        )
    print(f"{'case':<42} {'median ms':>10} {'peer ms':>9} {'ratio':>7}")
    for name, ours_s, peer_s in rows:
        peer_txt = f"{peer_s * 1e3:9.3f}" if peer_s else f"{'-':>9}"
        ratio = f"{ours_s / peer_s:7.2f}" if peer_s else f"{'-':>7}"
        print(f"{name:<42} {ours_s * 1e3:10.3f} {peer_txt} {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
