"""`taperwise score` and `taperwise instruments list|show|export`."""

from __future__ import annotations

import csv
import io
import json

from fhir.resources.R4B.questionnaire import Questionnaire

JSON_KEYS = ["instrument", "version", "total", "band", "complete", "partial_sum", "subtotals"]
COWS_FULL = [
    "pulse=2",
    "sweating=1",
    "restlessness=3",
    "pupil_size=1",
    "bone_joint_aches=2",
    "runny_nose_tearing=1",
    "gi_upset=2",
    "tremor=1",
    "yawning=1",
    "anxiety_irritability=2",
    "gooseflesh=3",
]


def _items(pairs):
    args = []
    for pair in pairs:
        args += ["--item", pair]
    return args


def test_score_json_complete(cli):
    code, out, err = cli("score", "cows", *_items(COWS_FULL), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == JSON_KEYS
    assert doc == {
        "instrument": "cows",
        "version": "1.0.0",
        "total": 19,
        "band": "moderate",
        "complete": True,
        "partial_sum": 19,
        "subtotals": {"no_gi": 17},
    }


def test_score_json_partial_and_below_band(cli):
    code, out, _ = cli("score", "cows", "--item", "pulse=2", "--item", "sweating=1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["complete"] is False and doc["total"] is None and doc["band"] is None
    assert doc["partial_sum"] == 3 and doc["subtotals"] == {"no_gi": None}
    zeros = [f"{p.split('=')[0]}=0" for p in COWS_FULL]
    code, out, _ = cli("score", "cows", *_items(zeros[:-1]), "--item", "gooseflesh=3", "--json")
    assert json.loads(out)["total"] == 3 and json.loads(out)["band"] is None


def test_score_pulse_bpm(cli):
    code, out, _ = cli("score", "cows", *_items(COWS_FULL[1:]), "--pulse-bpm", "125", "--json")
    assert code == 0
    assert json.loads(out)["total"] == 21


def test_score_out_of_set_exits_2_with_one_line(cli):
    code, out, err = cli("score", "cows", "--item", "pulse=3", "--json")
    assert code == 2
    assert out == ""
    assert err == "COWS item 'pulse' got 3; allowed 0, 1, 2, 4\n"


def test_score_unknown_item_and_instrument(cli):
    code, _, err = cli("score", "cows", "--item", "pulse_rate=1")
    assert code == 2 and err.startswith("COWS has no item 'pulse_rate'; items: pulse,")
    code, _, err = cli("score", "cowz", "--item", "pulse=1")
    assert code == 2 and "unknown instrument 'cowz'" in err and err.count("\n") == 1
    code, _, err = cli("score", "cows", "--item", "pulse")
    assert code == 2 and "is not KEY=VALUE" in err


def test_score_human_output(cli):
    code, out, _ = cli("score", "cows", *_items(COWS_FULL))
    assert code == 0 and "total 19 (moderate)" in out and "17" in out
    code, out, _ = cli("score", "sows_gossop", "--item", "insomnia=2")
    assert code == 0 and "incomplete" in out and "not a total" in out


def test_instruments_list_and_show(cli):
    code, out, _ = cli("instruments", "list", "--json")
    assert code == 0
    ids = [row["id"] for row in json.loads(out)["instruments"]]
    assert ids == [
        "cows",
        "craving_nrs",
        "oows",
        "pain_nrs",
        "sows",
        "sows_gossop",
        "withdrawal_band",
    ]
    code, out, _ = cli("instruments", "list")
    assert code == 0 and "sows_gossop" in out
    code, out, _ = cli("instruments", "show", "cows", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["items"][0]["allowed"] == [0, 1, 2, 4] and doc["max_total"] == 48
    code, out, _ = cli("instruments", "show", "cows")
    assert code == 0 and "gooseflesh" in out and "25-36 moderately severe" in out


def test_instruments_export(cli, tmp_path):
    code, out, _ = cli("instruments", "export", "cows", "--format", "fhir")
    assert code == 0
    Questionnaire.model_validate(json.loads(out))
    target = tmp_path / "sows.csv"
    code, _, err = cli("instruments", "export", "sows", "--format", "redcap", "--out", target)
    assert code == 0 and "wrote" in err
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0][0] == "Variable / Field Name" and len(rows) == 1 + 1 + 16 + 2
    code, _, err = cli("instruments", "export", "cows", "--format", "odm")
    assert code == 2 and err == "--format 'odm' is not allowed; allowed: fhir, redcap\n"
