"""Web benchmark: concurrent raters posting COWS assessments over loopback HTTP.

N raters (default 50), each with its own account and participant, post assessments to a live
uvicorn server (separate processes on 127.0.0.1: ``--workers``, default taperwise's own) for D
seconds (default 60), each pacing itself
at one request per ``--interval`` seconds (default 1 s: a busy ward, far above the ~1 entry per
minute of bedside practice) -- with ``--interval 0`` they post back-to-back (saturation).
Measured client-side: latency percentiles of every POST. Then the database is checked: every
201 answer has exactly one stored assessment (no lost, no duplicated writes), nothing else was
stored, and the audit hash chain verifies.

Run: ``python benchmarks/bench_web.py [--backends sqlite,postgresql] [--runs 5] [--duration 60]
[--workers N]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
PASSWORD = "bench-password-1"
ITEMS = [
    {
        "pulse": 2,
        "sweating": 1,
        "restlessness": 3,
        "pupil_size": 1,
        "bone_joint_aches": 2,
        "runny_nose_tearing": 1,
        "gi_upset": 2,
        "tremor": 1,
        "yawning": 1,
        "anxiety_irritability": 2,
        "gooseflesh": 3,
    },
    {
        "pulse": 1,
        "sweating": 0,
        "restlessness": 1,
        "pupil_size": 0,
        "bone_joint_aches": 1,
        "runny_nose_tearing": 0,
        "gi_upset": 0,
        "tremor": 0,
        "yawning": 1,
        "anxiety_irritability": 1,
        "gooseflesh": 0,
    },
]


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc): the server's worker processes."""
    from server_helpers import child_pids

    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(child_pids(current))
    return found


def _server_cpu_seconds(pid: int) -> float:
    """CPU seconds of the server: its main process plus every worker process."""
    return sum(_process_cpu_seconds(p) for p in _process_tree(pid))


def setup_database(url: str, raters: int) -> str:
    """A KMC study with one participant and one rater account per simulated rater."""
    from store_helpers import enrol_participant, new_study
    from taperwise.store.engine import transaction
    from taperwise.store.models import User
    from taperwise.web.users import hash_password

    engine, study_id, proto = new_study(url)
    password_hash = hash_password(PASSWORD)  # one argon2 hash, shared by the bench accounts
    with transaction(engine) as session:
        for i in range(raters):
            session.add(User(username=f"rater{i:02d}", role="rater", password_hash=password_hash))
    for i in range(raters):
        enrol_participant(
            engine, study_id, proto, f"R{i:02d}", site="site_a" if i % 2 else "site_b"
        )
    engine.dispose()
    return study_id


def start_server(url: str, port: int, workers: int | None) -> subprocess.Popen:
    from server_helpers import serve_subprocess

    # keep-alive longer than the pacing interval: with uvicorn's default 5 s, a client posting
    # every 5 s races the server closing the idle connection (httpx ReadError, request not sent)
    return serve_subprocess(url, port, timeout_keep_alive=120, workers=workers)


