"""Shared test fixtures.

Reference data sets come from ``../shared/reference-data`` (override with
``TAPERWISE_REFERENCE_DATA``). Outside CI a test that needs them skips with a reason when the
folder is absent; under ``CI=true`` the absence is a failure (DESIGN.md §3).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def reference_data_root() -> Path:
    override = os.environ.get("TAPERWISE_REFERENCE_DATA")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "reference-data"


def require_reference(*parts: str) -> Path:
    """Path to a reference data file or folder; skip (or fail under CI) when it is absent."""
    path = reference_data_root().joinpath(*parts)
    if not path.exists():
        message = f"reference data not found: {path} (set TAPERWISE_REFERENCE_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


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
