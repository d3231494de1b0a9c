"""The study commands end to end through the CLI (SQLite)."""

from __future__ import annotations

import json

from store_helpers import KMC_PROTOCOL
from taperwise.analysis_dataset import AnalysisDataset

FORM = [
    "pulse=2",
    "sweating=2",
    "restlessness=3",
    "pupil_size=2",
    "bone_joint_aches=2",
    "runny_nose_tearing=2",
    "gi_upset=2",
    "tremor=2",
    "yawning=2",
    "anxiety_irritability=2",
    "gooseflesh=3",
]


def _items(form):
    args = []
    for pair in form:
        args += ["--item", pair]
    return args


def _enrol_args(proto_strata: dict) -> list[str]:
    args = [
        "--consent-version",
        "1.0",
        "--consent-date",
        "2026-03-02",
        "--opioid-class",
        "short_acting",
        "--last-opioid-use",
        "2026-03-01T20:00",
    ]
    for factor, levels in proto_strata.items():
        if factor == "site":
            args += ["--site", str(levels[0])]
        else:
            args += ["--stratum", f"{factor}={levels[0]}"]
    return args


def test_study_flow(cli, tmp_path):
    from taperwise.protocol import load_protocol

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    strata = dict(load_protocol(KMC_PROTOCOL).randomisation.strata or {})
    code, out, err = cli("study", "init", "--protocol", KMC_PROTOCOL, "--db", db, "--json")
    assert code == 0, err
    study = json.loads(out)["study"]

    code, out, err = cli("enroll", "P001", "--db", db, *_enrol_args(strata), "--json")
    assert code == 0, err
    code, out, err = cli("randomize", "participant", "P001", "--db", db, "--json")
    assert code == 0, err
    assert "arm_label" in json.loads(out)

    code, out, err = cli(
        "assess", "P001", "--db", db, *_items(FORM), "--context", "pre-dose", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["total"] == 24 and doc["band"] == "moderate" and doc["complete"] is True

    # a score outside the allowed set: one line, exit 2, nothing written
    code, out, err = cli(
        "assess", "P001", "--db", db, *_items(FORM[:-1] + ["gooseflesh=4"]), "--json"
    )
    assert code == 2
    assert err.strip() == "COWS item 'gooseflesh' got 4; allowed 0, 3, 5"
    assert out == ""

    # edit without reason refused; with reason accepted
    code, _, err = cli("edit", "assessment", str(doc["id"]), "--item", "pulse=4", "--db", db)
    assert code == 2 and "reason" in err
    code, out, err = cli(
        "edit",
        "assessment",
        str(doc["id"]),
        "--item",
        "pulse=4",
        "--reason",
        "re-measured",
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["changed"]["total"] == {"old": 24, "new": 26}

    code, out, err = cli("audit", "verify", "--db", db, "--json")
    assert code == 0 and json.loads(out)["ok"] is True

    out_dir = tmp_path / "ds"
    code, out, err = cli("export", "--db", db, "--format", "analysis", "--out", out_dir, "--json")
    assert code == 0, err
    ds = AnalysisDataset.read(out_dir)
    assert len(ds.participants) == 1 and ds.participants.loc[0, "study"] == study
    assert len(ds.assessments) == 1 and ds.assessments.loc[0, "total"] == 26

    code, out, err = cli(
        "export", "--db", db, "--format", "sdtm-qs", "--out", tmp_path / "qs.csv", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == 12


def test_unknown_study_is_a_clear_error(cli, tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = cli("assess", "P001", "--db", db, "--item", "pulse=1")
    assert code == 2
    assert "no study" in err
