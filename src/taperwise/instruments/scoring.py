"""Score an instrument administration: validate items, total, band, subtotal without GI items.

Rules (DESIGN.md §4, domain.md §1.2-1.3):

- every item score must be in the item's allowed set (COWS pulse 0, 1, 2, 4 -- there is no 3);
- the total exists only when every item is scored; a partial form is ``complete=False`` with
  ``total=None`` and ``partial_sum`` (a lower bound, never a total);
- the band comes from the total (COWS 0-4 has no band: ``None``);
- ``subtotals["no_gi"]`` is the sum of the non-GI items, defined when all of them are scored
  (for an instrument without GI items it equals the total).

Example
-------
>>> from taperwise.instruments import score
>>> res = score("cows", {"pulse": 2, "sweating": 1, "restlessness": 3, "pupil_size": 1,
...     "bone_joint_aches": 2, "runny_nose_tearing": 1, "gi_upset": 2, "tremor": 1,
...     "yawning": 1, "anxiety_irritability": 2, "gooseflesh": 3})
>>> res.total, res.band, res.subtotals
(19, 'moderate', {'no_gi': 17})
>>> score("cows", {"pulse": 1}).to_dict()["total"] is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taperwise.errors import ValidationError
from taperwise.instruments.model import Instrument
from taperwise.instruments.registry import get_instrument

#: Plausible resting pulse range accepted by :func:`cows_pulse_score` (beats per minute).
PULSE_BPM_RANGE = (20.0, 300.0)


def _allowed_text(allowed: tuple[int, ...]) -> str:
    return ", ".join(str(v) for v in allowed)


def _coerce_score(inst: Instrument, key: str, value: Any) -> int:
    item = inst.item(key)
    got: Any = value
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = int(value)
    elif isinstance(value, float):
        number = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, str):
        text = value.strip()
        got = repr(value)
        if text.lstrip("+-").isdigit():
            number = int(text)
            got = text
    else:
        try:  # numpy integers and the like
            import numbers

            if isinstance(value, numbers.Integral):
                number = int(value)
            elif isinstance(value, numbers.Real) and float(value).is_integer():
                number = int(float(value))
        except (TypeError, ValueError):  # pragma: no cover
            number = None
    if number is None or number not in item.allowed:
        shown = number if number is not None else got
        raise ValidationError(
            f"{inst.short_name} item '{key}' got {shown}; allowed {_allowed_text(item.allowed)}"
        )
    return number


def validate_items(instrument: str | Instrument, items: Mapping[str, Any]) -> dict[str, int]:
    """Check item keys and scores; return the answered items as ``{key: int}`` in form order.

    A value of ``None`` means "not answered" and is dropped. Integer-valued floats and digit
    strings are accepted (``"2"`` -> 2); anything else outside the allowed set is an error.

    Raises
    ------
    ValidationError
        One line, e.g. ``COWS item 'pulse' got 3; allowed 0, 1, 2, 4``, or for an unknown key
        ``COWS has no item 'pulse_rate'; items: pulse, sweating, ...``.

    Example
    -------
    >>> validate_items("cows", {"gooseflesh": 3, "pulse": None})
    {'gooseflesh': 3}
    """
    inst = get_instrument(instrument)
    if not isinstance(items, Mapping):
        raise ValidationError(f"{inst.short_name} items must be a mapping of item key to score")
    allowed = inst.allowed_sets
    unknown = sorted(str(k) for k in items if k not in allowed)
    if unknown:
        raise ValidationError(
            f"{inst.short_name} has no item '{unknown[0]}'; items: {', '.join(inst.item_keys)}"
        )
    clean: dict[str, int] = {}
    for key, allowed_set in allowed.items():
        value = items.get(key)
        if value is None:
            continue
        if type(value) is int and value in allowed_set:  # fast path for the common case
            clean[key] = value
        else:
            clean[key] = _coerce_score(inst, key, value)
    return clean


def cows_pulse_score(bpm: float) -> int:
    """COWS item 1 score from a resting pulse in beats per minute.

    ``<= 80`` -> 0, ``81-100`` -> 1, ``101-120`` -> 2, ``> 120`` -> 4 (domain.md §1.2). A
    fractional rate counts as above a bound once it exceeds it (80.5 -> 1).

    Raises
    ------
    ValidationError
        For a rate that is not a number or lies outside 20-300 bpm.

    Example
    -------
    >>> [cows_pulse_score(b) for b in (80, 81, 100, 101, 120, 121)]
    [0, 1, 1, 2, 2, 4]
    """
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        raise ValidationError(
            f"COWS pulse_bpm got {bpm!r}; allowed a number of beats per minute"
        ) from None
    low, high = PULSE_BPM_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(
            f"COWS pulse_bpm got {bpm}; allowed {low:g}-{high:g} beats per minute"
        )
    if value <= 80:
        return 0
    if value <= 100:
        return 1
    if value <= 120:
        return 2
    return 4


@dataclass(frozen=True)
class ScoreResult:
    """The score of one administration (frozen).

    Attributes
    ----------
    instrument, version : str
        Which definition scored it.
    total : int or None
        Sum of item scores; None unless ``complete``.
    band : str or None
        Severity band of the total; None when incomplete, below every band, or no bands.
    complete : bool
        Every item scored.
    partial_sum : int
        Sum of the scored items (equals ``total`` when complete; a lower bound otherwise).
    subtotals : dict
        ``{"no_gi": int | None}``: sum without GI items, None unless all non-GI items are scored.
    items : dict
        The validated item scores (not part of :meth:`to_dict`).
    missing : tuple of str
        Keys of unscored items (not part of :meth:`to_dict`).
    """

    instrument: str
    version: str
    total: int | None
    band: str | None
    complete: bool
    partial_sum: int
    subtotals: dict[str, int | None]
    items: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Exactly the ``taperwise score --json`` document."""
        return {
            "instrument": self.instrument,
            "version": self.version,
            "total": self.total,
            "band": self.band,
            "complete": self.complete,
            "partial_sum": self.partial_sum,
            "subtotals": dict(self.subtotals),
        }


