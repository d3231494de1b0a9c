"""Withdrawal instruments as versioned YAML: loading, scoring, severity bands and exports.

Definitions live in ``definitions/*.yaml`` (COWS, SOWS, OOWS, SOWS-Gossop, pain and craving NRS,
and the CTN-0094 ``withdrawal_band``). Scoring validates every item against its exact allowed set,
gives a total only for a complete form, a band from the total and a subtotal without GI items.
Exports: FHIR R4 Questionnaire / QuestionnaireResponse (:mod:`.fhir`) and a REDCap data
dictionary (:mod:`.redcap`).

Example
-------
>>> from taperwise.instruments import get_instrument, score, cows_pulse_score
>>> get_instrument("cows").item("restlessness").allowed
(0, 1, 3, 5)
>>> cows_pulse_score(104)
2
>>> score("withdrawal_band", {"band": 2}).band
'moderate'
"""

from taperwise.instruments.loader import load_instrument_file, load_instrument_text
from taperwise.instruments.model import Band, Instrument, Item, RawObservation
from taperwise.instruments.registry import (
    get_instrument,
    instrument_ids,
    list_instruments,
    reload_instruments,
)
from taperwise.instruments.scoring import ScoreResult, cows_pulse_score, score, validate_items

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "RawObservation",
    "ScoreResult",
    "cows_pulse_score",
    "get_instrument",
    "instrument_ids",
    "list_instruments",
    "load_instrument_file",
    "load_instrument_text",
    "reload_instruments",
    "score",
    "validate_items",
]
