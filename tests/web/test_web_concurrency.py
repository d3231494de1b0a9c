"""Many simultaneous writers against a live server: all saved once, no deadlock (both backends).

More concurrent writers (60) than worker threads (40) and pooled connections (30): writers must
queue for a write slot before taking either, or writers waiting for a connection can hold every
thread the earlier writers need to commit (a deadlock seen in the benchmark on PostgreSQL).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from web_helpers import PASSWORD, SEVERE_COWS, fast_argon2, make_env  # noqa: F401

from server_helpers import threaded_uvicorn

WRITERS = 60
pytestmark = pytest.mark.slow


def test_sixty_concurrent_writers(kmc_study, db_url, fast_argon2):  # noqa: F811
    import httpx

    from taperwise.store.audit import verify_chain
    from taperwise.store.engine import read_session
    from taperwise.store.models import Assessment

    engine, study_id, proto = kmc_study
    env = make_env(engine, study_id, proto, db_url)
    try:
        with threaded_uvicorn(env.app) as base:
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
        env.app.state.taperwise.engine.dispose()
    assert statuses == [201] * WRITERS
    with read_session(engine) as session:
        assert session.execute(select(func.count(Assessment.id))).scalar_one() == WRITERS
        assert verify_chain(session).ok
