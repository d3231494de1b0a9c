"""Randomisation: seeded allocation lists, Pocock-Simon minimisation, concealment (pure).

Nothing here touches a database or a file; the store reveals assignments through
:func:`next_assignment` and records what it reveals (trial-design.md §1).

Examples
--------
>>> from taperwise.randomize import generate_block_list, next_assignment, stratum_key
>>> lst = generate_block_list(arms=["KMC", "BUP", "PBO"], ratio=[1, 1, 1], block_sizes=[3, 6],
...                           strata={"site": ["a", "b"]}, n_per_stratum=6, seed=11)
>>> key = stratum_key({"site": "b"}, ["site"])
>>> next_assignment(lst.entries, set(), key).entry.stratum
'site=b'
"""

from taperwise.randomize.blocks import (
    AllocationEntry,
    AllocationList,
    generate_block_list,
    read_allocation_csv,
    stratum_key,
    stratum_keys,
)
from taperwise.randomize.concealment import Assignment, next_assignment, stratum_usage
from taperwise.randomize.minimisation import (
    IMBALANCE_METHODS,
    MinimisationResult,
    Minimiser,
    assignment_probabilities,
    imbalance,
    minimisation_scores,
)

__all__ = [
    "IMBALANCE_METHODS",
    "AllocationEntry",
    "AllocationList",
    "Assignment",
    "MinimisationResult",
    "Minimiser",
    "assignment_probabilities",
    "generate_block_list",
    "imbalance",
    "minimisation_scores",
    "next_assignment",
    "read_allocation_csv",
    "stratum_key",
    "stratum_keys",
    "stratum_usage",
]
