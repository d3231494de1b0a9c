"""Where the shared reference data sets are (``../shared/reference-data`` or $TAPERWISE_REFERENCE_DATA).

Import ``require_reference`` from here (``from refdata import require_reference``): it skips a test
outside CI, and fails it under ``CI=true``, when the data are absent.
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
