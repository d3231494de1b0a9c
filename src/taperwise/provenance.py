"""Where a result came from: options, seed, package versions (DESIGN.md §3)."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata
from typing import Any

_PACKAGES = ("taperwise", "numpy", "scipy", "pandas")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of taperwise and the numerical packages it relies on."""
    versions: dict[str, str] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # running from a source tree
            versions[name] = "unknown"
    return versions


def provenance(
    options: dict[str, Any] | None = None, seed: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A provenance record to attach to a result object."""
    record: dict[str, Any] = {
        "options": dict(options or {}),
        "seed": seed,
        "versions": package_versions(),
    }
    record.update(extra)
    return record
