"""Concealed randomisation through the store: eligibility, consent, blinding, 80 % warning, exhaustion."""

from __future__ import annotations

import pytest

from store_helpers import LOFEXIDINE_PROTOCOL, enrol_participant, new_study, randomise_participant
from taperwise.errors import ConflictError, ValidationError


def test_requires_eligibility_and_consent(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001", eligible=False)
    with pytest.raises(ValidationError, match="not eligible"):
        randomise_participant(engine, study_id, "P001")
    enrol_participant(engine, study_id, proto, "P002", consent_version=None, consent_date=None)
    with pytest.raises(ValidationError, match="consent"):
        randomise_participant(engine, study_id, "P002")


def test_blinded_view_hides_the_arm(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    outcome = randomise_participant(engine, study_id, "P001")
    blinded = outcome.public(unblinded=False)
    assert "arm" not in blinded and "sequence" not in blinded
    assert blinded["arm_label"] in {a.blinded_label for a in proto.arms}
    assert outcome.public(unblinded=True)["arm"] in {a.id for a in proto.arms}
    with pytest.raises(ConflictError, match="already randomised"):
        randomise_participant(engine, study_id, "P001")


def test_same_seed_same_assignments(tmp_path):
    arms = []
    for run in range(2):
        engine, study_id, proto = new_study(f"sqlite:///{tmp_path / f'r{run}.db'}", seed=5)
        for i in range(6):
            enrol_participant(engine, study_id, proto, f"P{i}")
        arms.append([randomise_participant(engine, study_id, f"P{i}").arm for i in range(6)])
        engine.dispose()
    assert arms[0] == arms[1]


def test_warns_at_80_percent_and_never_runs_out_silently(tmp_path):
    small = tmp_path / "small.yaml"
    text = LOFEXIDINE_PROTOCOL.read_text().replace("n_per_stratum: 208", "n_per_stratum: 16")
    assert "n_per_stratum: 16" in text
    small.write_text(text)
    engine, study_id, proto = new_study(f"sqlite:///{tmp_path / 'lofex.db'}", protocol=small)
    strata = proto.randomisation.strata or {}
    from sqlalchemy import func, select

    from taperwise.randomize import stratum_key
    from taperwise.store.engine import read_session
    from taperwise.store.models import AllocationEntry

    key = stratum_key({k: str(v[0]) for k, v in strata.items()}, list(strata))
    with read_session(engine) as session:
        size = session.execute(
            select(func.count()).where(
                AllocationEntry.study_id == study_id, AllocationEntry.stratum == key
            )
        ).scalar_one()
    assert size > 0
    warnings = []
    for i in range(size):
        enrol_participant(engine, study_id, proto, f"L{i:04d}", opioid_class="short_acting")
        outcome = randomise_participant(engine, study_id, f"L{i:04d}")
        warnings.append(outcome.warning)
    first_warning = next(i for i, w in enumerate(warnings) if w)
    assert first_warning + 1 >= 0.8 * size and first_warning < size
    enrol_participant(engine, study_id, proto, "LAST")
    with pytest.raises(ConflictError, match="exhausted"):
        randomise_participant(engine, study_id, "LAST")
