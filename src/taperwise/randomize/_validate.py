"""Validation helpers shared by the randomisation modules (one-line errors, DESIGN.md §3)."""

from __future__ import annotations

import operator
from collections.abc import Sequence

from taperwise.errors import ValidationError


def check_arms(arms: Sequence[str]) -> list[str]:
    """Arm labels: at least two, non-empty, unique, free of the separators used in keys."""
    labels = [str(a).strip() for a in arms]
    if len(labels) < 2:
        raise ValidationError(
            f"arms: need at least 2 arms, got {len(labels)} ({', '.join(labels)})"
        )
    for label in labels:
        if not label:
            raise ValidationError("arms: an arm label is empty")
        if any(ch in label for ch in ",|="):
            raise ValidationError(f"arms: label '{label}' may not contain ',', '|' or '='")
    duplicates = sorted({a for a in labels if labels.count(a) > 1})
    if duplicates:
        raise ValidationError(f"arms: duplicate label(s) {', '.join(duplicates)}")
    return labels


def check_ratio(ratio: Sequence[int] | None, n_arms: int) -> list[int]:
    """Allocation ratio: one positive integer per arm (default all 1)."""
    if ratio is None:
        return [1] * n_arms
    values = list(ratio)
    if len(values) != n_arms:
        raise ValidationError(
            f"ratio: got {len(values)} part(s) ({':'.join(str(v) for v in values)}) for {n_arms} arms; "
            f"give one positive integer per arm, e.g. {':'.join(['1'] * n_arms)}"
        )
    out: list[int] = []
    for value in values:
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValidationError(f"ratio: part '{value}' is not a positive integer")
        out.append(int(value))
    return out


def check_factors(factors: dict[str, Sequence[str]] | None, *, what: str) -> dict[str, list[str]]:
    """Factor name -> non-empty list of unique level labels, keys and labels safe for stratum keys."""
    result: dict[str, list[str]] = {}
    for name, levels in (factors or {}).items():
        key = str(name).strip()
        if not key or any(ch in key for ch in ",|="):
            raise ValidationError(
                f"{what}: factor name '{name}' is empty or contains ',', '|' or '='"
            )
        labels = [str(v).strip() for v in levels]
        if not labels or any(not v for v in labels):
            raise ValidationError(f"{what}: factor '{key}' needs at least one non-empty level")
        for label in labels:
            if any(ch in label for ch in ",|="):
                raise ValidationError(
                    f"{what}: level '{label}' of factor '{key}' may not contain ',', '|' or '='"
                )
        duplicates = sorted({v for v in labels if labels.count(v) > 1})
        if duplicates:
            raise ValidationError(
                f"{what}: factor '{key}' repeats level(s) {', '.join(duplicates)}"
            )
        result[key] = labels
    return result


def check_seed(seed: int) -> int:
    """A non-negative integer seed (numpy SeedSequence entropy)."""
    try:
        value = operator.index(seed)
    except TypeError:
        value = -1
    if isinstance(seed, bool) or value < 0:
        raise ValidationError(f"seed: got {seed!r}; allowed a non-negative integer")
    return int(value)
