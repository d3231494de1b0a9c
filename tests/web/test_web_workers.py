"""`serve(workers=2)`: two uvicorn worker processes on one database share sessions and limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from web_helpers import PASSWORD, fast_argon2  # noqa: F401  (fixture)

from server_helpers import child_pids, free_port, serve_subprocess


@pytest.fixture
def two_workers(kmc_study, db_url, fast_argon2):  # noqa: F811
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.web.users import create_user

    engine, _, _ = kmc_study
    with transaction(engine) as session:
        create_user(
            session, Actor("setup", "admin"), username="inv", role="investigator", password=PASSWORD
        )
    port = free_port()
    proc = serve_subprocess(db_url, port, timeout=90, workers=2)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def test_two_worker_processes_share_one_session_store(two_workers):
    import httpx

    proc, base = two_workers
    workers = [
        p
        for p in child_pids(proc.pid)
        if "multiprocessing.resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()
    ]
    assert len(workers) >= 2, "serve(workers=2) should run two worker processes"
    token = httpx.post(f"{base}/api/token", data={"username": "inv", "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    # a fresh connection per request, so the kernel hands them to either worker
    assert {httpx.get(f"{base}/api/me", headers=headers).status_code for _ in range(30)} == {200}
    assert httpx.post(f"{base}/api/logout", headers=headers).status_code == 204
    assert {httpx.get(f"{base}/api/me", headers=headers).status_code for _ in range(30)} == {401}
