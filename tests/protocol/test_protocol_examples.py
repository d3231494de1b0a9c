"""The shipped example protocols load and expose the names other modules code against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taperwise.errors import NotFoundError
from taperwise.protocol import Protocol, load_protocol, parse_protocol

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KMC = EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml"
LFX = EXAMPLES / "lofexidine-phase3.yaml"


def test_kmc_example_loads_with_expected_arms():
    p = load_protocol(KMC)
    assert isinstance(p, Protocol)
    assert p.arm_ids == ["KMC", "BUP", "PBO"]
    assert [a.blinded_label for a in p.arms] == ["A", "B", "C"]
    assert p.control_arm.id == "PBO"
    kmc, bup, pbo = p.arms
    assert kmc.is_kratom_product and kmc.contains_magnesium and kmc.follow_up_days >= 1
    assert bup.is_buprenorphine and not bup.contains_magnesium
    assert not pbo.is_kratom_product and not pbo.is_alpha2_agonist
    assert p.randomisation.ratio == {"KMC": 1, "BUP": 1, "PBO": 1}
    assert p.sap.primary_instrument == "cows"
    assert p.sap.primary_days == [1, 2, 3, 4, 5, 6, 7]
    assert "no_gi_items" in p.sap.sensitivity
    assert [t.name for t in p.schedule.timepoints][:3] == ["pre_dose", "post_30min", "post_2h"]
    assert p.schedule.timepoints[1].offset_minutes == 30
    assert p.schedule.timepoints[2].offset_minutes == 120


def test_lofexidine_example_matches_label_maxima():
    p = load_protocol(LFX)
    assert p.randomisation.ratio == {"LFX288": 3, "LFX216": 3, "PBO": 2}
    assert all(s % 8 == 0 for s in p.randomisation.block_sizes)
    lfx = p.arm("LFX288")
    assert lfx.is_alpha2_agonist
    # 4 tablets x 0.18 mg = 0.72 mg single; 16 tablets = 2.88 mg daily (LUCEMYRA label)
    assert lfx.regimen.max_single_dose * 0.18 == pytest.approx(0.72)
    assert lfx.regimen.max_daily_dose * 0.18 == pytest.approx(2.88)
    assert p.safety.alpha2_hold_sbp_below == 90
    assert p.safety.alpha2_hold_dbp_below == 50
    assert p.safety.alpha2_hold_hr_below == 50
    assert p.sap.primary_instrument == "sows_gossop"


def test_safety_defaults_are_the_cited_values():
    p = load_protocol(LFX)
    s = p.safety
    assert (s.cows_severe_total, s.cows_rise_24h) == (36, 13)
    assert (s.buprenorphine_min_cows, s.buprenorphine_min_cows_after_methadone) == (8, 13)
    assert s.magnesium_renal_egfr_below == 30
    assert s.ae_urgent_grade == 3
    assert "methadone" in s.cyp3a4_interacting and "midazolam" in s.cyp3a4_interacting


def test_arm_lookup_names_the_ids():
    p = load_protocol(KMC)
    with pytest.raises(NotFoundError, match="arms: KMC, BUP, PBO"):
        p.arm("XYZ")


def test_normalised_round_trip():
    p = load_protocol(KMC)
    data = p.normalised()
    json.dumps(data)  # plain JSON types only
    again = Protocol.model_validate(data)
    assert again == p


def test_protocol_is_immutable():
    p = load_protocol(KMC)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        p.id = "other"  # type: ignore[misc]


def test_numeric_version_is_kept_as_text():
    text = KMC.read_text().replace('version: "0.1.0"', "version: 2.0")
    assert parse_protocol(text, source="v.yaml").version == "2.0"


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="not found"):
        load_protocol(tmp_path / "nope.yaml")


def test_ratio_defaults_to_equal_allocation():
    text = KMC.read_text().replace("  ratio: {KMC: 1, BUP: 1, PBO: 1}\n", "")
    p = parse_protocol(text, source="r.yaml")
    assert p.randomisation.ratio == {"KMC": 1, "BUP": 1, "PBO": 1}
