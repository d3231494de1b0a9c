"""Safety rules (pure) and adverse-event vocabularies.

The store calls :func:`evaluate` on every clinical write and saves the returned drafts as alerts.

Examples
--------
>>> from taperwise.safety import evaluate, ParticipantFacts, AssessmentFact  # doctest: +SKIP
"""

from __future__ import annotations

from taperwise.safety.engine import RULE_CATALOGUE, RULES, RuleInfo, evaluate
from taperwise.safety.facts import (
    AdverseEventFact,
    AlertDraft,
    AssessmentFact,
    DoseFact,
    ParticipantFacts,
    Severity,
    VitalsFact,
)
from taperwise.safety.interactions import (
    CYP3A4_INTERACTIONS,
    DEFAULT_CYP3A4_INTERACTING,
    match_interacting,
)
from taperwise.safety.vocabulary import (
    CTCAE_GRADES,
    CTCAE_VERSION,
    OUTCOME_AEOUT,
    OUTCOMES,
    RELATEDNESS,
    SERIOUSNESS_CRITERIA,
    check_grade,
    check_outcome,
    check_relatedness,
    check_seriousness,
    is_serious,
)

__all__ = [
    "CTCAE_GRADES",
    "CTCAE_VERSION",
    "CYP3A4_INTERACTIONS",
    "DEFAULT_CYP3A4_INTERACTING",
    "OUTCOME_AEOUT",
    "OUTCOMES",
    "RELATEDNESS",
    "RULES",
    "RULE_CATALOGUE",
    "SERIOUSNESS_CRITERIA",
    "AdverseEventFact",
    "AlertDraft",
    "AssessmentFact",
    "DoseFact",
    "ParticipantFacts",
    "RuleInfo",
    "Severity",
    "VitalsFact",
    "check_grade",
    "check_outcome",
    "check_relatedness",
    "check_seriousness",
    "evaluate",
    "is_serious",
    "match_interacting",
]
