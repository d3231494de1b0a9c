"""pydantic v2 models of a study protocol (arms, regimens, schedule, stages, randomisation,
safety-rule parameters, SAP).

Doses in a protocol are written by the supervising clinician; taperwise only checks that the
limits are coherent and later compares recorded doses against them (DESIGN.md §4).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from taperwise.protocol._located import LocatedValueError
from taperwise.protocol.instrument_ref import is_known_instrument, known_instrument_ids
from taperwise.safety.interactions import DEFAULT_CYP3A4_INTERACTING

DrugClass = Literal[
    "kratom_product", "buprenorphine", "methadone", "lofexidine", "clonidine", "placebo", "other"
]
Route = Literal[
    "oral",
    "sublingual",
    "buccal",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "transdermal",
    "intranasal",
]
Covariance = Literal["us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh"]
_ID = r"^[A-Za-z][A-Za-z0-9_]*$"
_KRATOM_WORDS = ("kratom", "mitragyn", "mitragynine", "ketum", "7-hydroxymitragynine")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DayDose(_Model):
    """The clinician's planned dose for one day of a titration or taper (per administration)."""

    day: int = Field(ge=1)
    dose: float = Field(ge=0)
    doses_per_day: int | None = Field(default=None, ge=1)
    note: str | None = None


class Regimen(_Model):
    """Dosing limits and the day-by-day plan of one arm.

    ``max_single_dose`` and ``max_daily_dose`` are the limits the safety rules check recorded
    doses against (``dose.max_single``, ``dose.max_daily``).
    """

    unit: str = Field(min_length=1)
    route: Route = "oral"
    doses_per_day: int = Field(ge=1)
    min_interval_hours: float = Field(default=0, ge=0)
    max_single_dose: float = Field(gt=0)
    max_daily_dose: float = Field(gt=0)
    salt_form: str | None = None
    schedule: list[DayDose] = Field(default_factory=list)

    @field_validator("max_daily_dose")
    @classmethod
    def _daily_at_least_single(cls, value: float, info: ValidationInfo) -> float:
        single = info.data.get("max_single_dose")
        if single is not None and value < single:
            raise ValueError(f"must be >= max_single_dose (got {value:g})")
        return value

    @model_validator(mode="after")
    def _check_schedule(self) -> Regimen:
        seen: set[int] = set()
        for i, step in enumerate(self.schedule):
            if step.day in seen:
                raise LocatedValueError(["schedule", i, "day"], f"day {step.day} is listed twice")
            seen.add(step.day)
            if step.dose > self.max_single_dose:
                raise LocatedValueError(
                    ["schedule", i, "dose"],
                    f"must be <= max_single_dose {self.max_single_dose:g} (got {step.dose:g})",
                )
            per_day = step.doses_per_day or self.doses_per_day
            if per_day > self.doses_per_day:
                raise LocatedValueError(
                    ["schedule", i, "doses_per_day"],
                    f"must be <= regimen doses_per_day {self.doses_per_day} (got {per_day})",
                )
            if step.dose * per_day > self.max_daily_dose + 1e-9:
                raise LocatedValueError(
                    ["schedule", i, "dose"],
                    f"{step.dose:g} x {per_day} per day exceeds max_daily_dose "
                    f"{self.max_daily_dose:g}",
                )
        return self

    def planned(self, day: int) -> DayDose | None:
        """The schedule entry for ``day`` (None when the plan has no entry for it)."""
        return next((s for s in self.schedule if s.day == day), None)


class Arm(_Model):
    """One study arm: product, ingredients, drug class, blinded label and regimen.

    Examples
    --------
    >>> arm = Arm(id="PBO", name="Placebo", product="matched placebo", drug_class="placebo",
    ...           blinded_label="C", regimen={"unit": "capsule", "doses_per_day": 3,
    ...           "max_single_dose": 2, "max_daily_dose": 6})
    >>> arm.is_alpha2_agonist
    False
    """

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    product: str = Field(min_length=1)
    ingredients: list[str] = Field(default_factory=list)
    drug_class: DrugClass
    blinded_label: str = Field(min_length=1)
    regimen: Regimen
    follow_up_days: int = Field(default=0, ge=0)

    @property
    def is_kratom_product(self) -> bool:
        """True for the kratom drug class or any kratom/mitragynine ingredient."""
        if self.drug_class == "kratom_product":
            return True
        text = " ".join(self.ingredients).lower()
        return any(word in text for word in _KRATOM_WORDS)

    @property
    def contains_magnesium(self) -> bool:
        """True when an ingredient is a magnesium salt (e.g. magnesium citrate)."""
        return any("magnesium" in i.lower() for i in self.ingredients)

    @property
    def is_alpha2_agonist(self) -> bool:
        """True for lofexidine and clonidine arms."""
        return self.drug_class in ("lofexidine", "clonidine")

    @property
    def is_buprenorphine(self) -> bool:
        """True for buprenorphine arms."""
        return self.drug_class == "buprenorphine"

    @model_validator(mode="after")
    def _kratom_follow_up(self) -> Arm:
        # Kratom is dependence-forming: studies of kratom products follow up for kratom
        # withdrawal after the last dose (DESIGN.md §4).
        if self.is_kratom_product and self.follow_up_days < 1:
            raise LocatedValueError(
                ["follow_up_days"],
                "a kratom-product arm needs follow_up_days >= 1 for kratom-withdrawal "
                f"follow-up (got {self.follow_up_days})",
            )
        return self


