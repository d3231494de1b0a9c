"""Running score during entry: total and band for a complete form, a partial sum otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def running_score(instrument: str, items: Mapping[str, Any]) -> dict[str, Any]:
    """Score the answered items; raises the instrument's one-line ValidationError on bad scores.

    Example
    -------
    >>> running_score("cows", {"pulse": 1})["complete"]
    False
    """
    from taperwise.instruments import get_instrument, score

    inst = get_instrument(instrument)
    answered = {k: v for k, v in items.items() if v not in (None, "")}
    result = score(inst, answered)
    partial = getattr(result, "partial_sum", None)
    if partial is None and not result.complete:
        partial = sum(int(v) for v in answered.values())
    return {
        "instrument": inst.id,
        "answered": len(answered),
        "n_items": len(inst.items),
        "complete": bool(result.complete),
        "total": result.total,
        "partial_sum": None if result.complete else partial,
        "band": result.band,
        "max_total": inst.max_total,
    }
