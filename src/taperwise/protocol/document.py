"""The :class:`Protocol` model and its cross-reference checks."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from taperwise.errors import NotFoundError
from taperwise.protocol._located import LocatedValueError
from taperwise.protocol.models import (
    SAP,
    Arm,
    AssessmentSchedule,
    Randomisation,
    SafetyParams,
    _Model,
)
from taperwise.protocol.stages import OpioidClass, StageModel


class Protocol(_Model):
    """A study protocol: what is given, measured, randomised, watched and analysed.

    Load one with :func:`taperwise.protocol.load_protocol`; errors then name file:line.

    Examples
    --------
    >>> from taperwise.protocol import load_protocol
    >>> p = load_protocol("examples/kmc-vs-buprenorphine-vs-placebo.yaml")  # doctest: +SKIP
    >>> [a.id for a in p.arms], p.control_arm.id  # doctest: +SKIP
    (['KMC', 'BUP', 'PBO'], 'PBO')
    """

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    sponsor: str | None = None
    sites: list[str] = Field(default_factory=list)
    opioid_class_default: OpioidClass = "short_acting"
    arms: list[Arm] = Field(min_length=1)
    schedule: AssessmentSchedule
    stages: StageModel = Field(default_factory=StageModel)
    randomisation: Randomisation
    safety: SafetyParams = Field(default_factory=SafetyParams)
    sap: SAP

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # `version: 1.0` in YAML is a float; keep what the author wrote as text
        return (
            str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        )

    @model_validator(mode="before")
    @classmethod
    def _default_ratio(cls, data: Any) -> Any:
        # equal allocation when the protocol gives no ratio
        if isinstance(data, dict):
            rand, arms = data.get("randomisation"), data.get("arms")
            if isinstance(rand, dict) and not rand.get("ratio") and isinstance(arms, list):
                ids = [a.get("id") for a in arms if isinstance(a, dict)]
                if ids and all(isinstance(i, str) for i in ids):
                    data = {**data, "randomisation": {**rand, "ratio": dict.fromkeys(ids, 1)}}
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        ids = [a.id for a in self.arms]
        for i, arm in enumerate(self.arms):
            if arm.id in ids[:i]:
                raise LocatedValueError(["arms", i, "id"], f"duplicate arm id '{arm.id}'")
        labels = [a.blinded_label for a in self.arms]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise LocatedValueError(
                    ["arms", i, "blinded_label"], f"duplicate blinded label '{label}'"
                )
        allowed = ", ".join(ids)
        rand = self.randomisation
        for key in rand.ratio:
            if key not in ids:
                raise LocatedValueError(
                    ["randomisation", "ratio", key], f"'{key}' is not an arm id; allowed: {allowed}"
                )
        missing = [a for a in ids if a not in rand.ratio]
        if missing:
            raise LocatedValueError(
                ["randomisation", "ratio"], f"no ratio for arm(s) {', '.join(missing)}"
            )
        total = sum(rand.ratio.values())
        for i, size in enumerate(rand.block_sizes):
            if size % total:
                raise LocatedValueError(
                    ["randomisation", "block_sizes", i],
                    f"block size must be a multiple of the ratio sum {total} (got {size})",
                )
        if self.sap.control_arm not in ids:
            raise LocatedValueError(
                ["sap", "control_arm"],
                f"'{self.sap.control_arm}' is not an arm id; allowed: {allowed}",
            )
        if self.sap.primary_instrument not in self.schedule.instruments:
            raise LocatedValueError(
                ["sap", "primary_instrument"],
                f"'{self.sap.primary_instrument}' is not in schedule.instruments "
                f"({', '.join(self.schedule.instruments)})",
            )
        for i, day in enumerate(self.sap.primary_days):
            if day > self.schedule.days:
                raise LocatedValueError(
                    ["sap", "primary_days", i],
                    f"day {day} is after the last scheduled day {self.schedule.days}",
                )
        if (
            any(a.contains_magnesium for a in self.arms)
            and "no_gi_items" not in self.sap.sensitivity
        ):
            # magnesium citrate is an osmotic laxative: GI items are confounded (DESIGN.md §4)
            raise LocatedValueError(
                ["sap", "sensitivity"],
                "an arm contains magnesium; the SAP must list the 'no_gi_items' sensitivity analysis",
            )
        if self.sites and "site" in rand.strata:
            extra = [s for s in rand.strata["site"] if s not in self.sites]
            if extra:
                raise LocatedValueError(
                    ["randomisation", "strata", "site"],
                    f"site(s) {', '.join(extra)} not in sites ({', '.join(self.sites)})",
                )
        return self

    def arm(self, arm_id: str) -> Arm:
        """The arm with id ``arm_id``.

        Raises
        ------
        NotFoundError
            Naming the ids that exist.
        """
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise NotFoundError(
            f"arm '{arm_id}' is not in protocol '{self.id}'; arms: {', '.join(a.id for a in self.arms)}"
        )

    @property
    def arm_ids(self) -> list[str]:
        """Arm ids in protocol order."""
        return [a.id for a in self.arms]

    @property
    def control_arm(self) -> Arm:
        """The SAP's control arm."""
        return self.arm(self.sap.control_arm)

    def normalised(self) -> dict[str, Any]:
        """The protocol as plain JSON-ready data with every default filled in."""
        return self.model_dump(mode="json")
