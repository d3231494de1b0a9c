"""The SAP run on an analysis dataset (issue 6): primary MMRM, secondary endpoints, safety
tables, sensitivity analyses and CONSORT counts, returned as one frozen :class:`AnalysisResult`.

The pipeline reads only an :class:`~taperwise.analysis_dataset.AnalysisDataset` (DESIGN.md §1): a
store export, a dataset folder, the CTN-0094 import or a simulated trial all go through the same
code. Results are stated as measured, with their uncertainty; nothing here claims efficacy.

Examples
--------
>>> from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
>>> ds = synthetic_dataset(n_per_arm=12, effects={"ACT": -3.0}, seed=4)
>>> res = run_sap(ds, synthetic_sap(days=[1, 2, 3]), sensitivity=False)
>>> [c["arm"] for c in res.primary["contrasts"]]
['ACT']
"""

from __future__ import annotations

from taperwise.analysis._synthetic import synthetic_dataset
from taperwise.analysis.batch import run_primary_many
from taperwise.analysis.pipeline import run_primary, run_sap
from taperwise.analysis.result import RESULT_KEYS, AnalysisResult


def synthetic_sap(
    *,
    days: list[int] | None = None,
    covariates: list[str] | None = None,
    control: str = "PBO",
    covariance: str = "us",
    instrument: str = "cows",
    responder_threshold: float | None = 8.0,
):
    """An SAP for :func:`synthetic_dataset` data (COWS, days 1-7, baseline + site, control PBO).

    Examples
    --------
    >>> synthetic_sap(days=[1, 2]).primary_days
    [1, 2]
    """
    from taperwise.protocol import SAP

    return SAP(
        primary_instrument=instrument,
        primary_days=list(days or range(1, 8)),
        covariates=list(["baseline", "site"] if covariates is None else covariates),
        control_arm=control,
        covariance=covariance,
        responder_threshold=responder_threshold,
    )


__all__ = [
    "RESULT_KEYS",
    "AnalysisResult",
    "run_primary",
    "run_primary_many",
    "run_sap",
    "synthetic_dataset",
    "synthetic_sap",
]
