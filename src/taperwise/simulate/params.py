"""Named, documented parameters of the withdrawal-trial simulator.

Every assumption of the generating model is a field here; ``docs/simulate.md`` lists each one with
its source (a published anchor, a calibration, or "assumption"). The model, per participant ``i``
of arm ``a`` on study day ``t`` (day 0 = baseline, days 1..T on treatment)::

    g(t)        = (t / peak_day) * exp(1 - t / peak_day)                 gamma-shaped course
    mu_a(t)     = floor_level + amplitude * g(t) * (1 - effect_a * profile_a(t))
    score_it    = clip(round(mu_a(t) * exp(u_i + e_it - (sd_subject^2 + sd_residual^2) / 2)
                         + gi_it), 0, max_total)
    u_i ~ N(0, sd_subject^2),  e_i. ~ AR(1)(rho, sd_residual),  gi_it ~ Poisson(gi_confound_a)

Day-0 (baseline) uses ``baseline_mean`` in place of ``mu_a(0)`` and the subject effect
``baseline_link * u_i + sqrt(1 - baseline_link^2) * v_i`` (``v_i`` an independent copy of
``u_i``). After each day's assessment the
participant leaves with the discrete-time hazard ``h_loe(score_it) + h_ae_a + h_other`` where
``h_loe = expit(loe_intercept + loe_log_odds_a + loe_slope * (score_it - loe_centre))`` (lack of efficacy: missing
NOT at random), ``h_ae_a`` the arm's adverse-event hazard and ``h_other`` the non-informative
hazard (consent, personal, other reasons).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from taperwise.errors import ValidationError


@dataclass(frozen=True)
class TrajectoryParams:
    """Placebo (untreated) withdrawal course and the noise around it, on the instrument's scale.

    Attributes
    ----------
    instrument : str
        Instrument id whose total is simulated (``sows_gossop``, ``cows``).
    days : int
        Treatment days simulated (assessed once a day, days 1..days).
    floor_level : float
        Residual symptom level under no withdrawal (``B``).
    amplitude : float
        Height of the withdrawal component at the peak (``A``).
    peak_day : float
        Study day of the peak of the mean course (``t_p``; 2-3 for short-acting opioids).
    baseline_mean : float
        Mean of the day-0 (pre-dose) score.
    baseline_link : float
        Correlation between the day-0 subject deviation and the subject effect ``u_i`` of the
        treatment days (how well baseline predicts later severity; 1 = the same effect).
    sd_subject : float
        SD of the subject random effect on the log scale (between-subject heterogeneity).
    sd_residual : float
        SD of the day-to-day residual on the log scale.
    rho : float
        AR(1) correlation of the residuals on consecutive days (within-subject correlation).
    """

    instrument: str = "sows_gossop"
    days: int = 7
    floor_level: float = 1.0
    amplitude: float = 12.0
    peak_day: float = 2.5
    baseline_mean: float = 6.0
    baseline_link: float = 1.0
    sd_subject: float = 0.6
    sd_residual: float = 0.45
    rho: float = 0.6


@dataclass(frozen=True)
class DropoutParams:
    """Discrete-time dropout hazards shared by all arms (arm-specific AE hazards live on the arm).

    Attributes
    ----------
    loe_intercept, loe_slope, loe_centre : float
        Lack-of-efficacy hazard ``expit(loe_intercept + loe_slope * (score - loe_centre))`` on the
        day's score (MNAR).
    other_hazard : float
        Daily non-informative hazard (withdrawal of consent, personal or other reasons).
    """

    loe_intercept: float = -3.0
    loe_slope: float = 0.15
    loe_centre: float = 10.0
    other_hazard: float = 0.055


@dataclass(frozen=True)
class ArmModel:
    """One arm of a simulated trial.

    Attributes
    ----------
    id, label : str
        Arm id (as in the protocol) and a readable label.
    n : int
        Participants in the arm.
    drug_class : str
        Protocol drug class (``placebo``, ``lofexidine``, ``buprenorphine``, ``kratom_product``...).
    effect : float
        Fractional reduction of the withdrawal component (0 = none, 1 = abolished). Ignored when
        ``dose`` is set and the scenario has a dose-response model.
    dose : float or None
        Daily dose (mg) fed to the scenario's Emax model.
    profile : tuple of float
        Per-day multiplier of the effect (time-varying effect); empty = 1 on every day.
    ae_hazard : float
        Daily hazard of discontinuation for a study-drug adverse event.
    other_hazard : float or None
        The arm's own daily non-informative hazard (None = the scenario's
        ``dropout.other_hazard``).
    loe_log_odds : float
        Arm shift of the log-odds of lack-of-efficacy dropout not carried by the simulated score
        (symptoms the instrument does not capture); 0 = dropout depends on the score only.
    gi_confound : float
        Mean extra points on the instrument's GI items per assessment (a laxative product such as
        magnesium citrate); scored items, not withdrawal.
    gi_attribution : float
        Probability that a rater flags a GI score as attributed to the study product when the
        product added GI points.
    """

    id: str
    label: str
    n: int
    drug_class: str = "placebo"
    effect: float = 0.0
    dose: float | None = None
    profile: tuple[float, ...] = ()
    ae_hazard: float = 0.0
    loe_log_odds: float = 0.0
    other_hazard: float | None = None
    gi_confound: float = 0.0
    gi_attribution: float = 0.5


@dataclass(frozen=True)
class DoseResponse:
    """Emax model of the effect in the daily dose: ``effect = emax * dose / (ed50 + dose)``."""

    emax: float
    ed50: float

    def effect(self, dose: float) -> float:
        return self.emax * dose / (self.ed50 + dose)


@dataclass(frozen=True)
class AnalysisSettings:
    """Primary analysis attached to every simulated trial.

    Attributes
    ----------
    control : str
        Control arm id.
    days : tuple of int
        Primary days; the endpoint is the arm-vs-control LS-mean difference averaged over them.
    alpha : float
        Two-sided significance level.
    covariates : tuple of str
        ``baseline`` (day-0 score) is supported.
    """

    control: str = "PBO"
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    alpha: float = 0.05
    covariates: tuple[str, ...] = ("baseline",)


@dataclass(frozen=True)
class Scenario:
    """A complete simulation scenario: arms, trajectory, dropout and analysis.

    Examples
    --------
    >>> from taperwise.simulate import load_scenario
    >>> sc = load_scenario("lofexidine-phase3")
    >>> [a.id for a in sc.arms], [a.n for a in sc.arms]
    (['PBO', 'LFX216', 'LFX288'], [151, 229, 222])
    """

    name: str
    arms: tuple[ArmModel, ...]
    trajectory: TrajectoryParams = field(default_factory=TrajectoryParams)
    dropout: DropoutParams = field(default_factory=DropoutParams)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    dose_response: DoseResponse | None = None
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def arm(self, arm_id: str) -> ArmModel:
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise ValidationError(
            f"scenario '{self.name}' has no arm '{arm_id}'; arms: {', '.join(self.arm_ids)}"
        )

    @property
    def arm_ids(self) -> list[str]:
        return [a.id for a in self.arms]

    def arm_effect(self, arm: ArmModel) -> float:
        """The arm's fractional reduction (from the Emax model when the arm has a dose)."""
        if arm.dose is not None and self.dose_response is not None:
            return self.dose_response.effect(arm.dose)
        return arm.effect

    def with_n(self, n_per_arm: int | dict[str, int] | None) -> Scenario:
        """The same scenario with other arm sizes (one size for all arms, or a mapping)."""
        if n_per_arm is None:
            return self
        sizes = n_per_arm if isinstance(n_per_arm, dict) else {a.id: n_per_arm for a in self.arms}
        return replace(self, arms=tuple(replace(a, n=int(sizes.get(a.id, a.n))) for a in self.arms))

    def with_arm(self, arm_id: str, **changes: Any) -> Scenario:
        """The same scenario with fields of one arm changed (e.g. ``effect=0.2``)."""
        self.arm(arm_id)
        arms = tuple(replace(a, **changes) if a.id == arm_id else a for a in self.arms)
        return replace(self, arms=arms)

    def null(self) -> Scenario:
        """The scenario under the null hypothesis of the primary endpoint.

        Every arm gets the control arm's withdrawal effect and lack-of-efficacy log-odds shift
        (efficacy not carried by the score) and no GI confounding; adverse-event and
        non-informative dropout are kept (they do not act through efficacy).
        """
        control = self.arm(self.analysis.control)
        eff = self.arm_effect(control)
        arms = tuple(
            replace(
                a,
                effect=eff,
                dose=None,
                profile=control.profile,
                gi_confound=0.0,
                loe_log_odds=control.loe_log_odds,
            )
            for a in self.arms
        )
        return replace(self, name=f"{self.name}:null", arms=arms)

    def validate(self) -> Scenario:
        """Check ranges; raise :class:`ValidationError` naming the field and what is allowed."""
        from taperwise.instruments import get_instrument

        t = self.trajectory
        try:
            get_instrument(t.instrument)
        except Exception as exc:
            raise ValidationError(f"scenario '{self.name}' trajectory.instrument: {exc}") from exc
        checks = [
            ("trajectory.days", t.days >= 1, "an integer >= 1"),
            ("trajectory.peak_day", t.peak_day > 0, "> 0"),
            ("trajectory.amplitude", t.amplitude >= 0, ">= 0"),
            ("trajectory.sd_subject", t.sd_subject >= 0, ">= 0"),
            ("trajectory.sd_residual", t.sd_residual >= 0, ">= 0"),
            ("trajectory.rho", -1 < t.rho < 1, "between -1 and 1 (exclusive)"),
            ("trajectory.baseline_link", -1 <= t.baseline_link <= 1, "between -1 and 1"),
            ("dropout.other_hazard", 0 <= self.dropout.other_hazard < 1, "in [0, 1)"),
            ("analysis.alpha", 0 < self.analysis.alpha < 0.5, "in (0, 0.5)"),
        ]
        for a in self.arms:
            eff = self.arm_effect(a)
            checks += [
                (f"arms.{a.id}.n", a.n >= 2, "an integer >= 2"),
                (f"arms.{a.id}.effect", -1 < eff <= 1, "in (-1, 1]"),
                (f"arms.{a.id}.ae_hazard", 0 <= a.ae_hazard < 1, "in [0, 1)"),
                (
                    f"arms.{a.id}.other_hazard",
                    a.other_hazard is None or 0 <= a.other_hazard < 1,
                    "empty or in [0, 1)",
                ),
                (f"arms.{a.id}.gi_confound", a.gi_confound >= 0, ">= 0"),
                (f"arms.{a.id}.gi_attribution", 0 <= a.gi_attribution <= 1, "in [0, 1]"),
                (
                    f"arms.{a.id}.profile",
                    not a.profile or len(a.profile) >= t.days,
                    f"empty or at least {t.days} values",
                ),
            ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValidationError(f"scenario '{self.name}' {name}: must be {allowed}")
        if self.analysis.control not in self.arm_ids:
            raise ValidationError(
                f"scenario '{self.name}' analysis.control '{self.analysis.control}' is not an arm; "
                f"arms: {', '.join(self.arm_ids)}"
            )
        bad = [d for d in self.analysis.days if not 1 <= d <= t.days]
        if bad:
            raise ValidationError(
                f"scenario '{self.name}' analysis.days {bad}: allowed 1..{t.days}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
