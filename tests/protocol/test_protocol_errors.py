"""Bad protocol YAML: one line ``file:line: path: message`` pointing at the right line."""

from __future__ import annotations

from pathlib import Path

import pytest

from taperwise.errors import DefinitionError
from taperwise.protocol import load_protocol, parse_protocol

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kmc-vs-buprenorphine-vs-placebo.yaml"
TEXT = EXAMPLE.read_text()


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[occurrence - 1]


def error_for(text: str) -> str:
    with pytest.raises(DefinitionError) as info:
        parse_protocol(text, source="examples/x.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def replace_once(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def test_daily_below_single_names_field_and_line():
    bad = replace_once("      max_daily_dose: 16        #", "      max_daily_dose: 0.5       #")
    line = line_of(bad, "max_daily_dose: 0.5")
    assert error_for(bad) == (
        f"examples/x.yaml:{line}: arms[1].regimen.max_daily_dose: must be >= max_single_dose (got 0.5)"
    )


def test_ratio_key_must_be_an_arm():
    bad = replace_once("ratio: {KMC: 1, BUP: 1, PBO: 1}", "ratio: {KMC: 1, BUP: 1, XYZ: 1}")
    msg = error_for(bad)
    assert msg.startswith(f"examples/x.yaml:{line_of(bad, 'XYZ: 1')}: randomisation.ratio.XYZ:")
    assert "allowed: KMC, BUP, PBO" in msg


def test_control_arm_must_exist():
    bad = replace_once("control_arm: PBO", "control_arm: NOPE")
    msg = error_for(bad)
    assert msg.startswith(f"examples/x.yaml:{line_of(bad, 'control_arm: NOPE')}: sap.control_arm:")


def test_primary_instrument_must_be_known():
    bad = replace_once("primary_instrument: cows", "primary_instrument: cowz")
    msg = error_for(bad)
    assert msg.startswith(f"examples/x.yaml:{line_of(bad, 'cowz')}: sap.primary_instrument:")
    assert "unknown instrument 'cowz'" in msg and "cows" in msg


def test_schedule_instrument_must_be_known():
    bad = replace_once("instruments: [cows, sows_gossop, craving_nrs]", "instruments: [cows, nope]")
    msg = error_for(bad)
    assert f":{line_of(bad, 'instruments: [cows, nope]')}: schedule.instruments:" in msg


def test_unknown_field_lists_allowed_fields():
    bad = replace_once("  cows_rise_24h: 13", "  cows_rise_24hr: 13")
    msg = error_for(bad)
    assert msg.startswith(
        f"examples/x.yaml:{line_of(bad, 'cows_rise_24hr')}: safety.cows_rise_24hr: unknown field"
    )
    assert "cows_rise_24h," in msg


def test_bad_literal_names_allowed_values():
    bad = replace_once("drug_class: placebo", "drug_class: sugar")
    msg = error_for(bad)
    assert msg.startswith(
        f"examples/x.yaml:{line_of(bad, 'drug_class: sugar')}: arms[2].drug_class:"
    )
    assert "'placebo'" in msg and "(got 'sugar')" in msg


def test_negative_number_bound_is_reported():
    bad = replace_once("min_interval_hours: 1 ", "min_interval_hours: -1 ")
    msg = error_for(bad)
    assert msg == (
        f"examples/x.yaml:{line_of(bad, 'min_interval_hours: -1')}: "
        "arms[1].regimen.min_interval_hours: must be >= 0 (got -1)"
    )


def test_block_size_multiple_of_ratio_sum():
    bad = replace_once("block_sizes: [3, 6]", "block_sizes: [3, 4]")
    msg = error_for(bad)
    assert (
        "randomisation.block_sizes[1]: block size must be a multiple of the ratio sum 3 (got 4)"
        in msg
    )


def test_schedule_dose_above_single_maximum():
    bad = replace_once("{day: 2, dose: 4, doses_per_day: 3}", "{day: 2, dose: 9, doses_per_day: 3}")
    msg = error_for(bad)
    assert msg.startswith(
        f"examples/x.yaml:{line_of(bad, 'dose: 9')}: arms[1].regimen.schedule[1].dose:"
    )


def test_schedule_day_total_above_daily_maximum():
    bad = replace_once("{day: 2, dose: 4, doses_per_day: 3}", "{day: 2, dose: 8, doses_per_day: 3}")
    assert "exceeds max_daily_dose 16" in error_for(bad)


def test_kratom_arm_needs_follow_up():
    bad = replace_once("follow_up_days: 28", "follow_up_days: 0")
    msg = error_for(bad)
    assert msg.startswith(
        f"examples/x.yaml:{line_of(bad, 'follow_up_days: 0')}: arms[0].follow_up_days:"
    )


def test_magnesium_arm_needs_no_gi_sensitivity():
    bad = replace_once("sensitivity: [no_gi_items, complete_case]", "sensitivity: [complete_case]")
    assert "sap.sensitivity: an arm contains magnesium" in error_for(bad)


def test_duplicate_key_is_an_error_with_its_line():
    bad = replace_once("  cows_rise_24h: 13", "  cows_rise_24h: 13\n  cows_rise_24h: 12")
    assert error_for(bad) == (
        f"examples/x.yaml:{line_of(bad, 'cows_rise_24h: 12')}: safety: duplicate key 'cows_rise_24h'"
    )


def test_duplicate_arm_id():
    bad = replace_once("  - id: PBO", "  - id: BUP")
    msg = error_for(bad)
    assert f":{line_of(bad, '- id: BUP', 2)}: arms[2].id: duplicate arm id 'BUP'" in msg


def test_yaml_syntax_error_carries_line():
    bad = replace_once("block_sizes: [3, 6]", "block_sizes: [3, 6")
    msg = error_for(bad)
    assert msg.startswith("examples/x.yaml:")
    assert "YAML syntax error" in msg
    reported = int(msg.split(":")[1])
    assert abs(reported - line_of(bad, "block_sizes: [3, 6")) <= 1


def test_missing_section_points_at_parent():
    bad = replace_once("sap:\n", "sapp:\n")
    msg = error_for(bad)
    assert "sap: required field is missing" in msg or "sapp: unknown field" in msg


def test_every_problem_is_listed_in_file_order():
    # field errors in two places (cross-reference checks run once the fields are valid)
    bad = replace_once("min_interval_hours: 1 ", "min_interval_hours: -1 ")
    bad = bad.replace("drug_class: placebo", "drug_class: sugar")
    with pytest.raises(DefinitionError) as info:
        parse_protocol(bad, source="x.yaml")
    problems = info.value.problems
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines) and len(lines) == 2
    assert "(and" in str(info.value)


def test_not_a_mapping():
    assert error_for("- 1\n- 2\n").startswith(
        "examples/x.yaml:1: a protocol must be a YAML mapping"
    )


def test_load_protocol_uses_the_path_in_messages(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(replace_once("control_arm: PBO", "control_arm: NOPE"))
    with pytest.raises(DefinitionError, match=rf"^{f}:\d+: sap.control_arm"):
        load_protocol(f)
