"""What the protocol and the safety rules need from the instrument registry.

The registry (:func:`taperwise.instruments.get_instrument`) is the source of truth. While it is
not importable (or lacks an id) a fixed fallback is used: the instrument ids of issue 2 and the
items marked ``gi: true`` in ``instruments/definitions/*.yaml``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

FALLBACK_INSTRUMENT_IDS: frozenset[str] = frozenset(
    {"cows", "sows", "oows", "sows_gossop", "pain_nrs", "craving_nrs", "withdrawal_band"}
)

#: GI items per instrument (COWS item 7; SOWS nausea/vomiting/cramps; OOWS vomiting/cramps;
#: SOWS-Gossop feeling sick/stomach cramps: domain.md §7.2).
FALLBACK_GI_ITEMS: dict[str, frozenset[str]] = {
    "cows": frozenset({"gi_upset"}),
    "sows": frozenset({"nauseous", "vomiting_urge", "stomach_cramps"}),
    "oows": frozenset({"vomiting", "abdominal_cramps"}),
    "sows_gossop": frozenset({"feeling_sick", "stomach_cramps"}),
}


def _registry_instrument(instrument_id: str) -> Any | None:
    try:
        from taperwise.instruments import get_instrument  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return get_instrument(instrument_id)
    except Exception:  # noqa: BLE001 - an unknown id or a registry still being written
        return None


@lru_cache(maxsize=64)
def is_known_instrument(instrument_id: str) -> bool:
    """True when the registry (or the fallback id set) knows ``instrument_id``."""
    if instrument_id in FALLBACK_INSTRUMENT_IDS:
        return True
    return _registry_instrument(instrument_id) is not None


def known_instrument_ids() -> list[str]:
    """Ids for error messages: the registry's list when available, else the fallback set."""
    ids = set(FALLBACK_INSTRUMENT_IDS)
    try:
        from taperwise.instruments import list_instruments  # type: ignore[attr-defined]

        for inst in list_instruments():
            ids.add(str(getattr(inst, "id", inst)))
    except Exception:  # noqa: BLE001
        pass
    return sorted(ids)


@lru_cache(maxsize=64)
def gi_item_keys(instrument_id: str) -> frozenset[str]:
    """Keys of the GI items of an instrument (empty for instruments without GI items)."""
    keys = set(FALLBACK_GI_ITEMS.get(instrument_id, frozenset()))
    inst = _registry_instrument(instrument_id)
    for item in getattr(inst, "items", None) or ():
        if getattr(item, "gi", False):
            keys.add(str(item.key))
    return frozenset(keys)