async def rater(
    base: str, index: int, study: str, duration: float, interval: float, results: dict
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = (
            await client.post(
                "/api/token", data={"username": f"rater{index:02d}", "password": PASSWORD}
            )
        ).json()["access_token"]
        results["ready"] += 1
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/api/studies/{study}/participants/R{index:02d}/assessments"
        await results["start"].wait()
        end = results["t0"] + duration
        n = 0
        # spread the paced raters over one interval so they do not all fire at once
        await asyncio.sleep(interval * index / max(1, results["raters"]))
        while time.perf_counter() < end:
            started = time.perf_counter()
            try:
                response = await client.post(
                    url, headers=headers, json={"instrument": "cows", "items": ITEMS[n % 2]}
                )
            except httpx.HTTPError as exc:  # a timeout counts as an error, not a crash
                results["errors"].append(type(exc).__name__)
                n += 1
                continue
            elapsed = time.perf_counter() - started
            n += 1
            if response.status_code == 201:
                results["latency"].append(elapsed)
                results["started_at"].append(started - results["t0"])
                results["ids"].setdefault(index, []).append(response.json()["record"]["id"])
            else:
                results["errors"].append(f"{response.status_code} {response.text[:120]}")
            if interval > 0:
                await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


async def drive(
    base: str,
    study: str,
    raters: int,
    duration: float,
    interval: float,
    server_pid: int,
    client_gc_off: bool = True,
) -> dict:
    results: dict = {
        "latency": [],
        "started_at": [],
        "ids": {},
        "errors": [],
        "start": asyncio.Event(),
        "ready": 0,
        "raters": raters,
        "client_gc_off": client_gc_off,
    }
    tasks = [
        asyncio.create_task(rater(base, i, study, duration, interval, results))
        for i in range(raters)
    ]
    while results["ready"] < raters:  # every rater logged in (argon2) before the clock starts
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    results["server_cpu0"] = _server_cpu_seconds(server_pid)  # after the logins (argon2)
    # The load generator's own garbage collection is off during the timed window: a full
    # collection in this one process (50 clients) paused every simulated rater at once for
    # 75-190 ms, which the client-side clock then counted as server latency. A real ward has
    # one browser per rater. The server's collector is untouched.
    if results["client_gc_off"]:
        gc.collect()
        gc.freeze()
        gc.disable()
    try:
        results["t0"] = time.perf_counter()
        results["start"].set()
        await asyncio.gather(*tasks)
    finally:
        if results["client_gc_off"]:
            gc.enable()
            gc.unfreeze()
    return results


def verify(url: str, results: dict) -> dict:
    from sqlalchemy import select

    from taperwise.store.audit import verify_chain
    from taperwise.store.engine import make_engine, read_session
    from taperwise.store.models import Assessment, Participant

    engine = make_engine(url)
    with read_session(engine) as session:
        stored = session.execute(
            select(Participant.code, Assessment.id).join(
                Participant, Participant.id == Assessment.participant_id
            )
        ).all()
        chain = verify_chain(session)
    engine.dispose()
    acknowledged = [i for ids in results["ids"].values() for i in ids]
    stored_ids = [i for _, i in stored]
    per_code: dict[str, int] = {}
    for code, _ in stored:
        per_code[code] = per_code.get(code, 0) + 1
    expected = {f"R{k:02d}": len(v) for k, v in results["ids"].items()}
    return {
        "lost": len(set(acknowledged) - set(stored_ids)),
        "duplicated": len(stored_ids)
        - len(set(stored_ids))
        + (len(acknowledged) - len(set(acknowledged))),
        "unexpected": len(set(stored_ids) - set(acknowledged)),
        "per_participant_ok": per_code == {k: v for k, v in expected.items() if v},
        "chain_ok": chain.ok,
    }


def run_once(
    backend: str,
    raters: int,
    duration: float,
    interval: float,
    workers: int | None = None,
    client_gc_off: bool = True,
) -> dict:
    from taperwise.web.serve import default_workers

    tmp = Path(tempfile.mkdtemp(prefix="taperwise-bench-web-"))
    server_pg = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        from pg_server import PostgresServer

        server_pg = PostgresServer().start()
        url = server_pg.create_database("bench")
    try:
        study = setup_database(url, raters)
        from server_helpers import free_port

        port = free_port()
        proc = start_server(url, port, workers)
        try:
            results = asyncio.run(
                drive(
                    f"http://127.0.0.1:{port}",
                    study,
                    raters,
                    duration,
                    interval,
                    proc.pid,
                    client_gc_off,
                )
            )
            server_cpu = _server_cpu_seconds(proc.pid) - results["server_cpu0"]
        finally:
            proc.terminate()
            proc.wait(20)
        lat = sorted(results["latency"])
        check = verify(url, results)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
        if results["errors"]:
            from collections import Counter

            print(f"{backend}: errors {dict(Counter(results['errors']))}", flush=True)
        return {
            "backend": backend,
            "workers": workers if workers is not None else default_workers(url),
            "requests": len(lat),
            "errors": len(results["errors"]),
            "rps": len(lat) / duration,
            "p50_ms": q[49] * 1000,
            "p95_ms": q[94] * 1000,
            "p99_ms": q[98] * 1000,
            "max_ms": lat[-1] * 1000 if lat else float("nan"),
            # CPU of the server (all its processes) during the timed window, per stored write
            "server_cpu_ms_per_write": server_cpu * 1000 / max(1, len(lat)),
            **check,
        }
    finally:
        if server_pg is not None:
            server_pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default: taperwise's own default for the backend)",
    )
    parser.add_argument(
        "--client-gc",
        action="store_true",
        help="leave the load generator's garbage collector on (to reproduce older series)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TAPERWISE_SECRET_KEY", "bench")
    rows = []
    for backend in args.backends.split(","):
        for run in range(args.runs):
            row = run_once(backend.strip(), args.raters, args.duration, args.interval, args.workers)
            row["run"] = run + 1
            rows.append(row)
            print(
                f"{row['backend']:<10} run {row['run']} ({row['workers']} server processes): "
                f"{row['requests']} writes "
                f"({row['rps']:.1f}/s), p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
                f"p99 {row['p99_ms']:.1f} ms, max {row['max_ms']:.1f} ms, errors {row['errors']}, "
                f"lost {row['lost']}, duplicated {row['duplicated']}, chain ok {row['chain_ok']}, "
                f"server CPU {row['server_cpu_ms_per_write']:.1f} ms/write",
                flush=True,
            )
    print()
    print(
        "| backend | server processes | raters | interval s | runs | writes/s | p50 ms | p95 ms | p99 ms (median) "
        "| p99 ms (worst) | server CPU ms/write | errors | lost | duplicated | p99 <= 100 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for backend in dict.fromkeys(r["backend"] for r in rows):
        group = [r for r in rows if r["backend"] == backend]
        med = {
            k: statistics.median(r[k] for r in group)
            for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_write")
        }
        worst = max(r["p99_ms"] for r in group)
        errors = sum(r["errors"] for r in group)
        lost = sum(r["lost"] for r in group)
        dup = sum(r["duplicated"] + r["unexpected"] for r in group)
        good = med["p99_ms"] <= 100 and lost == 0 and dup == 0 and errors == 0
        good = good and all(r["chain_ok"] and r["per_participant_ok"] for r in group)
        ok = ok and good
        print(
            f"| {backend} | {group[0]['workers']} | {args.raters} | {args.interval:g} | {len(group)} | {med['rps']:.1f} "
            f"| {med['p50_ms']:.1f} | {med['p95_ms']:.1f} | {med['p99_ms']:.1f} | {worst:.1f} "
            f"| {med['server_cpu_ms_per_write']:.1f} | {errors} | {lost} | {dup} | {'yes' if good else 'NO'} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
