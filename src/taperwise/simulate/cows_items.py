"""Turn a target COWS total into a plausible, valid item-level form.

Used wherever simulated data must go through the real capture path (the demo study): every item
gets a score from its allowed set (pulse 0/1/2/4, restlessness 0/1/3/5, gooseflesh 0/3/5, ...), so
the store scores, bands and checks it exactly as a bedside entry.
"""

from __future__ import annotations

import numpy as np

#: COWS items and their allowed scores (domain.md §1.2).
COWS_ALLOWED: dict[str, tuple[int, ...]] = {
    "pulse": (0, 1, 2, 4),
    "sweating": (0, 1, 2, 3, 4),
    "restlessness": (0, 1, 3, 5),
    "pupil_size": (0, 1, 2, 5),
    "bone_joint_aches": (0, 1, 2, 4),
    "runny_nose_tearing": (0, 1, 2, 4),
    "gi_upset": (0, 1, 2, 3, 5),
    "tremor": (0, 1, 2, 4),
    "yawning": (0, 1, 2, 4),
    "anxiety_irritability": (0, 1, 2, 4),
    "gooseflesh": (0, 3, 5),
}

COWS_MAX = sum(max(v) for v in COWS_ALLOWED.values())


def cows_items_for_total(
    target: float, rng: np.random.Generator, *, gi_boost: float = 0.0
) -> dict[str, int]:
    """A valid COWS form whose total is close to ``target`` (0-48).

    Each item's score is drawn from its allowed set with a probability that rises with the
    target's share of the maximum; ``gi_boost`` (0-1) shifts the GI item upward, as a laxative
    product would.
    """
    share = float(np.clip(target / COWS_MAX, 0.0, 1.0))
    items: dict[str, int] = {}
    for key, allowed in COWS_ALLOWED.items():
        level = share + (gi_boost if key == "gi_upset" else 0.0)
        level = float(np.clip(level + rng.normal(0.0, 0.12), 0.0, 1.0))
        position = level * (len(allowed) - 1)
        lower = int(np.floor(position))
        upper = min(lower + 1, len(allowed) - 1)
        pick = upper if rng.random() < position - lower else lower
        items[key] = allowed[pick]
    return items
