"""FHIR R4 ``Questionnaire`` and ``QuestionnaireResponse`` for an instrument.

Representation (ecosystem.md §2.1):

- one ``choice`` item per instrument item, ``linkId`` = item key, ``required``; every allowed score
  is an ``answerOption.valueCoding`` (system ``{base}/CodeSystem/{id}``, code ``{key}-{score}``,
  display = anchor) carrying its score as the R4 ``ordinalValue`` extension *and* its newer
  name ``itemWeight`` (both ``valueDecimal``), because COWS weights are not contiguous;
- a raw-observation item where the definition has one (COWS ``pulse_bpm``, ``decimal``);
- read-only ``integer`` items ``total`` (and ``subtotal_no_gi`` when the instrument has GI items)
  with an SDC ``calculatedExpression`` (FHIRPath; taperwise does not evaluate it, it scores
  with :func:`taperwise.instruments.score`);
- no LOINC/SNOMED ``code``: none has been verified for these scales (domain.md §1.5).

Both resources are validated with ``fhir.resources`` (its ``R4B`` models; the Questionnaire and
QuestionnaireResponse structures used here are the same in R4 4.0.1 and R4B 4.3.0).

Example
-------
>>> from taperwise.instruments.fhir import questionnaire
>>> q = questionnaire("cows")
>>> q["resourceType"], len(q["item"])
('Questionnaire', 14)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from taperwise.errors import ValidationError
from taperwise.instruments.model import Instrument
from taperwise.instruments.registry import get_instrument
from taperwise.instruments.scoring import score

DEFAULT_BASE_URL = "https://taperwise.org/fhir"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT_URL = "http://hl7.org/fhir/StructureDefinition/itemWeight"
CALCULATED_EXPRESSION_URL = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
_RESPONSE_STATUS = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
# Required code bindings that fhir.resources does not enforce (FHIR R4 value sets).
_PUBLICATION_STATUS = {"draft", "active", "retired", "unknown"}
_ITEM_TYPES = {
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
}


def questionnaire_url(inst: Instrument, base_url: str = DEFAULT_BASE_URL) -> str:
    """Canonical URL of the instrument's Questionnaire (without version)."""
    return f"{base_url.rstrip('/')}/Questionnaire/{inst.id}"


def _code_system(inst: Instrument, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/CodeSystem/{inst.id}"


def _coding(inst: Instrument, key: str, value: int, base_url: str) -> dict[str, Any]:
    item = inst.item(key)
    return {
        "system": _code_system(inst, base_url),
        "version": inst.version,
        "code": f"{key}-{value}",
        "display": item.anchor(value) or str(value),
    }


def _weight_extensions(value: int) -> list[dict[str, Any]]:
    return [
        {"url": ORDINAL_VALUE_URL, "valueDecimal": value},
        {"url": ITEM_WEIGHT_URL, "valueDecimal": value},
    ]


def _sum_expression(keys: list[str]) -> str:
    # Total only when every item is answered (a partial form has no total).
    link_ids = " | ".join(f"'{k}'" for k in keys)
    answered = f"%resource.item.where(linkId in ({link_ids})).answer"
    return f"iif({answered}.count() = {len(keys)}, {answered}.value.weight().sum(), {{}})"


def _calculated_item(link_id: str, text: str, keys: list[str]) -> dict[str, Any]:
    return {
        "linkId": link_id,
        "text": text,
        "type": "integer",
        "readOnly": True,
        "extension": [
            {
                "url": CALCULATED_EXPRESSION_URL,
                "valueExpression": {
                    "language": "text/fhirpath",
                    "expression": _sum_expression(keys),
                },
            }
        ],
    }


def _check_items(items: list[dict[str, Any]]) -> None:
    for item in items:
        if item.get("type", "group") not in _ITEM_TYPES:
            raise ValidationError(f"FHIR item '{item.get('linkId')}' has type '{item.get('type')}'")
        _check_items(item.get("item", []))


def _validate(resource_type: str, doc: dict[str, Any]) -> None:
    """Validate with fhir.resources (structure, cardinality, types) plus the required bindings."""
    if resource_type == "Questionnaire":
        from fhir.resources.R4B.questionnaire import Questionnaire as Model

        if doc.get("status") not in _PUBLICATION_STATUS:
            raise ValidationError(
                f"Questionnaire status '{doc.get('status')}' is not a FHIR status"
            )
        _check_items(doc.get("item", []))
    else:
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as Model

        if doc.get("status") not in _RESPONSE_STATUS:
            raise ValidationError(
                f"QuestionnaireResponse status '{doc.get('status')}' is not a FHIR status"
            )
    Model.model_validate(doc)


def validate_resource(doc: dict[str, Any]) -> None:
    """Validate a Questionnaire or QuestionnaireResponse dict (raises on the first problem)."""
    _validate(str(doc.get("resourceType")), doc)


def questionnaire(
    instrument: str | Instrument,
    *,
    base_url: str = DEFAULT_BASE_URL,
    validate: bool = True,
) -> dict[str, Any]:
    """The instrument as a FHIR R4 ``Questionnaire`` (a JSON-ready dict).

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or definition.
    base_url : str
        Base of the canonical URLs (Questionnaire and CodeSystem); set it to your server.
    validate : bool
        Validate with ``fhir.resources`` before returning (default True).

    Example
    -------
    >>> q = questionnaire("cows")
    >>> [o["valueCoding"]["code"] for o in q["item"][1]["answerOption"]]
    ['pulse-0', 'pulse-1', 'pulse-2', 'pulse-4']
    """
    inst = get_instrument(instrument)
    items: list[dict[str, Any]] = []
    for item in inst.items:
        if item.raw_observation is not None:
            raw = item.raw_observation
            items.append(
                {
                    "linkId": raw.key,
                    "text": f"{item.label}: {raw.description} ({raw.unit})",
                    "type": "decimal",
                    "required": False,
                }
            )
        entry: dict[str, Any] = {
            "linkId": item.key,
            "text": item.label,
            "type": "choice",
            "required": True,
            "answerOption": [
                {
                    "extension": _weight_extensions(value),
                    "valueCoding": _coding(inst, item.key, value, base_url),
                }
                for value in item.allowed
            ],
        }
        if item.instruction:
            entry["item"] = [
                {"linkId": f"{item.key}-help", "text": item.instruction, "type": "display"}
            ]
        items.append(entry)
    items.append(_calculated_item("total", f"{inst.short_name} total score", list(inst.item_keys)))
    if inst.gi_item_keys:
        non_gi = [item.key for item in inst.items if not item.gi]
        items.append(
            _calculated_item(
                "subtotal_no_gi", f"{inst.short_name} subtotal without GI items", non_gi
            )
        )
    doc: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": inst.id.replace("_", "-"),
        "url": questionnaire_url(inst, base_url),
        "version": inst.version,
        "name": "".join(part.capitalize() for part in inst.id.split("_")),
        "title": inst.title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "taperwise",
        "description": " ".join(
            part
            for part in (f"{inst.title}.", inst.instruction, f"Source: {inst.citation}")
            if part
        ),
        "copyright": inst.licence,
        "item": items,
    }
    if validate:
        _validate("Questionnaire", doc)
    return doc


