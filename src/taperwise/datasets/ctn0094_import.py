"""Load the CTN-0094 trials into a study store (`taperwise import ctn0094 DIR --db URL`).

Each trial becomes a study (``ctn0027``, ``ctn0030``, ``ctn0051``) with a generated protocol that
names its arms as in the source data. The arms are the trials' own (first randomisation); no
allocation list is generated because allocation already happened in the source trial. Rows are
bulk-loaded by :func:`taperwise.store.load.load_dataset` on its synthetic clock (day 1 =
randomisation day). The regimen limits in the generated protocols are wide bounds used only for
record keeping; they are not the trials' dosing rules and the importer never checks doses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from taperwise.analysis_dataset import AnalysisDataset

#: (arm id, source treatment name, drug class, unit, max single, max daily)
ARMS: dict[str, list[tuple[str, str, str, str, float, float]]] = {
    "ctn0027": [
        ("METHADONE", "Methadone", "methadone", "mg", 1000, 1000),
        ("BUP", "Outpatient BUP", "buprenorphine", "mg", 64, 64),
    ],
    "ctn0030": [
        ("BUP_EMM", "Outpatient BUP + EMM", "buprenorphine", "mg", 64, 64),
        ("BUP_SMM", "Outpatient BUP + SMM", "buprenorphine", "mg", 64, 64),
    ],
    "ctn0051": [
        ("BUP_INPT", "Inpatient BUP", "buprenorphine", "mg", 64, 64),
        ("XRNTX", "Inpatient NR-NTX", "other", "injection", 1, 1),
    ],
}
TITLES = {
    "ctn0027": "CTN-0027 START: methadone vs buprenorphine-naloxone (imported, public.ctn0094data 1.0.6)",
    "ctn0030": "CTN-0030 POATS phase 1: buprenorphine-naloxone with enhanced vs standard medical management (imported)",
    "ctn0051": "CTN-0051 X:BOT: extended-release naltrexone vs buprenorphine-naloxone (imported)",
}
CONTROL = {"ctn0027": "BUP", "ctn0030": "BUP_SMM", "ctn0051": "BUP_INPT"}


def protocol_yaml(study: str) -> str:
    """A protocol document describing an imported CTN trial."""
    arms = [
        {
            "id": arm_id,
            "name": name,
            "product": name,
            "ingredients": ["naltrexone"] if arm_id == "XRNTX" else [drug_class],
            "drug_class": drug_class,
            "blinded_label": arm_id,  # open-label trials
            "regimen": {
                "unit": unit,
                "route": "intramuscular"
                if arm_id == "XRNTX"
                else ("oral" if drug_class == "methadone" else "sublingual"),
                "doses_per_day": 1,
                "max_single_dose": single,
                "max_daily_dose": daily,
            },
        }
        for arm_id, name, drug_class, unit, single, daily in ARMS[study]
    ]
    document = {
        "id": study,
        "version": "ctn0094-1.0.6",
        "title": TITLES[study],
        "description": "Imported from the NIDA CTN-0094 harmonised data (R package public.ctn0094data 1.0.6, MIT). "
        "Arms are the source trial's first randomisation; regimen limits are wide record-keeping bounds, not the trial's dosing rules.",
        "sites": ["unknown"],
        "opioid_class_default": "short_acting",
        "arms": arms,
        "schedule": {
            "instruments": ["withdrawal_band"],
            "days": 28,
            "timepoints": [{"name": "daily", "offset_minutes": 0, "anchor": "daily"}],
        },
        "randomisation": {
            "method": "permuted_blocks",
            "ratio": {a[0]: 1 for a in ARMS[study]},
            "block_sizes": [2, 4],
            "n_per_stratum": 2000,
        },
        "sap": {
            "primary_instrument": "withdrawal_band",
            "primary_days": list(range(1, 15)),
            "covariates": ["baseline"],
            "control_arm": CONTROL[study],
            "covariance": "ar1",
            "covariance_fallbacks": ["cs"],
            "sensitivity": [],
        },
    }
    return yaml.safe_dump(document, sort_keys=False)


def with_arm_ids(study: str, dataset: AnalysisDataset) -> AnalysisDataset:
    """Replace the source treatment names by the protocol's arm ids."""
    mapping = {name: arm_id for arm_id, name, *_ in ARMS[study]}
    parts: dict[str, Any] = {}
    for table, frame in dataset.tables().items():
        frame = frame.copy()
        if "arm" in frame.columns and len(frame):
            frame["arm"] = frame["arm"].map(
                lambda v: mapping.get(v, v) if isinstance(v, str) else v
            )
        parts[table] = frame
    return AnalysisDataset(**parts, meta=dataset.meta)


@dataclass(frozen=True)
class ImportSummary:
    study: str
    randomised: dict[str, int]
    counts: dict[str, int]


def import_ctn0094(
    engine: Any,
    folder: str | Path,
    *,
    actor: Any,
    studies: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ImportSummary]:
    """Create the three CTN studies in ``engine`` and bulk-load their data (one transaction each)."""
    from taperwise.datasets.ctn0094 import read_ctn0094
    from taperwise.store.engine import transaction
    from taperwise.store.load import load_dataset
    from taperwise.store.studies import create_study

    data = read_ctn0094(folder)
    summaries: list[ImportSummary] = []
    for study in studies or sorted(data):
        dataset = with_arm_ids(study, data[study])
        if progress:
            progress(study)
        with transaction(engine) as session:
            create_study(
                session,
                actor,
                protocol_text=protocol_yaml(study),
                source=f"{study} (generated)",
                allocation_list=False,
            )
            counts = load_dataset(session, actor, study_id=study, dataset=dataset)
        randomised = dataset.participants[dataset.participants["randomised"].astype(bool)]
        summaries.append(
            ImportSummary(
                study,
                {str(k): int(v) for k, v in randomised["arm"].value_counts().sort_index().items()},
                counts,
            )
        )
    return summaries
