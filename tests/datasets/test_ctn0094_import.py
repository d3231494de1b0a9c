"""`taperwise import ctn0094` loads the three trials with the published randomisation counts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from refdata import require_reference
from taperwise.store.engine import make_engine, read_session
from taperwise.store.models import Participant

EXPECTED = {
    "ctn0027": {"METHADONE": 529, "BUP": 740},
    "ctn0030": {"BUP_EMM": 329, "BUP_SMM": 324},
    "ctn0051": {"BUP_INPT": 287, "XRNTX": 283},
}


@pytest.mark.slow
def test_import_counts_from_the_store(cli, tmp_path):
    folder = require_reference("ctn0094")
    db = f"sqlite:///{tmp_path / 'ctn.db'}"
    code, out, err = cli("import", "ctn0094", str(folder), "--db", db, "--json")
    assert code == 0, err
    reported = {s["study"]: s["randomised"] for s in json.loads(out)["studies"]}
    assert reported == EXPECTED
    engine = make_engine(db)
    with read_session(engine) as session:
        rows = session.execute(
            select(Participant.study_id, Participant.arm_id, func.count())
            .where(Participant.arm_id.is_not(None))
            .group_by(Participant.study_id, Participant.arm_id)
        ).all()
    stored: dict[str, dict[str, int]] = {}
    for study, arm, n in rows:
        stored.setdefault(study, {})[arm] = n
    assert stored == EXPECTED
    code, out, _ = cli("audit", "verify", "--db", db, "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out, err = cli(
        "export",
        "--db",
        db,
        "--study",
        "ctn0051",
        "--format",
        "analysis",
        "--out",
        tmp_path / "x",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["tables"]["participants"] == 772
