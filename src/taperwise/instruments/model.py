"""Pydantic models of an instrument definition (``definitions/*.yaml``).

A definition is data: an id, a version, a citation and licence note, the items with their allowed
scores and anchors, which items are gastro-intestinal (``gi: true``) and the severity bands. The
models are frozen; :mod:`taperwise.instruments.loader` turns YAML into them and reports a bad file
as ``file:line: field: problem``.

Example
-------
>>> from taperwise.instruments import get_instrument
>>> inst = get_instrument("cows")
>>> inst.item("pulse").allowed
(0, 1, 2, 4)
>>> inst.max_total, inst.gi_item_keys
(48, ('gi_upset',))
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


def located(path: str, message: str) -> ValueError:
    """A ValueError whose message carries a sub-path (``@anchors@ ...``) for the loader's file:line."""
    return ValueError(f"@{path}@ {message}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class RawObservation(_Frozen):
    """A raw measurement from which an item score can be derived (e.g. COWS pulse in bpm)."""

    key: str = Field(pattern=_KEY_PATTERN)
    unit: str
    description: str


class Item(_Frozen):
    """One item of an instrument.

    ``allowed`` is the exact, possibly non-contiguous, set of scores (COWS pulse: 0, 1, 2, 4).
    ``anchors`` maps a score to its short description; a ``choice`` item needs an anchor for every
    allowed score, a ``scale`` item (numeric rating) only for some (typically the ends).
    """

    key: str = Field(pattern=_KEY_PATTERN, max_length=40)
    label: str = Field(min_length=1)
    instruction: str | None = None
    allowed: tuple[int, ...]
    anchors: dict[int, str]
    gi: bool = False
    response: Literal["choice", "scale"] = "choice"
    raw_observation: RawObservation | None = None

    @field_validator("allowed")
    @classmethod
    def _allowed_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("allowed scores must not be empty")
        if any(v < 0 for v in value):
            raise ValueError("allowed scores must be >= 0")
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("allowed scores must be strictly increasing")
        return value

    @field_validator("anchors")
    @classmethod
    def _anchors_text(cls, value: dict[int, str]) -> dict[int, str]:
        for score, text in value.items():
            if not str(text).strip():
                raise ValueError(f"anchor for score {score} is empty")
            if "|" in text:
                raise ValueError(
                    f"anchor for score {score} contains '|' (reserved by REDCap choices)"
                )
        return value

    @model_validator(mode="after")
    def _anchors_match_allowed(self) -> Item:
        extra = sorted(set(self.anchors) - set(self.allowed))
        if extra:
            raise located(
                "anchors",
                f"item '{self.key}': anchors for scores {extra} not in allowed {list(self.allowed)}",
            )
        if self.response == "choice":
            missing = sorted(set(self.allowed) - set(self.anchors))
            if missing:
                raise located(
                    "anchors",
                    f"item '{self.key}': choice item needs an anchor for every allowed score; "
                    f"missing {missing}",
                )
        return self

    def __hash__(self) -> int:
        return hash((self.key, self.allowed))

    @property
    def max_score(self) -> int:
        """Highest allowed score."""
        return self.allowed[-1]

    @property
    def min_score(self) -> int:
        """Lowest allowed score."""
        return self.allowed[0]

    def anchor(self, score: int) -> str | None:
        """The anchor text of ``score`` (None where the definition gives none)."""
        return self.anchors.get(score)


class Band(_Frozen):
    """A severity band: ``min <= total <= max`` (``max`` None: up to the maximum total)."""

    label: str = Field(min_length=1, max_length=32)
    min: int = Field(ge=0)
    max: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"band '{self.label}': max {self.max} < min {self.min}")
        return self

    def contains(self, total: int) -> bool:
        """Whether ``total`` falls in this band."""
        return total >= self.min and (self.max is None or total <= self.max)


class ResponseScale(_Frozen):
    """Allowed scores and anchors shared by every item that does not give its own."""

    allowed: tuple[int, ...]
    anchors: dict[int, str]


