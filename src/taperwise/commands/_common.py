"""Helpers shared by command modules: JSON output, rich console, option parsing."""

from __future__ import annotations

from rich.console import Console

from taperwise.errors import ValidationError

console = Console(stderr=True)


def parse_key_values(pairs: list[str] | None, *, what: str) -> dict[str, str]:
    """Parse repeated ``KEY=VALUE`` options; the error names the offending option."""
    result: dict[str, str] = {}
    for raw in pairs or []:
        if "=" not in raw:
            raise ValidationError(f"{what} '{raw}' is not KEY=VALUE")
        key, value = raw.split("=", 1)
        key = key.strip()
        if not key:
            raise ValidationError(f"{what} '{raw}' has an empty key")
        result[key] = value.strip()
    return result
