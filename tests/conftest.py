"""Shared test fixtures.

Reference data sets come from ``../shared/reference-data`` (override with
``TAPERWISE_REFERENCE_DATA``). Outside CI a test that needs them skips with a reason when the
folder is absent; under ``CI=true`` the absence is a failure (DESIGN.md §3).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refdata import REPO_ROOT, reference_data_root, require_reference  # noqa: F401  (re-exported)


@pytest.fixture
def reference_data() -> Path:
    """Root folder of the shared reference data sets."""
    return require_reference()


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: ``code, out, err = cli("score", "cows", ...)``."""
    from taperwise.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


def _service_missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this test worker (started here, stopped at the end)."""
    from pg_server import PostgresServer

    url = os.environ.get("TAPERWISE_TEST_POSTGRES_URL")
    if url:
        yield None
        return
    try:
        server = PostgresServer().start()
    except (FileNotFoundError, RuntimeError) as exc:
        _service_missing(f"PostgreSQL not available: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    import uuid

    if postgres_server is None:
        return os.environ["TAPERWISE_TEST_POSTGRES_URL"]
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """Run a test on SQLite (file, WAL) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def kmc_study(db_url):
    """A study created from examples/kmc-vs-buprenorphine-vs-placebo.yaml on SQLite and PostgreSQL."""
    from store_helpers import KMC_PROTOCOL, new_study

    if not KMC_PROTOCOL.exists():
        pytest.fail(f"example protocol missing: {KMC_PROTOCOL}")
    engine, study_id, proto = new_study(db_url)
    yield engine, study_id, proto
    engine.dispose()