class Instrument(_Frozen):
    """A versioned instrument definition (COWS, SOWS, ...). See the module docstring."""

    id: str = Field(pattern=_KEY_PATTERN, max_length=32)
    version: str = Field(min_length=1, max_length=32)
    short_name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    anchor_text: Literal["verbatim", "shortened", "paraphrased", "generic"]
    rater: Literal["clinician", "patient", "derived"]
    instruction: str | None = None
    response_scale: ResponseScale | None = None
    items: tuple[Item, ...] = Field(min_length=1)
    bands_source: str | None = None
    bands: tuple[Band, ...] = ()
    redcap_prefix: str | None = Field(default=None, pattern=_KEY_PATTERN, max_length=12)

    @model_validator(mode="before")
    @classmethod
    def _inherit_response_scale(cls, data: Any) -> Any:
        # Items without their own allowed/anchors take the instrument's response scale.
        if not isinstance(data, dict) or not isinstance(data.get("response_scale"), dict):
            return data
        scale = data["response_scale"]
        items = data.get("items")
        if not isinstance(items, list):
            return data
        filled = []
        for item in items:
            if isinstance(item, dict):
                item = dict(item)
                if "allowed" not in item and "allowed" in scale:
                    item["allowed"] = scale["allowed"]
                if "anchors" not in item and "anchors" in scale:
                    item["anchors"] = scale["anchors"]
            filled.append(item)
        return {**data, "items": filled}

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        keys = [item.key for item in self.items]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            index = max(i for i, k in enumerate(keys) if k in duplicated)
            raise located(f"items.{index}.key", f"duplicate item keys: {', '.join(duplicated)}")
        total_max = sum(item.max_score for item in self.items)
        previous: Band | None = None
        for index, band in enumerate(self.bands):
            if band.min > total_max or (band.max is not None and band.max > total_max):
                raise located(
                    f"bands.{index}",
                    f"band '{band.label}' goes beyond the maximum total {total_max}",
                )
            if previous is not None:
                if previous.max is None or band.min <= previous.max:
                    raise located(
                        f"bands.{index}", f"band '{band.label}' overlaps band '{previous.label}'"
                    )
            previous = band
        return self

    def __hash__(self) -> int:
        return hash((self.id, self.version))

    # -- derived facts -------------------------------------------------------------------------
    @property
    def item_keys(self) -> tuple[str, ...]:
        """Item keys in form order."""
        return tuple(item.key for item in self.items)

    @property
    def gi_item_keys(self) -> tuple[str, ...]:
        """Keys of the gastro-intestinal items (left out of the ``no_gi`` subtotal)."""
        return tuple(item.key for item in self.items if item.gi)

    @property
    def max_total(self) -> int:
        """Highest possible total (sum of each item's highest allowed score)."""
        return sum(item.max_score for item in self.items)

    @property
    def max_total_no_gi(self) -> int:
        """Highest possible subtotal without the GI items."""
        return sum(item.max_score for item in self.items if not item.gi)

    @cached_property
    def _by_key(self) -> dict[str, Item]:
        return {item.key: item for item in self.items}

    @cached_property
    def allowed_sets(self) -> dict[str, frozenset[int]]:
        """Item key -> allowed scores as a frozenset (fast membership tests)."""
        return {item.key: frozenset(item.allowed) for item in self.items}

    @cached_property
    def non_gi_item_keys(self) -> tuple[str, ...]:
        """Keys of the items counted in the ``no_gi`` subtotal."""
        return tuple(item.key for item in self.items if not item.gi)

    def item(self, key: str) -> Item:
        """The item with ``key`` (KeyError if there is none)."""
        return self._by_key[key]

    def band_for(self, total: int | None) -> str | None:
        """The band label of a total; None for no total or a total below every band."""
        if total is None:
            return None
        for band in self.bands:
            if band.contains(total):
                return band.label
        return None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``taperwise instruments show``)."""
        return {
            "id": self.id,
            "version": self.version,
            "short_name": self.short_name,
            "title": self.title,
            "citation": self.citation,
            "licence": self.licence,
            "anchor_text": self.anchor_text,
            "rater": self.rater,
            "instruction": self.instruction,
            "max_total": self.max_total,
            "gi_item_keys": list(self.gi_item_keys),
            "items": [
                {
                    "key": item.key,
                    "label": item.label,
                    "instruction": item.instruction,
                    "allowed": list(item.allowed),
                    "anchors": {str(k): v for k, v in sorted(item.anchors.items())},
                    "gi": item.gi,
                    "response": item.response,
                    "raw_observation": (
                        item.raw_observation.model_dump() if item.raw_observation else None
                    ),
                }
                for item in self.items
            ],
            "bands_source": self.bands_source,
            "bands": [band.model_dump() for band in self.bands],
        }
