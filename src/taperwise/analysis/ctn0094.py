"""The CTN-0094 trials through the SAP pipeline: withdrawal-band trajectories and retention.

The harmonised data have no taperwise protocol, so each trial gets an SAP-only plan:
instrument ``withdrawal_band`` (0-3), days 1-14 after randomisation, no baseline covariate (almost
nobody has a band recorded before randomisation), AR(1)-first covariance because the bands are
recorded at irregular visits (an unstructured 14 x 14 matrix is not estimable from them).
Comparator ("control") arms are the buprenorphine-naloxone arms; this is a label for the
contrast direction, not a judgement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taperwise.protocol import SAP

CONTROL_ARMS = {
    "ctn0027": "Outpatient BUP",
    "ctn0030": "Outpatient BUP + SMM",
    "ctn0051": "Inpatient BUP",
}


def ctn0094_sap(study: str) -> SAP:
    """The SAP-only plan used for one CTN-0094 trial.

    Examples
    --------
    >>> ctn0094_sap("ctn0051").control_arm
    'Inpatient BUP'
    """
    return SAP(
        primary_instrument="withdrawal_band",
        primary_days=list(range(1, 15)),
        covariates=[],
        control_arm=CONTROL_ARMS[study],
        covariance="ar1",
        covariance_fallbacks=["cs"],
        sensitivity=[],
    )


def analyse_ctn0094(
    folder: str | Path, *, studies: tuple[str, ...] | None = None, sensitivity: bool = False
) -> dict[str, Any]:
    """Run :func:`~taperwise.analysis.run_sap` on each CTN-0094 trial -> {study: AnalysisResult}.

    Examples
    --------
    >>> res = analyse_ctn0094("../shared/reference-data/ctn0094")  # doctest: +SKIP
    >>> res["ctn0027"].completion["by_arm"]["Methadone"]["proportion"]  # doctest: +SKIP
    0.7315689981096408
    """
    from taperwise.analysis.pipeline import run_sap
    from taperwise.datasets.ctn0094 import read_ctn0094

    data = read_ctn0094(folder, studies=studies)
    return {sid: run_sap(ds, ctn0094_sap(sid), sensitivity=sensitivity) for sid, ds in data.items()}