class Timepoint(_Model):
    """An assessment time relative to an anchor (pre-dose is offset 0 or negative)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    offset_minutes: int
    anchor: Literal["first_dose", "each_dose", "daily"] = "first_dose"
    instruments: list[str] | None = None


class AssessmentSchedule(_Model):
    """Instruments and time points of the assessment schedule."""

    instruments: list[str] = Field(min_length=1)
    days: int = Field(ge=1)
    timepoints: list[Timepoint] = Field(min_length=1)

    @field_validator("instruments")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for inst in value:
            if not is_known_instrument(inst):
                raise ValueError(
                    f"unknown instrument '{inst}'; allowed: {', '.join(known_instrument_ids())}"
                )
        return value

    @model_validator(mode="after")
    def _check(self) -> AssessmentSchedule:
        names = [t.name for t in self.timepoints]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise LocatedValueError(["timepoints", i, "name"], f"duplicate timepoint '{name}'")
        for i, tp in enumerate(self.timepoints):
            for inst in tp.instruments or []:
                if inst not in self.instruments:
                    raise LocatedValueError(
                        ["timepoints", i, "instruments"],
                        f"instrument '{inst}' is not in schedule.instruments "
                        f"({', '.join(self.instruments)})",
                    )
        return self


class Randomisation(_Model):
    """Allocation settings: permuted blocks of random sizes within strata, or minimisation."""

    method: Literal["permuted_blocks", "minimisation"] = "permuted_blocks"
    ratio: dict[str, int] = Field(default_factory=dict)
    block_sizes: list[int] = Field(default_factory=list)
    strata: dict[str, list[str]] = Field(default_factory=dict)
    n_per_stratum: int | None = Field(default=None, ge=1)
    seed: int | None = None
    weights: dict[str, float] | None = None
    p_best: float = Field(default=0.8, gt=0, le=1)
    imbalance: Literal["range", "variance", "sd"] = "range"

    @field_validator("ratio")
    @classmethod
    def _positive_ratio(cls, value: dict[str, int]) -> dict[str, int]:
        for arm_id, r in value.items():
            if r < 1:
                raise LocatedValueError([arm_id], f"ratio must be a whole number >= 1 (got {r})")
        return value

    @field_validator("strata", mode="before")
    @classmethod
    def _levels_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: [str(v) for v in levels] if isinstance(levels, list) else levels
                for k, levels in value.items()
            }
        return value

    @model_validator(mode="after")
    def _check(self) -> Randomisation:
        for i, size in enumerate(self.block_sizes):
            if size < 1:
                raise LocatedValueError(["block_sizes", i], f"must be >= 1 (got {size})")
        if self.method == "permuted_blocks":
            if not self.block_sizes:
                raise LocatedValueError(["block_sizes"], "permuted_blocks needs block_sizes")
            if self.n_per_stratum is None:
                raise LocatedValueError(["n_per_stratum"], "permuted_blocks needs n_per_stratum")
        for factor, levels in self.strata.items():
            if not levels:
                raise LocatedValueError(["strata", factor], "a stratum factor needs levels")
            if len(set(levels)) != len(levels):
                raise LocatedValueError(["strata", factor], "stratum levels must be unique")
        for factor in self.weights or {}:
            if factor not in self.strata:
                raise LocatedValueError(
                    ["weights", factor],
                    f"'{factor}' is not a stratum factor; allowed: {', '.join(self.strata) or 'none'}",
                )
        return self


class SafetyParams(_Model):
    """Parameters of the safety rules (defaults cited in docs/protocol-safety.md)."""

    cows_severe_total: int = Field(default=36, ge=0, le=48)
    cows_rise_24h: int = Field(default=13, ge=1, le=48)
    cows_rise_window_hours: float = Field(default=24, gt=0)
    buprenorphine_min_cows: int = Field(default=8, ge=0, le=48)
    buprenorphine_min_cows_after_methadone: int = Field(default=13, ge=0, le=48)
    buprenorphine_check: Literal["first_dose", "every_dose"] = "first_dose"
    alpha2_hold_sbp_below: float = Field(default=90, gt=0)
    alpha2_hold_dbp_below: float = Field(default=50, gt=0)
    alpha2_hold_hr_below: float = Field(default=50, gt=0)
    alpha2_hold_if_symptomatic: bool = True
    dose_daily_window: Literal["rolling_24h", "calendar_day"] = "rolling_24h"
    magnesium_renal_egfr_below: float = Field(default=30, gt=0)
    gi_flag_all_arms: bool = True
    cyp3a4_interacting: list[str] = Field(default_factory=lambda: list(DEFAULT_CYP3A4_INTERACTING))
    ae_urgent_grade: int = Field(default=3, ge=1, le=5)
    ae_seizure_terms: list[str] = Field(
        default_factory=lambda: ["seizure", "convulsion", "convulsive", "epilepsy", "epileptic"]
    )


class SAP(_Model):
    """Statistical analysis plan: primary instrument, days, covariates, control arm, model."""

    primary_instrument: str = "cows"
    primary_days: list[int] = Field(default_factory=lambda: list(range(1, 8)), min_length=1)
    covariates: list[str] = Field(default_factory=lambda: ["baseline"])
    control_arm: str = "PBO"
    covariance: Covariance = "us"
    covariance_fallbacks: list[Covariance] = Field(default_factory=lambda: ["toeph", "ar1"])
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    responder_threshold: float | None = None
    responder_definition: str | None = None
    sensitivity: list[str] = Field(default_factory=lambda: ["no_gi_items"])

    @field_validator("primary_instrument")
    @classmethod
    def _known(cls, value: str) -> str:
        if not is_known_instrument(value):
            raise ValueError(
                f"unknown instrument '{value}'; allowed: {', '.join(known_instrument_ids())}"
            )
        return value

    @field_validator("primary_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        for i, day in enumerate(value):
            if day < 1:
                raise LocatedValueError([i], f"study days start at 1 (got {day})")
        if len(set(value)) != len(value):
            raise ValueError("days must be unique")
        return sorted(value)
