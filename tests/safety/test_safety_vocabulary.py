"""AE vocabularies (CTCAE v5 grades, ICH E2A seriousness) and the CYP3A4 interaction list."""

from __future__ import annotations

import pytest

from taperwise.errors import ValidationError
from taperwise.safety import (
    CTCAE_GRADES,
    CYP3A4_INTERACTIONS,
    DEFAULT_CYP3A4_INTERACTING,
    OUTCOME_AEOUT,
    OUTCOMES,
    RELATEDNESS,
    SERIOUSNESS_CRITERIA,
    check_grade,
    check_outcome,
    check_relatedness,
    check_seriousness,
    is_serious,
    match_interacting,
)


def test_ctcae_grades_one_to_five():
    assert sorted(CTCAE_GRADES) == [1, 2, 3, 4, 5]
    assert CTCAE_GRADES[5].startswith("Death")
    assert CTCAE_GRADES[4].startswith("Life-threatening")
    for g in range(1, 6):
        assert check_grade(g) == g


@pytest.mark.parametrize("bad", [0, 6, -1, True, 2.5, "3"])
def test_bad_grade(bad):
    with pytest.raises(ValidationError, match="allowed: 1, 2, 3, 4, 5"):
        check_grade(bad)


def test_ich_e2a_criteria():
    assert list(SERIOUSNESS_CRITERIA) == [
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "important_medical_event",
    ]
    assert check_seriousness(["hospitalisation", "death", "death"]) == ("death", "hospitalisation")
    assert is_serious(["important_medical_event"]) and not is_serious([])
    with pytest.raises(
        ValidationError, match="seriousness criterion 'severe' is not an ICH E2A criterion"
    ):
        check_seriousness(["severe"])  # severe (intensity) is not serious (outcome)


def test_relatedness_and_outcome():
    assert check_relatedness("possible") == "possible"
    assert check_outcome("fatal") == "fatal"
    assert "definite" in RELATEDNESS and "not_assessed" in RELATEDNESS
    assert set(OUTCOME_AEOUT) == set(OUTCOMES)
    assert OUTCOME_AEOUT["not_recovered"] == "NOT RECOVERED/NOT RESOLVED"
    with pytest.raises(ValidationError, match="allowed: not_related"):
        check_relatedness("maybe")
    with pytest.raises(ValidationError, match="allowed: recovered, recovering"):
        check_outcome("ok")


def test_every_interaction_has_a_source():
    assert len(CYP3A4_INTERACTIONS) >= 6
    for i in CYP3A4_INTERACTIONS:
        assert i.source and i.why and i.name == i.name.lower()
    assert {"methadone", "buprenorphine", "fentanyl", "midazolam", "alprazolam"} <= set(
        DEFAULT_CYP3A4_INTERACTING
    )


@pytest.mark.parametrize(
    ("meds", "expected"),
    [
        (("Methadone 60 mg",), ["methadone"]),
        (("SUBOXONE 8/2",), ["buprenorphine"]),
        (("buprenorphine-naloxone",), ["buprenorphine"]),
        (("paracetamol", "ibuprofen"), []),
        (("methadonex",), []),  # whole words only
        ((), []),
    ],
)
def test_match_interacting(meds, expected):
    assert match_interacting(meds, DEFAULT_CYP3A4_INTERACTING) == expected


def test_match_respects_protocol_list_and_phrases():
    assert match_interacting(("methadone",), ["midazolam"]) == []
    assert match_interacting(("St John's Wort extract",), ["st john's wort"]) == ["st john's wort"]
