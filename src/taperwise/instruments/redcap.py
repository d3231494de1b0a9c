"""REDCap data dictionary (CSV) for an instrument.

One REDCap instrument (``Form Name`` = instrument id): a descriptive field with the instruction
and source, one ``radio`` field per item whose choice codes ARE the scores
(``0, no tremor | 1, ... | 4, ...``; so an exported value is the score, COWS gaps included),
a ``text``/``number`` field for a raw observation (COWS pulse in bpm), and ``calc`` fields for the
total and, where there are GI items, the subtotal without them. The calculations use plain
addition, which REDCap leaves blank while any item is blank: a partial form has no total.

Variable names are ``{prefix}_{item key}`` with prefix = ``redcap_prefix`` or the instrument id,
lower case, at most 26 characters (REDCap's recommendation).

Example
-------
>>> from taperwise.instruments.redcap import data_dictionary_rows
>>> rows = data_dictionary_rows("cows")
>>> rows[2]["Variable / Field Name"], rows[2]["Choices, Calculations, OR Slider Labels"]
('cows_pulse', '0, pulse rate 80 or below | 1, pulse rate 81-100 | 2, pulse rate 101-120 | 4, pulse rate greater than 120')
"""

from __future__ import annotations

import csv
import io
from typing import Any

from taperwise.instruments.model import Instrument
from taperwise.instruments.registry import get_instrument
from taperwise.instruments.scoring import PULSE_BPM_RANGE

#: The 18 columns of a REDCap data dictionary, in REDCap's order.
REDCAP_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)


def variable_name(inst: Instrument, key: str) -> str:
    """REDCap variable name of an item (or ``total`` / ``subtotal_no_gi``)."""
    return f"{inst.redcap_prefix or inst.id}_{key}"


def _row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(REDCAP_COLUMNS, "")
    names = {
        "name": "Variable / Field Name",
        "form": "Form Name",
        "section": "Section Header",
        "type": "Field Type",
        "label": "Field Label",
        "choices": "Choices, Calculations, OR Slider Labels",
        "note": "Field Note",
        "validation": "Text Validation Type OR Show Slider Number",
        "vmin": "Text Validation Min",
        "vmax": "Text Validation Max",
        "required": "Required Field?",
        "annotation": "Field Annotation",
    }
    for short, value in values.items():
        row[names[short]] = value
    return row


def _sum(inst: Instrument, keys: list[str]) -> str:
    return " + ".join(f"[{variable_name(inst, key)}]" for key in keys)


def data_dictionary_rows(instrument: str | Instrument) -> list[dict[str, str]]:
    """The data dictionary as a list of rows (dicts keyed by :data:`REDCAP_COLUMNS`)."""
    inst = get_instrument(instrument)
    form = inst.id
    rows: list[dict[str, Any]] = [
        _row(
            name=variable_name(inst, "about"),
            form=form,
            section=f"{inst.title} (taperwise definition {inst.id} {inst.version})",
            type="descriptive",
            label=" ".join(p for p in (inst.instruction, f"Source: {inst.citation}") if p),
            note=inst.licence,
        )
    ]
    for item in inst.items:
        if item.raw_observation is not None:
            raw = item.raw_observation
            low, high = PULSE_BPM_RANGE if raw.key == "pulse_bpm" else ("", "")
            rows.append(
                _row(
                    name=variable_name(inst, raw.key),
                    form=form,
                    type="text",
                    label=f"{item.label}: {raw.description}",
                    note=raw.unit,
                    validation="number",
                    vmin=f"{low:g}" if low != "" else "",
                    vmax=f"{high:g}" if high != "" else "",
                )
            )
        choices = " | ".join(f"{value}, {item.anchor(value) or value}" for value in item.allowed)
        rows.append(
            _row(
                name=variable_name(inst, item.key),
                form=form,
                type="radio",
                label=item.label,
                choices=choices,
                note=(item.instruction or "") + (" [GI item]" if item.gi else ""),
                required="y",
            )
        )
    rows.append(
        _row(
            name=variable_name(inst, "total"),
            form=form,
            type="calc",
            label=f"{inst.short_name} total (blank until every item is scored)",
            choices=_sum(inst, list(inst.item_keys)),
            note=f"0-{inst.max_total}",
            annotation="@READONLY",
        )
    )
    if inst.gi_item_keys:
        non_gi = [item.key for item in inst.items if not item.gi]
        rows.append(
            _row(
                name=variable_name(inst, "subtotal_no_gi"),
                form=form,
                type="calc",
                label=f"{inst.short_name} subtotal without GI items ({', '.join(inst.gi_item_keys)})",
                choices=_sum(inst, non_gi),
                note=f"0-{inst.max_total_no_gi}",
                annotation="@READONLY",
            )
        )
    return rows


def data_dictionary_csv(instrument: str | Instrument) -> str:
    """The REDCap data dictionary as CSV text (header row + one row per field).

    Example
    -------
    >>> data_dictionary_csv("pain_nrs").splitlines()[0].split(",")[:2]
    ['Variable / Field Name', 'Form Name']
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(REDCAP_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(data_dictionary_rows(instrument))
    return buffer.getvalue()
