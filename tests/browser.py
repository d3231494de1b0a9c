"""Shared settings for the browser tests: Debian's Chromium, headless, driven by Playwright.

Chromium comes from Debian's package (installed by scripts/install-test-services.sh); Playwright
never downloads a browser. Without Chromium a browser test skips, or fails under ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require_chromium() -> None:
    """Skip (outside CI) or fail (under CI) when Debian's Chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (scripts/install-test-services.sh installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
