"""Per-study treatment-completion counts from published opioid-withdrawal trials.

Source: ``shared/reference/domain.md`` §5.3. Event = completion / treatment success as each
trial defined it (column ``outcome``). ``status``: ``confirmed`` (read in the primary source),
``derived`` (computed from confirmed numbers), ``derived_flagged`` (derived with an open
discrepancy; see ``derivation``). Gorodetzky 2017 is not included: its arm sizes are unconfirmed.

Caveats, stated plainly: the two Fishman 2019 rows share one placebo arm (pooling both double
counts those 151 participants), the comparisons differ (buprenorphine-naloxone vs clonidine;
lofexidine vs placebo) and the outcome definitions differ. The example pooling below is a
software demonstration, not an efficacy estimate (DESIGN.md §4).

Example
-------
>>> from taperwise.datasets.withdrawal_completion import load
>>> from taperwise.stats.meta import RMA, escalc
>>> df = load(comparison_prefix="lofexidine", exclude=["fishman2019_216"])
>>> dat = escalc("RR", ai=df["events_trt"], n1i=df["n_trt"], ci=df["events_ctl"], n2i=df["n_ctl"], data=df)
>>> res = RMA(method="REML").fit(yi=dat["yi"], vi=dat["vi"])
>>> res.k
2
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

import pandas as pd

from taperwise.errors import ValidationError

STATUSES = ("confirmed", "derived", "derived_flagged")
CSV_NAME = "withdrawal_completion.csv"

CITATION = (
    "Per-study counts collected in taperwise shared/reference/domain.md section 5.3 from: "
    "Ling W et al. Addiction 2005;100(8):1090-1100 (CTN-0001/0002); Fishman M et al. "
    "J Addict Med 2019;13(3):169-176; Yu E et al. Drug Alcohol Depend 2008 (PMID 18508207)."
)


def load(
    *,
    statuses: Iterable[str] = STATUSES,
    comparison_prefix: str | None = None,
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """The completion table: one row per study (2x2 counts, status, derivation, citation).

    Parameters
    ----------
    statuses
        Keep rows with these status flags (default: all).
    comparison_prefix
        Keep comparisons starting with this text (e.g. ``"lofexidine"``).
    exclude
        Study ids to drop (e.g. one of the two Fishman arms, which share a placebo group).
    """
    statuses = tuple(statuses)
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise ValidationError(
            f"withdrawal_completion: unknown status {bad}; allowed: {', '.join(STATUSES)}"
        )
    with _path().open("r", encoding="utf-8") as fh:
        full = pd.read_csv(fh)
    unknown = set(exclude) - set(full["study_id"])
    if unknown:
        raise ValidationError(f"withdrawal_completion: unknown study ids {sorted(unknown)}")
    df = full[full["status"].isin(statuses) & ~full["study_id"].isin(set(exclude))]
    if comparison_prefix:
        df = df[df["comparison"].str.startswith(comparison_prefix)]
    df.attrs["citation"] = CITATION
    return df.reset_index(drop=True)


def _path():  # noqa: ANN202 - importlib Traversable
    return resources.files("taperwise.datasets").joinpath(CSV_NAME)


def csv_path() -> str:
    """Filesystem path of the bundled CSV (for ``taperwise meta --data``)."""
    return str(_path())
