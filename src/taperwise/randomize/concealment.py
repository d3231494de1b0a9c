"""Allocation concealment, purely: which list entry a newly randomised participant receives.

The store keeps the list sealed and records which sequences are used; this module only decides
the next entry. Like REDCap's lookup table (trial-design.md §1.4) the next *unused* entry of the
participant's stratum, in sequence order, is assigned. A warning is returned once 80 % of a
stratum's entries are used, and an exhausted stratum raises :class:`ConflictError`: a list never
runs out silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from taperwise.errors import ConflictError, NotFoundError, ValidationError
from taperwise.randomize.blocks import AllocationEntry

log = logging.getLogger(__name__)

#: Fraction of a stratum's entries used at which :func:`next_assignment` starts warning (4/5).
WARN_NUMERATOR, WARN_DENOMINATOR = 4, 5
WARN_FRACTION = WARN_NUMERATOR / WARN_DENOMINATOR


@dataclass(frozen=True)
class Assignment:
    """The entry revealed for one participant (frozen).

    Attributes
    ----------
    entry : AllocationEntry
        The assigned list entry (its ``sequence`` must be recorded as used).
    used_after : int
        Entries of this stratum used once this one is recorded.
    size : int
        Entries of this stratum in the list.
    warning : str or None
        Set when ``used_after / size >= 0.8``: the stratum's list needs extending.
    """

    entry: AllocationEntry
    used_after: int
    size: int
    warning: str | None = None

    @property
    def arm(self) -> str:
        """The assigned arm."""
        return self.entry.arm

    @property
    def remaining(self) -> int:
        """Entries of this stratum still unused after this assignment."""
        return self.size - self.used_after


def stratum_usage(
    entries: Sequence[AllocationEntry], used_sequences: Iterable[int]
) -> dict[str, tuple[int, int]]:
    """Per stratum ``(used, size)``; for a dashboard of how close each stratum is to exhaustion."""
    used = set(used_sequences)
    usage: dict[str, list[int]] = {}
    for entry in entries:
        counts = usage.setdefault(entry.stratum, [0, 0])
        counts[1] += 1
        counts[0] += entry.sequence in used
    return {k: (v[0], v[1]) for k, v in usage.items()}


def next_assignment(
    entries: Sequence[AllocationEntry], used_sequences: set[int], stratum: str
) -> Assignment:
    """The next unused entry of ``stratum`` (lowest sequence number not yet used).

    Parameters
    ----------
    entries : sequence of AllocationEntry
        The whole allocation list (all strata).
    used_sequences : set of int
        Sequence numbers already assigned (any stratum). Each must exist in ``entries``.
    stratum : str
        The participant's stratum key (see :func:`taperwise.randomize.stratum_key`); ``""``
        for an unstratified list.

    Returns
    -------
    Assignment
        With ``warning`` set once 80 % or more of the stratum is used.

    Raises
    ------
    NotFoundError
        The stratum is not in the list.
    ConflictError
        Every entry of the stratum is used (the list must be extended first).
    ValidationError
        A used sequence number is not in the list, or the list repeats a sequence number.

    Examples
    --------
    >>> from taperwise.randomize import generate_block_list
    >>> lst = generate_block_list(arms=["A", "B"], block_sizes=[2, 4], n_per_stratum=10, seed=1)
    >>> a = next_assignment(lst.entries, set(), "")
    >>> a.entry.sequence, a.used_after, a.warning is None
    (1, 1, True)
    """
    known: set[int] = set()
    in_stratum: list[AllocationEntry] = []
    for entry in entries:
        if entry.sequence in known:
            raise ValidationError(
                f"allocation list: sequence {entry.sequence} appears more than once"
            )
        known.add(entry.sequence)
        if entry.stratum == stratum:
            in_stratum.append(entry)
    unknown = sorted(set(used_sequences) - known)
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise ValidationError(f"used sequence(s) {shown} are not in the allocation list")
    if not in_stratum:
        strata = sorted({e.stratum for e in entries})
        shown = ", ".join(repr(s) for s in strata[:8]) + (" ..." if len(strata) > 8 else "")
        raise NotFoundError(f"stratum {stratum!r} is not in the allocation list; strata: {shown}")
    in_stratum.sort(key=lambda e: e.sequence)
    size = len(in_stratum)
    used = sum(1 for e in in_stratum if e.sequence in used_sequences)
    nxt = next((e for e in in_stratum if e.sequence not in used_sequences), None)
    label = stratum if stratum else "(unstratified)"
    if nxt is None:
        raise ConflictError(
            f"allocation list exhausted for stratum {label}: all {size} entries used; "
            "extend the list (new seed) before randomising anyone else in this stratum"
        )
    used_after = used + 1
    warning = None
    # Integer test (5 * used >= 4 * size) so 48 of 60 warns exactly at 80 %.
    if used_after * WARN_DENOMINATOR >= WARN_NUMERATOR * size:
        warning = (
            f"stratum {label}: {used_after} of {size} allocation entries used "
            f"({100 * used_after / size:.0f} %), {size - used_after} left; extend the list"
        )
        log.warning("allocation list for a stratum is %.0f %% used", 100 * used_after / size)
    return Assignment(entry=nxt, used_after=used_after, size=size, warning=warning)