def score(
    instrument: str | Instrument,
    items: Mapping[str, Any],
    *,
    pulse_bpm: float | None = None,
) -> ScoreResult:
    """Validate and score one administration.

    Parameters
    ----------
    instrument : str or Instrument
        An instrument id (``"cows"``) or a loaded definition.
    items : mapping
        Item key -> score; missing keys or ``None`` values are unanswered items.
    pulse_bpm : float, optional
        COWS only: measured resting pulse. Fills item ``pulse`` via :func:`cows_pulse_score`;
        if ``pulse`` is also given, the two must agree.

    Example
    -------
    >>> score("oows", {k: 1 for k in ("yawning", "tremor")}).partial_sum
    2
    """
    inst = get_instrument(instrument)
    clean = validate_items(inst, items)
    if pulse_bpm is not None:
        if inst.id != "cows":
            raise ValidationError(f"pulse_bpm applies to COWS only, not {inst.short_name}")
        derived = cows_pulse_score(pulse_bpm)
        if "pulse" in clean and clean["pulse"] != derived:
            raise ValidationError(
                f"COWS item 'pulse' got {clean['pulse']} but pulse_bpm {pulse_bpm:g} scores {derived}"
            )
        clean["pulse"] = derived
        clean = {key: clean[key] for key in inst.item_keys if key in clean}
    missing = tuple(key for key in inst.item_keys if key not in clean)
    complete = not missing
    partial_sum = sum(clean.values())
    total = partial_sum if complete else None
    non_gi = inst.non_gi_item_keys
    no_gi = sum(clean[k] for k in non_gi) if all(k in clean for k in non_gi) else None
    return ScoreResult(
        instrument=inst.id,
        version=inst.version,
        total=total,
        band=inst.band_for(total),
        complete=complete,
        partial_sum=partial_sum,
        subtotals={"no_gi": no_gi},
        items=clean,
        missing=missing,
    )
