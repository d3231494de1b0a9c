"""Scoring: allowed sets, totals only for complete forms, bands, GI-free subtotal, COWS pulse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taperwise.errors import ValidationError
from taperwise.instruments import (
    cows_pulse_score,
    get_instrument,
    list_instruments,
    score,
    validate_items,
)

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "instruments" / "scales.json").read_text()
)
INSTRUMENT_IDS = [inst.id for inst in list_instruments()]
JSON_KEYS = ["instrument", "version", "total", "band", "complete", "partial_sum", "subtotals"]


def _expected_band(iid: str, total: int) -> str | None:
    for low, high, label in REFERENCE[iid]["bands"]:
        if low <= total <= high:
            return label
    raise AssertionError(f"reference bands do not cover {iid} total {total}")


@st.composite
def complete_forms(draw):
    inst = get_instrument(draw(st.sampled_from(INSTRUMENT_IDS)))
    return inst, {item.key: draw(st.sampled_from(item.allowed)) for item in inst.items}


@st.composite
def out_of_set_scores(draw):
    inst = get_instrument(draw(st.sampled_from(INSTRUMENT_IDS)))
    item = draw(st.sampled_from(inst.items))
    bad = draw(
        st.integers(min_value=-1000, max_value=1000).filter(lambda v: v not in item.allowed)
        | st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer() if v == v else True)
    )
    others = {other.key: other.allowed[0] for other in inst.items if other.key != item.key}
    return inst, item, bad, others


@settings(max_examples=400, deadline=None)
@given(out_of_set_scores())
def test_every_out_of_set_item_score_is_rejected(case):
    inst, item, bad, others = case
    with pytest.raises(ValidationError) as info:
        score(inst, {**others, item.key: bad})
    message = str(info.value)
    allowed = ", ".join(str(v) for v in item.allowed)
    assert message.startswith(f"{inst.short_name} item '{item.key}' got ")
    assert message.endswith(f"; allowed {allowed}")
    assert "\n" not in message


@pytest.mark.parametrize("iid", INSTRUMENT_IDS)
def test_each_gap_in_the_allowed_set_is_rejected(iid):
    # Exhaustive over 0..max+1 for every item, so the COWS gaps (pulse 3, restlessness 2 and 4,
    # gooseflesh 1, 2 and 4, ...) are each checked, not only sampled.
    inst = get_instrument(iid)
    for item in inst.items:
        for value in range(-1, item.max_score + 2):
            if value in item.allowed:
                assert validate_items(inst, {item.key: value}) == {item.key: value}
            else:
                with pytest.raises(ValidationError):
                    validate_items(inst, {item.key: value})


@settings(max_examples=400, deadline=None)
@given(complete_forms())
def test_totals_and_bands_for_sampled_complete_forms(case):
    inst, items = case
    res = score(inst, items)
    expected_total = sum(items.values())
    assert res.complete is True
    assert res.total == expected_total == res.partial_sum
    assert 0 <= res.total <= inst.max_total
    assert res.band == _expected_band(inst.id, expected_total)
    no_gi = sum(v for k, v in items.items() if k not in inst.gi_item_keys)
    assert res.subtotals == {"no_gi": no_gi}
    assert list(res.to_dict()) == JSON_KEYS


@settings(max_examples=300, deadline=None)
@given(complete_forms(), st.data())
def test_partial_forms_are_incomplete_with_null_total(case, data):
    inst, items = case
    drop = data.draw(st.sets(st.sampled_from(inst.item_keys), min_size=1))
    as_none = data.draw(st.booleans())
    partial = (
        {k: (None if k in drop else v) for k, v in items.items()}
        if as_none
        else {k: v for k, v in items.items() if k not in drop}
    )
    res = score(inst, partial)
    assert res.complete is False
    assert res.total is None and res.band is None
    assert res.partial_sum == sum(v for k, v in items.items() if k not in drop)
    assert set(res.missing) == drop
    doc = res.to_dict()
    assert doc["total"] is None and doc["complete"] is False
    non_gi_dropped = any(k not in inst.gi_item_keys for k in drop)
    assert (res.subtotals["no_gi"] is None) == non_gi_dropped


def test_cows_worked_example():
    items = {
        "pulse": 2,
        "sweating": 1,
        "restlessness": 3,
        "pupil_size": 1,
        "bone_joint_aches": 2,
        "runny_nose_tearing": 1,
        "gi_upset": 3,
        "tremor": 1,
        "yawning": 1,
        "anxiety_irritability": 2,
        "gooseflesh": 3,
    }
    res = score("cows", items)
    assert res.to_dict() == {
        "instrument": "cows",
        "version": "1.0.0",
        "total": 20,
        "band": "moderate",
        "complete": True,
        "partial_sum": 20,
        "subtotals": {"no_gi": 17},
    }


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, None),
        (4, None),
        (5, "mild"),
        (12, "mild"),
        (13, "moderate"),
        (24, "moderate"),
        (25, "moderately severe"),
        (36, "moderately severe"),
        (37, "severe"),
        (48, "severe"),
    ],
)
def test_cows_band_edges(total, band):
    assert get_instrument("cows").band_for(total) == band


def test_cows_maximum_and_minimum():
    inst = get_instrument("cows")
    top = score(inst, {item.key: item.max_score for item in inst.items})
    assert (top.total, top.band, top.subtotals["no_gi"]) == (48, "severe", 43)
    zero = score(inst, dict.fromkeys(inst.item_keys, 0))
    assert (zero.total, zero.band) == (0, None)


def test_validation_messages_are_exact():
    with pytest.raises(ValidationError) as info:
        score("cows", {"pulse": 3})
    assert str(info.value) == "COWS item 'pulse' got 3; allowed 0, 1, 2, 4"
    with pytest.raises(ValidationError) as info:
        score("cows", {"pulse_rate": 1})
    assert str(info.value).startswith("COWS has no item 'pulse_rate'; items: pulse, sweating, ")
    with pytest.raises(
        ValidationError, match=r"SOWS-Gossop item 'insomnia' got 4; allowed 0, 1, 2, 3"
    ):
        score("sows_gossop", {"insomnia": 4})
    with pytest.raises(ValidationError, match=r"COWS item 'pulse' got True"):
        score("cows", {"pulse": True})
    with pytest.raises(ValidationError, match=r"got 'two'"):
        score("cows", {"pulse": "two"})


def test_accepts_integral_floats_digit_strings_and_numpy():
    np = pytest.importorskip("numpy")
    assert validate_items("cows", {"pulse": 2.0, "sweating": "3", "gooseflesh": np.int64(5)}) == {
        "pulse": 2,
        "sweating": 3,
        "gooseflesh": 5,
    }


@pytest.mark.parametrize(
    ("bpm", "expected"),
    [tuple(p) for p in REFERENCE["cows"]["pulse_bpm"]] + [(80.5, 1), (100.2, 2), (120.01, 4)],
)
def test_cows_pulse_from_bpm(bpm, expected):
    assert cows_pulse_score(bpm) == expected


@pytest.mark.parametrize("bpm", [0, -10, 10, 301, float("nan"), float("inf"), "fast"])
def test_cows_pulse_rejects_implausible(bpm):
    with pytest.raises(ValidationError, match="COWS pulse_bpm got"):
        cows_pulse_score(bpm)


def test_score_with_pulse_bpm():
    res = score("cows", {"sweating": 1}, pulse_bpm=104)
    assert res.items == {"pulse": 2, "sweating": 1} and res.partial_sum == 3
    assert score("cows", {"pulse": 2}, pulse_bpm=110).items["pulse"] == 2
    with pytest.raises(ValidationError, match="COWS item 'pulse' got 1 but pulse_bpm 104 scores 2"):
        score("cows", {"pulse": 1}, pulse_bpm=104)
    with pytest.raises(ValidationError, match="pulse_bpm applies to COWS only"):
        score("sows", {}, pulse_bpm=90)


def test_instrument_without_gi_items_subtotal_equals_total():
    res = score("pain_nrs", {"pain": 7})
    assert res.total == 7 and res.subtotals == {"no_gi": 7} and res.band is None


def test_withdrawal_band_scores():
    assert [score("withdrawal_band", {"band": b}).band for b in range(4)] == [
        None,
        "mild",
        "moderate",
        "severe",
    ]


def test_result_is_frozen():
    res = score("pain_nrs", {"pain": 1})
    with pytest.raises(AttributeError):
        res.total = 3  # type: ignore[misc]
