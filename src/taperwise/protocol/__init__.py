"""Study protocols as versioned YAML validated by pydantic models (DESIGN.md §1 rule 3).

Examples
--------
>>> from taperwise.protocol import load_protocol
>>> p = load_protocol("examples/kmc-vs-buprenorphine-vs-placebo.yaml")  # doctest: +SKIP
>>> p.arm("KMC").contains_magnesium, p.stages.stage_for(30, "fentanyl")  # doctest: +SKIP
(True, 'peak')
"""

from __future__ import annotations

from taperwise.protocol.document import Protocol
from taperwise.protocol.load import load_protocol, parse_protocol
from taperwise.protocol.models import (
    SAP,
    Arm,
    AssessmentSchedule,
    DayDose,
    Randomisation,
    Regimen,
    SafetyParams,
    Timepoint,
)
from taperwise.protocol.stages import (
    DEFAULT_STAGES,
    OPIOID_CLASSES,
    StageBoundary,
    StageModel,
    normalise_opioid_class,
)

__all__ = [
    "DEFAULT_STAGES",
    "OPIOID_CLASSES",
    "SAP",
    "Arm",
    "AssessmentSchedule",
    "DayDose",
    "Protocol",
    "Randomisation",
    "Regimen",
    "SafetyParams",
    "StageBoundary",
    "StageModel",
    "Timepoint",
    "load_protocol",
    "normalise_opioid_class",
    "parse_protocol",
]
