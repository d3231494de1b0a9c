"""Scenario files: the built-in scenarios, user YAML files and scenarios derived from a protocol.

A scenario file is YAML with ``name``, ``arms`` (list), ``trajectory``, ``dropout``, ``analysis``
and optionally ``dose_response`` mappings whose keys are the fields of the dataclasses in
:mod:`taperwise.simulate.params`. Unknown keys are an error naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from taperwise.errors import DefinitionError, NotFoundError
from taperwise.simulate.params import (
    AnalysisSettings,
    ArmModel,
    DoseResponse,
    DropoutParams,
    Scenario,
    TrajectoryParams,
)

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

#: Default fractional reduction of the withdrawal component by drug class when a scenario is
#: derived from a protocol. lofexidine/clonidine: the calibrated 2.88 mg/day lofexidine value;
#: buprenorphine/methadone: assumption (larger than alpha-2 agonists, Gowing 2017); the candidate
#: (kratom_product) and "other" have NO effect unless the user sets one.
CLASS_EFFECT = {
    "placebo": 0.0,
    "lofexidine": 0.33,
    "clonidine": 0.33,
    "buprenorphine": 0.45,
    "methadone": 0.45,
    "kratom_product": 0.0,
    "other": 0.0,
}

#: Default daily AE-discontinuation hazard by drug class (lofexidine: calibrated to Fishman 2019
#: Table 2; others: assumption).
CLASS_AE_HAZARD = {
    "placebo": 0.002,
    "lofexidine": 0.02,
    "clonidine": 0.02,
    "buprenorphine": 0.005,
    "methadone": 0.005,
    "kratom_product": 0.01,
    "other": 0.01,
}

#: Default arm shift of the lack-of-efficacy log-odds by drug class (lofexidine: mean of the two
#: calibrated doses; buprenorphine: calibrated to 7-day completion 0.64; others 0).
CLASS_LOE_LOG_ODDS = {"lofexidine": -1.18, "clonidine": -1.18, "buprenorphine": -1.47195}

#: Default arm non-informative hazard by drug class (None = the scenario's; assumption).
CLASS_OTHER_HAZARD = {"buprenorphine": 0.04, "methadone": 0.04}

#: Default mean extra GI points per assessment for magnesium-containing products (assumption).
MAGNESIUM_GI_CONFOUND = {"sows_gossop": 0.6, "cows": 0.8}


def builtin_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _build(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: expected a mapping")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise DefinitionError(f"{where}: unknown key '{unknown[0]}'; allowed: {', '.join(names)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Build and validate a :class:`Scenario` from a mapping (the YAML document)."""
    if not isinstance(data, dict):
        raise DefinitionError(f"{source}: a scenario is a mapping")
    allowed = {
        "name",
        "description",
        "sources",
        "arms",
        "trajectory",
        "dropout",
        "analysis",
        "dose_response",
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise DefinitionError(
            f"{source}: unknown key '{unknown[0]}'; allowed: {', '.join(sorted(allowed))}"
        )
    arms_raw = data.get("arms") or []
    if not isinstance(arms_raw, list) or not arms_raw:
        raise DefinitionError(f"{source}: arms must be a non-empty list")
    arms = tuple(_build(ArmModel, a, f"{source}: arms[{i}]") for i, a in enumerate(arms_raw))
    dose_response = data.get("dose_response")
    scenario = Scenario(
        name=str(data.get("name", Path(source).stem)),
        arms=arms,
        trajectory=_build(TrajectoryParams, data.get("trajectory"), f"{source}: trajectory"),
        dropout=_build(DropoutParams, data.get("dropout"), f"{source}: dropout"),
        analysis=_build(AnalysisSettings, data.get("analysis"), f"{source}: analysis"),
        dose_response=None
        if dose_response is None
        else _build(DoseResponse, dose_response, f"{source}: dose_response"),
        description=str(data.get("description", "")),
        sources={str(k): str(v) for k, v in (data.get("sources") or {}).items()},
    )
    return scenario.validate()


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario YAML file.

    Examples
    --------
    >>> from taperwise.simulate import load_scenario
    >>> load_scenario("kmc-vs-buprenorphine-vs-placebo").arm("KMC").effect
    0.0
    """
    text = str(name_or_path)
    path = SCENARIO_DIR / f"{text}.yaml"
    if not path.exists():
        path = Path(text)
        if not path.exists():
            raise NotFoundError(
                f"scenario '{text}' not found; built-in: {', '.join(builtin_scenarios())}, "
                "or give a scenario YAML file"
            )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DefinitionError(f"{path}{line}: not valid YAML ({exc})") from exc
    return scenario_from_dict(data, str(path))


def scenario_from_protocol(
    protocol: Any,
    *,
    n_per_arm: int | None = None,
    effects: dict[str, float] | None = None,
    base: str = "kmc-vs-buprenorphine-vs-placebo",
) -> Scenario:
    """A scenario for a :class:`~taperwise.protocol.Protocol`: its arms, days, instrument and SAP.

    Trajectory and dropout parameters come from the built-in scenario ``base`` (rescaled to the
    protocol's primary instrument when it differs); each arm gets the default effect of its drug
    class (:data:`CLASS_EFFECT`; the candidate product has none) unless ``effects`` names one.
    """
    effects = dict(effects or {})
    template = load_scenario(base)
    instrument = protocol.sap.primary_instrument
    trajectory = template.trajectory
    dropout = template.dropout
    if instrument != trajectory.instrument:
        from taperwise.simulate.model import instrument_max

        scale = instrument_max(instrument) / instrument_max(trajectory.instrument)
        trajectory = dataclasses.replace(
            trajectory,
            instrument=instrument,
            floor_level=trajectory.floor_level * scale,
            amplitude=trajectory.amplitude * scale,
            baseline_mean=trajectory.baseline_mean * scale,
        )
        dropout = dataclasses.replace(
            dropout, loe_slope=dropout.loe_slope / scale, loe_centre=dropout.loe_centre * scale
        )
    trajectory = dataclasses.replace(trajectory, days=int(protocol.schedule.days))
    ratio = dict(protocol.randomisation.ratio or {})
    arms = []
    for arm in protocol.arms:
        n = n_per_arm if n_per_arm is not None else 50 * int(ratio.get(arm.id, 1))
        arms.append(
            ArmModel(
                id=arm.id,
                label=arm.name,
                n=int(n),
                drug_class=arm.drug_class,
                effect=float(effects.get(arm.id, CLASS_EFFECT.get(arm.drug_class, 0.0))),
                ae_hazard=CLASS_AE_HAZARD.get(arm.drug_class, 0.01),
                loe_log_odds=CLASS_LOE_LOG_ODDS.get(arm.drug_class, 0.0),
                other_hazard=CLASS_OTHER_HAZARD.get(arm.drug_class),
                gi_confound=MAGNESIUM_GI_CONFOUND.get(instrument, 0.5)
                if arm.contains_magnesium
                else 0.0,
            )
        )
    sap = protocol.sap
    analysis = AnalysisSettings(
        control=sap.control_arm,
        days=tuple(d for d in sap.primary_days if d <= trajectory.days),
        alpha=float(sap.alpha),
        covariates=("baseline",),
    )
    scenario = Scenario(
        name=f"protocol:{protocol.id}",
        arms=tuple(arms),
        trajectory=trajectory,
        dropout=dropout,
        analysis=analysis,
        description=f"derived from protocol {protocol.id} {protocol.version}",
        sources=dict(template.sources),
    )
    return scenario.validate()


def scenario_for_protocol_file(path: str | Path, **kwargs: Any) -> Scenario:
    """:func:`scenario_from_protocol` for a protocol YAML file (errors name file:line)."""
    from taperwise.protocol import load_protocol

    return scenario_from_protocol(load_protocol(path), **kwargs)
