"""Adverse-event vocabularies: CTCAE v5.0 grades, ICH E2A seriousness, relatedness, outcome.

The one home of these lists: the store validates every AE with the ``check_*`` helpers here,
and the web schemas, forms and CLI help take their choices from the same tuples.

MedDRA is licensed and is not shipped; AE terms are stored verbatim (domain.md §8.3).
"""

from __future__ import annotations

from collections.abc import Iterable

from taperwise.errors import ValidationError

CTCAE_VERSION = "5.0"

#: CTCAE v5.0 generic grade definitions (NCI, 27 Nov 2017; domain.md §8.1), abridged.
CTCAE_GRADES: dict[int, str] = {
    1: "Mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; intervention not indicated",
    2: "Moderate; minimal, local or noninvasive intervention indicated; limiting age-appropriate instrumental ADL",
    3: "Severe or medically significant but not immediately life-threatening; hospitalization or prolongation of hospitalization indicated; disabling; limiting self-care ADL",
    4: "Life-threatening consequences; urgent intervention indicated",
    5: "Death related to AE",
}

#: ICH E2A (CPMP/ICH/377/95) seriousness criteria; an AE meeting any one is serious.
SERIOUSNESS_CRITERIA: dict[str, str] = {
    "death": "results in death",
    "life_threatening": "is life-threatening (at risk of death at the time of the event)",
    "hospitalisation": "requires inpatient hospitalisation or prolongation of existing hospitalisation",
    "disability": "results in persistent or significant disability/incapacity",
    "congenital_anomaly": "is a congenital anomaly/birth defect",
    "important_medical_event": "other important medical event (medical and scientific judgement)",
}

#: Causality to the study product (a common five-level scale, plus "not yet assessed"). These
#: identifiers are what the store, the CLI, the web app and the database hold.
RELATEDNESS: tuple[str, ...] = (
    "not_related",
    "unlikely",
    "possible",
    "probable",
    "definite",
    "not_assessed",
)

#: Outcome of the event, as stored. :data:`OUTCOME_AEOUT` maps each to its CDISC SDTM
#: controlled term (AEOUT, codelist "Outcome of Event").
OUTCOMES: tuple[str, ...] = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
OUTCOME_AEOUT: dict[str, str] = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}


def check_grade(grade: int) -> int:
    """A CTCAE grade 1-5, or ValidationError.

    Examples
    --------
    >>> check_grade(3)
    3
    """
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in CTCAE_GRADES:
        raise ValidationError(f"CTCAE grade {grade!r} is not allowed; allowed: 1, 2, 3, 4, 5")
    return grade


def check_seriousness(criteria: Iterable[str]) -> tuple[str, ...]:
    """Validated, de-duplicated ICH E2A criteria in catalogue order (empty = not serious)."""
    given = list(criteria)
    for c in given:
        if c not in SERIOUSNESS_CRITERIA:
            raise ValidationError(
                f"seriousness criterion '{c}' is not an ICH E2A criterion; "
                f"allowed: {', '.join(SERIOUSNESS_CRITERIA)}"
            )
    return tuple(c for c in SERIOUSNESS_CRITERIA if c in given)


def is_serious(criteria: Iterable[str]) -> bool:
    """True when at least one ICH E2A criterion is met."""
    return bool(check_seriousness(criteria))


def check_relatedness(value: str) -> str:
    """A relatedness value from :data:`RELATEDNESS`, or ValidationError."""
    if value not in RELATEDNESS:
        raise ValidationError(
            f"relatedness '{value}' is not allowed; allowed: {', '.join(RELATEDNESS)}"
        )
    return value


def check_outcome(value: str) -> str:
    """An outcome value from :data:`OUTCOMES`, or ValidationError."""
    if value not in OUTCOMES:
        raise ValidationError(f"outcome '{value}' is not allowed; allowed: {', '.join(OUTCOMES)}")
    return value
