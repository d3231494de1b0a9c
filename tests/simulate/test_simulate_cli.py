"""`taperwise simulate`: JSON keys, sample-size search and one-line errors."""

from __future__ import annotations

import json

import pytest


def test_simulate_json_keys(cli):
    code, out, err = cli(
        "simulate",
        "--scenario",
        "lofexidine-phase3",
        "--n-per-arm",
        "30",
        "--reps",
        "4",
        "--seed",
        "1",
        "--chunk-size",
        "2",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert {"arms", "power", "type1_error", "settings"} <= set(doc)
    assert [a["arm"] for a in doc["arms"]] == ["PBO", "LFX216", "LFX288"]
    for a in doc["arms"]:
        assert {"arm", "n", "completion", "mean_score_days_1_7", "day3_mean"} <= set(a)
        assert a["n"] == 30
    for name in ("LFX216_vs_PBO", "LFX288_vs_PBO"):
        assert {"estimate", "mcse"} <= set(doc["power"][name])
        assert {"estimate", "mcse"} <= set(doc["type1_error"][name])
    assert doc["settings"]["reps"] == 4 and doc["settings"]["seed"] == 1


def test_simulate_protocol_with_candidate_effect(cli):
    code, out, err = cli(
        "simulate",
        "--protocol",
        "src/taperwise/examples/kmc-vs-buprenorphine-vs-placebo.yaml",
        "--n-per-arm",
        "20",
        "--reps",
        "2",
        "--seed",
        "3",
        "--effect",
        "KMC=0.25",
        "--no-type1",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["type1_error"] is None
    assert doc["true_effect"]["KMC"] < 0  # the user-given effect outweighs the GI confound


def test_sample_size_search_option(cli):
    code, out, err = cli(
        "simulate",
        "--scenario",
        "lofexidine-phase3",
        "--reps",
        "6",
        "--seed",
        "2",
        "--target-power",
        "0.8",
        "--n-min",
        "20",
        "--n-max",
        "60",
        "--step",
        "40",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["target"] == 0.8 and doc["evaluations"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "nope"], "scenario 'nope' not found"),
        ([], "give exactly one of --scenario NAME and --protocol FILE"),
        (["--scenario", "lofexidine-phase3", "--executor", "spark"], "executor 'spark'"),
        (["--scenario", "lofexidine-phase3", "--effect", "LFX288=big"], "--effect LFX288=big"),
        (["--scenario", "lofexidine-phase3", "--effect", "XYZ=0.1"], "has no arm 'XYZ'"),
        (["--scenario", "lofexidine-phase3", "--n-per-arm", "1"], "arms.PBO.n: must be"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, message):
    code, out, err = cli("simulate", *args, "--reps", "2", "--seed", "1")
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_bad_scenario_file_names_the_key(cli, tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\narms:\n  - {id: A, label: A, n: 5, colour: red}\n")
    code, _, err = cli("simulate", "--scenario", str(bad), "--reps", "1", "--seed", "1")
    assert code == 2
    assert "arms[0]: unknown key 'colour'" in err
