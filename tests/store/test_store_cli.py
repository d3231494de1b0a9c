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


def test_dose_vitals_and_ae_commands(cli, tmp_path):
    from sqlalchemy import select

    from taperwise.protocol import load_protocol
    from taperwise.store.engine import make_engine, read_session
    from taperwise.store.models import Participant

    db = f"sqlite:///{tmp_path / 'records.db'}"
    proto = load_protocol(KMC_PROTOCOL)
    assert cli("study", "init", "--protocol", KMC_PROTOCOL, "--db", db)[0] == 0
    strata = dict(proto.randomisation.strata or {})
    assert cli("enroll", "P001", "--db", db, *_enrol_args(strata))[0] == 0
    assert cli("randomize", "participant", "P001", "--db", db)[0] == 0
    engine = make_engine(db)
    with read_session(engine) as session:
        arm_id = session.execute(select(Participant.arm_id)).scalar_one()
    engine.dispose()
    unit = proto.arm(arm_id).regimen.unit

    code, out, err = cli(
        "dose", "P001", "--amount", "0", "--unit", unit, "--time", "2026-03-02T09:00", "--db", db,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["id", "participant", "amount", "unit", "given", "alerts"]
    assert doc["participant"] == "P001" and doc["unit"] == unit and doc["given"] is True

    code, out, err = cli(
        "dose", "P001", "--amount", "0", "--unit", unit, "--held", "--reason", "SBP 85",
        "--time", "2026-03-02T13:00", "--db", db,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"dose {doc['id'] + 1} recorded (held)")

    code, out, err = cli(
        "vitals", "P001", "--sbp", "118", "--dbp", "76", "--hr", "72",
        "--time", "2026-03-02T09:30", "--db", db, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert list(json.loads(out)) == ["id", "participant", "alerts"]

    code, out, err = cli(
        "ae", "P001", "--term", "Seizure", "--grade", "3", "--serious", "hospitalisation",
        "--onset", "2026-03-02T10:00", "--db", db, "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["grade"] == 3 and doc["serious"] is True
    assert {"ae.seizure", "ae.grade_ge3", "ae.serious"} <= {a["rule_id"] for a in doc["alerts"]}

    code, out, err = cli("ae", "P001", "--term", "Nausea", "--grade", "7", "--db", db)
    assert code == 2 and out == "" and "grade" in err.lower()
