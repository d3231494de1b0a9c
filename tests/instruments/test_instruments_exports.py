"""FHIR R4 Questionnaire / QuestionnaireResponse and REDCap data-dictionary exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError as PydanticValidationError

from taperwise.errors import ValidationError
from taperwise.instruments import get_instrument, list_instruments
from taperwise.instruments.fhir import (
    ITEM_WEIGHT_URL,
    ORDINAL_VALUE_URL,
    questionnaire,
    questionnaire_response,
    validate_resource,
)
from taperwise.instruments.redcap import REDCAP_COLUMNS, data_dictionary_csv, data_dictionary_rows

INSTRUMENT_IDS = [inst.id for inst in list_instruments()]
# REDCap's data dictionary header, in order (REDCap "Data Dictionary" download, 18 columns).
REDCAP_HEADER = [
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
]


@pytest.mark.parametrize("iid", INSTRUMENT_IDS)
def test_questionnaire_validates_and_carries_weights(iid):
    inst = get_instrument(iid)
    doc = questionnaire(iid)
    parsed = Questionnaire.model_validate(doc)
    assert parsed.version == inst.version and parsed.status == "active"
    by_link = {item["linkId"]: item for item in doc["item"]}
    for item in inst.items:
        options = by_link[item.key]["answerOption"]
        weights = []
        for option in options:
            ext = {e["url"]: e["valueDecimal"] for e in option["extension"]}
            assert ext[ORDINAL_VALUE_URL] == ext[ITEM_WEIGHT_URL]
            weights.append(ext[ITEM_WEIGHT_URL])
        assert tuple(weights) == item.allowed
        assert by_link[item.key]["required"] is True
    assert by_link["total"]["readOnly"] is True
    assert ("subtotal_no_gi" in by_link) == bool(inst.gi_item_keys)
    assert "code" not in doc  # no unverified LOINC/SNOMED codes (domain.md §1.5)


def test_cows_questionnaire_non_contiguous_weights_and_pulse_bpm():
    doc = questionnaire("cows")
    by_link = {item["linkId"]: item for item in doc["item"]}
    assert [o["valueCoding"]["code"] for o in by_link["gooseflesh"]["answerOption"]] == [
        "gooseflesh-0",
        "gooseflesh-3",
        "gooseflesh-5",
    ]
    assert by_link["pulse_bpm"]["type"] == "decimal"
    assert [item["linkId"] for item in doc["item"]][:2] == ["pulse_bpm", "pulse"]


def test_invalid_resource_is_rejected_by_validator():
    doc = questionnaire("pain_nrs")
    del doc["item"][0]["linkId"]
    with pytest.raises(PydanticValidationError, match="linkId"):
        Questionnaire.model_validate(doc)
    # fhir.resources does not check required code bindings; validate_resource does.
    doc = questionnaire("pain_nrs")
    doc["status"] = "finished"
    Questionnaire.model_validate(doc)
    with pytest.raises(ValidationError, match="status 'finished'"):
        validate_resource(doc)
    doc = questionnaire("pain_nrs")
    doc["item"][0]["type"] = "radio"
    with pytest.raises(ValidationError, match="type 'radio'"):
        validate_resource(doc)


def test_questionnaire_response_complete_and_partial():
    full = {item.key: item.allowed[-1] for item in get_instrument("cows").items}
    full.pop("pulse")
    doc = questionnaire_response(
        "cows", full, pulse_bpm=130, subject="Patient/p-001", authored="2026-03-01T08:30:00+00:00"
    )
    parsed = QuestionnaireResponse.model_validate(doc)
    assert parsed.status == "completed"
    assert doc["questionnaire"] == "https://taperwise.org/fhir/Questionnaire/cows|1.0.0"
    answers = {item["linkId"]: item["answer"][0] for item in doc["item"]}
    assert answers["total"] == {"valueInteger": 48}
    assert answers["subtotal_no_gi"] == {"valueInteger": 43}
    assert answers["pulse"]["valueCoding"]["code"] == "pulse-4"
    assert answers["pulse_bpm"] == {"valueDecimal": 130.0}

    partial = questionnaire_response("sows", {"anxious": 2})
    QuestionnaireResponse.model_validate(partial)
    assert partial["status"] == "in-progress"
    assert [item["linkId"] for item in partial["item"]] == ["anxious"]


def test_questionnaire_response_rejects_bad_scores_and_status():
    with pytest.raises(ValidationError, match="COWS item 'pulse' got 3"):
        questionnaire_response("cows", {"pulse": 3})
    with pytest.raises(ValidationError, match="status 'done' is not allowed"):
        questionnaire_response("pain_nrs", {"pain": 3}, status="done")


@pytest.mark.parametrize("iid", INSTRUMENT_IDS)
def test_redcap_dictionary_header_and_fields(iid):
    inst = get_instrument(iid)
    text = data_dictionary_csv(iid)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == REDCAP_HEADER == list(REDCAP_COLUMNS)
    assert all(len(row) == len(REDCAP_HEADER) for row in rows)
    records = data_dictionary_rows(iid)
    names = [r["Variable / Field Name"] for r in records]
    assert len(set(names)) == len(names)
    for (
        name
    ) in names:  # REDCap: lower case, digits, underscores, start with a letter; <= 26 advised
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and len(name) <= 26, name
    assert {r["Form Name"] for r in records} == {iid}
    radios = [r for r in records if r["Field Type"] == "radio"]
    assert len(radios) == len(inst.items)
    for item, row in zip(inst.items, radios, strict=True):
        codes = [
            int(choice.split(",", 1)[0])
            for choice in row["Choices, Calculations, OR Slider Labels"].split(" | ")
        ]
        assert tuple(codes) == item.allowed
    calcs = {r["Variable / Field Name"]: r for r in records if r["Field Type"] == "calc"}
    assert len(calcs) == (2 if inst.gi_item_keys else 1)


def test_redcap_cows_total_is_plain_addition():
    rows = {r["Variable / Field Name"]: r for r in data_dictionary_rows("cows")}
    total = rows["cows_total"]["Choices, Calculations, OR Slider Labels"]
    assert total.startswith("[cows_pulse] + [cows_sweating]") and total.count("+") == 10
    assert (
        "[cows_gi_upset]"
        not in rows["cows_subtotal_no_gi"]["Choices, Calculations, OR Slider Labels"]
    )
    assert rows["cows_pulse_bpm"]["Text Validation Type OR Show Slider Number"] == "number"
