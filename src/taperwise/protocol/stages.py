"""Withdrawal stages by hours since the last opioid use and the opioid class (domain.md §3).

The default hour boundaries are protocol parameters, not constants: the literature gives ranges
(short-acting onset 6-12 h, peak 24-48 h; methadone onset 24-72 h, peak 72-96 h, resolving over
~10-20 days; buprenorphine cessation onset 24-72 h, peak ~72 h, physical symptoms 7-14 days), all
from secondary sources. A protocol may override any class.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taperwise.errors import ValidationError
from taperwise.protocol._located import LocatedValueError

OpioidClass = Literal["short_acting", "long_acting", "buprenorphine"]
OPIOID_CLASSES: tuple[str, ...] = ("short_acting", "long_acting", "buprenorphine")

#: Drug names accepted in place of a class (lower case, spaces/hyphens as underscores).
OPIOID_CLASS_ALIASES: dict[str, str] = {
    "short": "short_acting",
    "heroin": "short_acting",
    "fentanyl": "short_acting",
    "oxycodone": "short_acting",
    "oxycodone_ir": "short_acting",
    "morphine": "short_acting",
    "morphine_ir": "short_acting",
    "hydrocodone": "short_acting",
    "hydromorphone": "short_acting",
    "codeine": "short_acting",
    "tramadol": "short_acting",
    "long": "long_acting",
    "methadone": "long_acting",
    "oxycodone_er": "long_acting",
    "morphine_er": "long_acting",
    "er": "long_acting",
    "bup": "buprenorphine",
    "buprenorphine_naloxone": "buprenorphine",
}


def normalise_opioid_class(value: str) -> str:
    """Map a class or drug name to one of :data:`OPIOID_CLASSES`.

    Examples
    --------
    >>> normalise_opioid_class("Fentanyl")
    'short_acting'
    """
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key in OPIOID_CLASSES:
        return key
    if key in OPIOID_CLASS_ALIASES:
        return OPIOID_CLASS_ALIASES[key]
    allowed = ", ".join(OPIOID_CLASSES)
    raise ValidationError(
        f"opioid class '{value}' is not known; allowed: {allowed} "
        f"(or a drug name: {', '.join(sorted(OPIOID_CLASS_ALIASES))})"
    )


class StageBoundary(BaseModel):
    """A stage that starts ``start_hours`` after the last opioid use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    start_hours: float = Field(ge=0)


def _stages(*pairs: tuple[str, float]) -> list[StageBoundary]:
    return [StageBoundary(name=n, start_hours=h) for n, h in pairs]


#: Defaults: lower ends of the onset ranges, peak from the start of the quoted peak window,
#: late-acute from the end of it, post-acute when the acute course has usually resolved.
DEFAULT_STAGES: dict[str, list[StageBoundary]] = {
    # onset 6-12 h, peak 24-48 h (fentanyl 24-72 h), acute course over ~5-7 days
    "short_acting": _stages(
        ("pre_onset", 0), ("early", 6), ("peak", 24), ("late_acute", 72), ("post_acute", 168)
    ),
    # onset 24-72 h (12-48 h in one source), peak 72-96 h, acute ~10-20 days
    "long_acting": _stages(
        ("pre_onset", 0), ("early", 24), ("peak", 72), ("late_acute", 120), ("post_acute", 336)
    ),
    # cessation: onset ~24-72 h, peak ~72 h, physical symptoms ~7-14 days ([S] only)
    "buprenorphine": _stages(
        ("pre_onset", 0), ("early", 24), ("peak", 72), ("late_acute", 96), ("post_acute", 336)
    ),
}


class StageModel(BaseModel):
    """Stage boundaries per opioid class; :meth:`stage_for` classifies a time point.

    Examples
    --------
    >>> StageModel().stage_for(30, "heroin")
    'peak'
    >>> StageModel().stage_for(30, "methadone")
    'early'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: dict[OpioidClass, list[StageBoundary]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_STAGES.items()}
    )

    @field_validator("classes", mode="before")
    @classmethod
    def _fill_defaults(cls, value: object) -> object:
        # a protocol that overrides one class keeps the shipped defaults for the others
        if isinstance(value, dict):
            merged: dict[object, object] = {k: list(v) for k, v in DEFAULT_STAGES.items()}
            merged.update(value)
            return merged
        return value

    @model_validator(mode="after")
    def _check(self) -> StageModel:
        for cls_name, stages in self.classes.items():
            if not stages:
                raise LocatedValueError(["classes", cls_name], "needs at least one stage")
            if stages[0].start_hours != 0:
                raise LocatedValueError(
                    ["classes", cls_name, 0, "start_hours"],
                    f"the first stage must start at 0 h (got {stages[0].start_hours:g})",
                )
            for i in range(1, len(stages)):
                if stages[i].start_hours <= stages[i - 1].start_hours:
                    raise LocatedValueError(
                        ["classes", cls_name, i, "start_hours"],
                        "stage start hours must increase "
                        f"(got {stages[i].start_hours:g} after {stages[i - 1].start_hours:g})",
                    )
            names = [s.name for s in stages]
            if len(set(names)) != len(names):
                raise LocatedValueError(["classes", cls_name], "stage names must be unique")
        return self

    def stage_for(self, hours_since_last_opioid: float, opioid_class: str) -> str:
        """Name of the stage ``hours_since_last_opioid`` hours after the last opioid use.

        Parameters
        ----------
        hours_since_last_opioid
            Hours (>= 0) since the last opioid use.
        opioid_class
            ``short_acting``, ``long_acting``, ``buprenorphine`` or a drug name such as
            ``heroin``, ``fentanyl`` or ``methadone``.

        Raises
        ------
        ValidationError
            Negative or non-finite hours, or an unknown class.
        """
        hours = float(hours_since_last_opioid)
        if not math.isfinite(hours) or hours < 0:
            raise ValidationError(
                f"hours since last opioid use must be a finite number >= 0 (got {hours_since_last_opioid})"
            )
        stages = self.classes[normalise_opioid_class(opioid_class)]  # type: ignore[index]
        current = stages[0].name
        for stage in stages:
            if hours >= stage.start_hours:
                current = stage.name
            else:
                break
        return current

    def stage_names(self, opioid_class: str) -> list[str]:
        """Stage names of one class, in time order."""
        return [s.name for s in self.classes[normalise_opioid_class(opioid_class)]]  # type: ignore[index]
