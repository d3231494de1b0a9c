"""Withdrawal stage classification by hours since last use and opioid class (domain.md §3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taperwise.errors import DefinitionError, ValidationError
from taperwise.protocol import DEFAULT_STAGES, StageModel, normalise_opioid_class, parse_protocol
from taperwise.protocol.stages import OPIOID_CLASSES

STAGES = StageModel()


@pytest.mark.parametrize(
    ("hours", "cls", "stage"),
    [
        (0, "short_acting", "pre_onset"),
        (5.9, "short_acting", "pre_onset"),
        (6, "short_acting", "early"),  # onset 6-12 h
        (24, "short_acting", "peak"),  # peak 24-48 h
        (48, "heroin", "peak"),
        (72, "fentanyl", "late_acute"),
        (168, "oxycodone_ir", "post_acute"),
        (12, "methadone", "pre_onset"),
        (24, "long_acting", "early"),  # onset 24-72 h
        (80, "methadone", "peak"),  # peak 72-96 h
        (200, "methadone", "late_acute"),
        (400, "methadone", "post_acute"),  # > 14 days
        (30, "buprenorphine", "early"),
        (72, "buprenorphine", "peak"),
        (400, "buprenorphine", "post_acute"),
    ],
)
def test_default_stage_boundaries(hours, cls, stage):
    assert STAGES.stage_for(hours, cls) == stage


def test_aliases():
    assert normalise_opioid_class("Heroin") == "short_acting"
    assert normalise_opioid_class("oxycodone-ER") == "long_acting"
    assert normalise_opioid_class("buprenorphine") == "buprenorphine"
    with pytest.raises(
        ValidationError, match="opioid class 'kratom' is not known; allowed: short_acting"
    ):
        normalise_opioid_class("kratom")


@pytest.mark.parametrize("hours", [-1, math.nan, math.inf])
def test_bad_hours_rejected(hours):
    with pytest.raises(ValidationError, match="hours since last opioid use"):
        STAGES.stage_for(hours, "short_acting")


@given(st.floats(min_value=0, max_value=5000), st.sampled_from(OPIOID_CLASSES))
def test_stage_is_monotone_in_time(hours, cls):
    names = STAGES.stage_names(cls)
    here = names.index(STAGES.stage_for(hours, cls))
    later = names.index(STAGES.stage_for(hours + 1.0, cls))
    assert later >= here


def test_protocol_override_keeps_other_defaults():
    text = (
        "id: s\nversion: '1'\ntitle: t\n"
        "arms:\n  - {id: A, name: a, product: p, drug_class: other, blinded_label: A,\n"
        "     regimen: {unit: mg, doses_per_day: 1, max_single_dose: 1, max_daily_dose: 1}}\n"
        "schedule: {instruments: [cows], days: 3, timepoints: [{name: pre, offset_minutes: 0}]}\n"
        "stages:\n  classes:\n    short_acting:\n"
        "      - {name: before, start_hours: 0}\n      - {name: during, start_hours: 12}\n"
        "randomisation: {block_sizes: [2], n_per_stratum: 10}\n"
        "sap: {control_arm: A, primary_days: [1, 2, 3]}\n"
    )
    p = parse_protocol(text, source="s.yaml")
    assert p.stages.stage_for(13, "heroin") == "during"
    assert p.stages.classes["long_acting"] == DEFAULT_STAGES["long_acting"]


def test_non_increasing_boundaries_rejected():
    text = (
        "id: s\nversion: '1'\ntitle: t\n"
        "arms:\n  - {id: A, name: a, product: p, drug_class: other, blinded_label: A,\n"
        "     regimen: {unit: mg, doses_per_day: 1, max_single_dose: 1, max_daily_dose: 1}}\n"
        "schedule: {instruments: [cows], days: 3, timepoints: [{name: pre, offset_minutes: 0}]}\n"
        "stages:\n  classes:\n    short_acting:\n"
        "      - {name: before, start_hours: 0}\n      - {name: during, start_hours: 0}\n"
        "randomisation: {block_sizes: [2], n_per_stratum: 10}\n"
        "sap: {control_arm: A, primary_days: [1]}\n"
    )
    with pytest.raises(
        DefinitionError,
        match=r"^s.yaml:12: stages.classes.short_acting\[1\].start_hours: stage start hours must increase",
    ):
        parse_protocol(text, source="s.yaml")
