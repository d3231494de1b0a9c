"""The instrument registry: every ``definitions/*.yaml`` shipped with taperwise, plus any found in
the folders named by ``TAPERWISE_INSTRUMENTS_PATH`` (``os.pathsep``-separated). Adding a scale is
adding a YAML file; no code changes.

Example
-------
>>> from taperwise.instruments import get_instrument, list_instruments
>>> get_instrument("cows").title
'Clinical Opiate Withdrawal Scale'
>>> "sows_gossop" in [inst.id for inst in list_instruments()]
True
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from taperwise.errors import DefinitionError, NotFoundError
from taperwise.instruments.loader import load_instrument_file
from taperwise.instruments.model import Instrument

log = logging.getLogger(__name__)

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
ENV_PATH = "TAPERWISE_INSTRUMENTS_PATH"

_lock = threading.Lock()
_cache: dict[str, Instrument] | None = None


def _folders() -> list[Path]:
    folders = [DEFINITIONS_DIR]
    for part in os.environ.get(ENV_PATH, "").split(os.pathsep):
        if part.strip():
            folders.append(Path(part.strip()))
    return folders


def _load_all() -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    origin: dict[str, Path] = {}
    for folder in _folders():
        if not folder.is_dir():
            raise DefinitionError(f"{folder}:1: instrument folder does not exist ({ENV_PATH})")
        for path in sorted(folder.glob("*.yaml")):
            inst = load_instrument_file(path)
            if inst.id in found:
                raise DefinitionError(
                    f"{path}:1: instrument id '{inst.id}' is already defined in {origin[inst.id]}"
                )
            found[inst.id] = inst
            origin[inst.id] = path
            log.debug("loaded instrument %s %s from %s", inst.id, inst.version, path)
    return found


def _registry() -> dict[str, Instrument]:
    global _cache
    with _lock:
        if _cache is None:
            _cache = _load_all()
        return _cache


def reload_instruments() -> None:
    """Forget loaded definitions; the next lookup reads the YAML files again."""
    global _cache
    with _lock:
        _cache = None


def instrument_ids() -> tuple[str, ...]:
    """The ids of all known instruments, sorted."""
    return tuple(sorted(_registry()))


def list_instruments() -> list[Instrument]:
    """All known instruments, sorted by id.

    Example
    -------
    >>> [inst.id for inst in list_instruments()][:2]
    ['cows', 'craving_nrs']
    """
    registry = _registry()
    return [registry[key] for key in sorted(registry)]


def get_instrument(instrument: str | Instrument) -> Instrument:
    """The instrument with this id (an :class:`Instrument` is returned as is).

    Raises
    ------
    NotFoundError
        When the id is unknown; the message lists the known ids.

    Example
    -------
    >>> get_instrument("cows").item("gooseflesh").allowed
    (0, 3, 5)
    """
    if isinstance(instrument, Instrument):
        return instrument
    registry = _registry()
    key = str(instrument).strip().lower()
    if key not in registry:
        raise NotFoundError(
            f"unknown instrument '{instrument}'; known: {', '.join(sorted(registry))}"
        )
    return registry[key]