def questionnaire_response(
    instrument: str | Instrument,
    items: Mapping[str, Any],
    *,
    pulse_bpm: float | None = None,
    subject: str | None = None,
    authored: dt.datetime | str | None = None,
    status: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    validate: bool = True,
) -> dict[str, Any]:
    """One administration as a FHIR R4 ``QuestionnaireResponse`` (a JSON-ready dict).

    The items are validated and scored with :func:`taperwise.instruments.score`; the response
    carries the answered items, the raw pulse (COWS) and, when complete, the total and GI-free
    subtotal. ``status`` defaults to ``completed`` for a complete form, else ``in-progress``.

    Parameters
    ----------
    subject : str, optional
        A FHIR reference such as ``"Patient/p-001"`` (pseudonymous ids only).
    authored : datetime or str, optional
        When the answers were recorded (ISO 8601 with a time zone).

    Example
    -------
    >>> r = questionnaire_response("pain_nrs", {"pain": 6})
    >>> r["status"], r["item"][0]["answer"][0]["valueCoding"]["code"]
    ('completed', 'pain-6')
    """
    inst = get_instrument(instrument)
    result = score(inst, items, pulse_bpm=pulse_bpm)
    if status is None:
        status = "completed" if result.complete else "in-progress"
    if status not in _RESPONSE_STATUS:
        raise ValidationError(
            f"QuestionnaireResponse status '{status}' is not allowed; allowed: "
            f"{', '.join(sorted(_RESPONSE_STATUS))}"
        )
    answer_items: list[dict[str, Any]] = []
    for item in inst.items:
        if item.raw_observation is not None and pulse_bpm is not None and item.key == "pulse":
            answer_items.append(
                {"linkId": item.raw_observation.key, "answer": [{"valueDecimal": float(pulse_bpm)}]}
            )
        if item.key in result.items:
            answer_items.append(
                {
                    "linkId": item.key,
                    "answer": [
                        {"valueCoding": _coding(inst, item.key, result.items[item.key], base_url)}
                    ],
                }
            )
    if result.total is not None:
        answer_items.append({"linkId": "total", "answer": [{"valueInteger": result.total}]})
    no_gi = result.subtotals.get("no_gi")
    if inst.gi_item_keys and no_gi is not None:
        answer_items.append({"linkId": "subtotal_no_gi", "answer": [{"valueInteger": no_gi}]})
    doc: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire_url(inst, base_url)}|{inst.version}",
        "status": status,
    }
    if subject:
        doc["subject"] = {"reference": subject}
    if authored is not None:
        doc["authored"] = (
            authored.isoformat() if isinstance(authored, dt.datetime) else str(authored)
        )
    if answer_items:
        doc["item"] = answer_items
    if validate:
        _validate("QuestionnaireResponse", doc)
    return doc
