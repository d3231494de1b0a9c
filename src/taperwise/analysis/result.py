"""The frozen :class:`AnalysisResult` (results.json) of one SAP run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from taperwise.jsonout import to_jsonable

#: Top-level keys of results.json, in order.
RESULT_KEYS = (
    "study",
    "arms",
    "primary",
    "completion",
    "time_to_dropout",
    "scores",
    "trajectories",
    "adverse_events",
    "holds",
    "alerts",
    "consort",
    "sensitivity",
    "notes",
    "provenance",
)


@dataclass(frozen=True)
class AnalysisResult:
    """What :func:`taperwise.analysis.run_sap` computed, with where it came from.

    Every block is plain JSON-able data (dicts and lists); ``to_json()`` is ``results.json``.
    Blocks not computed (``primary_only`` runs, no sensitivity) are ``None``.

    Examples
    --------
    >>> from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
    >>> res = run_sap(synthetic_dataset(n_per_arm=10, seed=2), synthetic_sap(days=[1, 2, 3]),
    ...               sensitivity=False)
    >>> res.primary["contrasts"][0]["arm"], sorted(res.consort["randomised"])
    ('ACT', ['ACT', 'PBO'])
    """

    study: str | None
    arms: list[dict[str, Any]]
    primary: dict[str, Any] | None
    completion: dict[str, Any] | None = None
    time_to_dropout: dict[str, Any] | None = None
    scores: dict[str, Any] | None = None
    trajectories: list[dict[str, Any]] | None = None
    adverse_events: dict[str, Any] | None = None
    holds: dict[str, Any] | None = None
    alerts: dict[str, Any] | None = None
    consort: dict[str, Any] | None = None
    sensitivity: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    report_html: str | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """results.json as a dict (JSON types only; NaN becomes None)."""
        return to_jsonable({key: getattr(self, key) for key in RESULT_KEYS})

    def to_json(self, *, indent: int | None = 2) -> str:
        """results.json text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)
