"""Many simultaneous writers against a live server: all saved once, no deadlock (both backends).

More concurrent writers (60) than worker threads (40) and pooled connections (30): writers must
queue for a write slot before taking either, or writers waiting for a connection can hold every
thread the earlier writers need to commit (a deadlock seen in the benchmark on PostgreSQL).
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from web_helpers import PASSWORD, SEVERE_COWS, fast_argon2, make_env  # noqa: F401

WRITERS = 60
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sixty_concurrent_writers(kmc_study, db_url, fast_argon2):  # noqa: F811
    import httpx
    import uvicorn

    from taperwise.store.audit import verify_chain
    from taperwise.store.engine import read_session
    from taperwise.store.models import Assessment

    engine, study_id, proto = kmc_study
    env = make_env(engine, study_id, proto, db_url)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(env.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(f"{base}/api/token", data={"username": "inv", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        url = f"{base}/api/studies/{study_id}/participants/A01/assessments"
        items = dict(SEVERE_COWS, pulse=1)
        barrier = threading.Barrier(WRITERS)

        def post(_: int) -> int:
            barrier.wait(30)
            response = httpx.post(
                url, headers=headers, json={"instrument": "cows", "items": items}, timeout=60
            )
            return response.status_code

        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = list(pool.map(post, range(WRITERS)))
    finally:
        server.should_exit = True
        thread.join(10)
        env.app.state.taperwise.engine.dispose()
    assert statuses == [201] * WRITERS
    with read_session(engine) as session:
        assert session.execute(select(func.count(Assessment.id))).scalar_one() == WRITERS
        assert verify_chain(session).ok
