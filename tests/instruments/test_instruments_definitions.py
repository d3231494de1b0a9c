"""Instrument definitions: contents against domain.md, and file:line errors for bad YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taperwise.errors import DefinitionError, NotFoundError
from taperwise.instruments import (
    get_instrument,
    instrument_ids,
    list_instruments,
    load_instrument_file,
    load_instrument_text,
    reload_instruments,
)
from taperwise.instruments.registry import DEFINITIONS_DIR

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "instruments" / "scales.json").read_text()
)
SHIPPED = ["cows", "craving_nrs", "oows", "pain_nrs", "sows", "sows_gossop", "withdrawal_band"]


def test_shipped_instruments():
    assert list(instrument_ids()) == SHIPPED
    assert [inst.id for inst in list_instruments()] == SHIPPED


def test_cows_matches_domain_reference():
    ref = REFERENCE["cows"]
    inst = get_instrument("cows")
    assert list(inst.item_keys) == ref["item_keys"]
    for item in inst.items:
        assert list(item.allowed) == ref["allowed"][item.key], item.key
        assert set(item.anchors) == set(item.allowed), item.key
    assert list(inst.gi_item_keys) == ref["gi_items"]
    assert inst.max_total == ref["max_total"]
    assert inst.item("pulse").raw_observation.key == "pulse_bpm"
    assert inst.item("gooseflesh").anchor(5) == "prominent piloerection"


@pytest.mark.parametrize("iid", [i for i in SHIPPED if i != "cows"])
def test_other_scales_match_domain_reference(iid):
    ref = REFERENCE[iid]
    inst = get_instrument(iid)
    assert len(inst.items) == ref["n_items"]
    assert all(list(item.allowed) == ref["allowed"] for item in inst.items)
    assert inst.max_total == ref["max_total"]
    assert len(inst.gi_item_keys) == ref["n_gi"]


@pytest.mark.parametrize("iid", SHIPPED)
def test_bands_match_domain_reference(iid):
    inst = get_instrument(iid)
    for low, high, label in REFERENCE[iid]["bands"]:
        for total in range(low, high + 1):
            assert inst.band_for(total) == label, (iid, total)


def test_every_definition_has_provenance_fields():
    for inst in list_instruments():
        assert inst.version and inst.citation and inst.licence and inst.title
        assert inst.anchor_text in {"verbatim", "shortened", "paraphrased", "generic"}
    # Scales whose text is under copyright ship paraphrased anchors (domain.md §2.6).
    for iid in ("sows", "oows", "sows_gossop"):
        assert get_instrument(iid).anchor_text == "paraphrased"


def test_sows_gi_items_are_nausea_vomiting_cramps():
    assert get_instrument("sows").gi_item_keys == ("nauseous", "vomiting_urge", "stomach_cramps")
    assert get_instrument("oows").gi_item_keys == ("vomiting", "abdominal_cramps")
    assert get_instrument("sows_gossop").gi_item_keys == ("feeling_sick", "stomach_cramps")


def test_unknown_instrument_names_known_ids():
    with pytest.raises(NotFoundError) as info:
        get_instrument("cowz")
    assert "cowz" in str(info.value)
    assert "cows, craving_nrs, oows" in str(info.value)
    assert get_instrument("COWS").id == "cows"


def test_shipped_files_are_named_by_id():
    for path in DEFINITIONS_DIR.glob("*.yaml"):
        assert load_instrument_file(path).id == path.stem


GOOD = """\
id: demo
version: "1"
short_name: DEMO
title: Demo scale
citation: none
licence: none
anchor_text: generic
rater: patient
items:
  - key: a
    label: A
    allowed: [0, 1, 3]
    anchors: {0: none, 1: some, 3: lots}
  - key: b
    label: B
    gi: true
    allowed: [0, 2]
    anchors: {0: none, 2: lots}
bands:
  - {label: mild, min: 1, max: 2}
  - {label: severe, min: 3}
"""


def test_good_custom_definition_loads():
    inst = load_instrument_text(GOOD, "demo.yaml")
    assert inst.max_total == 5 and inst.gi_item_keys == ("b",) and inst.band_for(5) == "severe"


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        (
            "allowed: [0, 1, 3]",
            "allowed: [0, 3, 1]",
            12,
            "items.0.allowed: allowed scores must be strictly increasing",
        ),
        (
            "anchors: {0: none, 2: lots}",
            "anchors: {0: none}",
            18,
            "needs an anchor for every allowed score; missing [2]",
        ),
        (
            "    label: B\n",
            "    label: B\n    colour: red\n",
            16,
            "items.1.colour: Extra inputs are not permitted",
        ),
        ("  - {label: severe, min: 3}", "  - {label: severe, min: 2}", 21, "overlaps band 'mild'"),
        ('version: "1"', "version: 1", 2, "version: Input should be a valid string"),
        ("  - key: b\n", "  - key: a\n", 14, "items.1.key: duplicate item keys: a"),
        ("title: Demo scale\n", "title: Demo scale\ntitle: again\n", 5, "duplicate key 'title'"),
        ("items:\n", "items: [\n", 10, "invalid YAML"),
    ],
)
def test_bad_definition_reports_file_and_line(old, new, line, fragment):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(DefinitionError) as info:
        load_instrument_text(text, "bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"bad.yaml:{line}: "), message
    assert fragment in message, message


def test_file_name_must_match_id(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    with pytest.raises(
        DefinitionError, match=r"other\.yaml:1: id 'demo' must match the file name 'other'"
    ):
        load_instrument_file(path)


def test_extra_definitions_folder_from_environment(tmp_path, monkeypatch):
    (tmp_path / "demo.yaml").write_text(GOOD)
    monkeypatch.setenv("TAPERWISE_INSTRUMENTS_PATH", str(tmp_path))
    reload_instruments()
    try:
        assert get_instrument("demo").title == "Demo scale"
        assert "demo" in instrument_ids()
    finally:
        monkeypatch.delenv("TAPERWISE_INSTRUMENTS_PATH")
        reload_instruments()
    assert "demo" not in instrument_ids()
