"""`taperwise protocol check FILE [--json]` and `taperwise protocol rules`."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_check_summary(cli):
    code, out, err = cli("protocol", "check", EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml")
    assert code == 0, err
    assert "valid protocol" in out and "kmc-bup-pbo" in out
    assert "KMC" in out and "PBO" in out


def test_check_json_is_the_normalised_protocol(cli):
    code, out, err = cli("protocol", "check", EXAMPLES / "lofexidine-phase3.yaml", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["id"] == "lofexidine-phase3"
    assert [a["id"] for a in data["arms"]] == ["LFX288", "LFX216", "PBO"]
    assert data["randomisation"]["ratio"] == {"LFX288": 3, "LFX216": 3, "PBO": 2}
    assert data["safety"]["alpha2_hold_sbp_below"] == 90
    assert data["stages"]["classes"]["short_acting"][0] == {"name": "pre_onset", "start_hours": 0.0}
    assert data["sap"]["control_arm"] == "PBO"


def test_check_bad_file_exits_2_with_file_line(cli, tmp_path):
    text = (EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("control_arm: PBO", "control_arm: NOPE"))
    code, out, err = cli("protocol", "check", bad)
    assert code == 2
    assert out == ""
    assert err.startswith(f"{bad}:") and "sap.control_arm" in err
    assert "Traceback" not in err


def test_check_lists_every_problem(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\n")
    code, _, err = cli("protocol", "check", bad)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith(f"{bad}:1: ") for line in lines)


def test_check_missing_file(cli, tmp_path):
    code, _, err = cli("protocol", "check", tmp_path / "nope.yaml")
    assert code == 2 and "not found" in err


def test_rules_json(cli):
    code, out, _ = cli("protocol", "rules", "--json")
    assert code == 0
    ids = [r["rule_id"] for r in json.loads(out)["rules"]]
    for rule_id in (
        "cows.severe",
        "cows.rise_24h",
        "bup.below_cows_threshold",
        "alpha2.hold_vitals",
        "dose.max_single",
        "dose.max_daily",
        "gi.confound_magnesium",
        "magnesium.renal",
        "kratom.cyp3a4_comedication",
        "ae.seizure",
        "ae.grade_ge3",
    ):
        assert rule_id in ids
