"""Pocock-Simon minimisation, exactly as trial-design.md §1.2 (Minirand's rule).

For a new participant with levels (l_1..l_M), x_mk is the number of already-randomised
participants in arm k with level l_m (only the participant's own levels enter). For each
candidate arm k the counts are made hypothetical (+1 in arm k), divided by the allocation ratio
r_k', and each factor's imbalance d_mk is the range, sample SD or sample variance (n-1) of the K
scaled counts. G_k = sum_m w_m d_mk. The arms attaining min G ("preferred") share probability
``p_best`` equally, the others share ``1 - p_best`` equally; if all arms tie, each gets 1/K.

The random element is one uniform draw per participant, from
``SeedSequence(seed, spawn_key=(position,))`` where ``position`` is the number of earlier
participants, so every allocation can be re-derived in an audit from the log (§1.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from taperwise.errors import ValidationError
from taperwise.provenance import provenance
from taperwise.randomize._validate import check_arms, check_factors, check_ratio, check_seed

IMBALANCE_METHODS = ("range", "sd", "variance")

#: Relative tolerance for treating two total imbalances G_k as tied (float sums of SDs).
TIE_RTOL = 1e-9


def imbalance(values: Sequence[float], method: str = "range") -> float:
    """Imbalance of one factor's (scaled) arm counts: ``range``, ``sd`` or ``variance`` (n-1).

    Examples
    --------
    >>> imbalance([4, 2, 3], "range"), imbalance([4, 2, 3], "variance")
    (2.0, 1.0)
    """
    arr = np.asarray(values, dtype=float)
    if method == "range":
        return float(arr.max() - arr.min())
    if method == "variance":
        return float(arr.var(ddof=1))
    if method == "sd":
        return float(arr.std(ddof=1))
    raise ValidationError(f"method: got '{method}'; allowed {', '.join(IMBALANCE_METHODS)}")


def minimisation_scores(
    counts: Sequence[Sequence[float]],
    *,
    ratio: Sequence[int] | None = None,
    weights: Sequence[float] | None = None,
    method: str = "range",
) -> list[float]:
    """Total imbalance G_k for assigning the new participant to each arm k.

    Parameters
    ----------
    counts : M x K nested sequence
        ``counts[m][k]`` = participants already in arm k with the new participant's level of factor m.
    ratio : sequence of int, optional
        Allocation ratio (counts are divided by it); default equal.
    weights : sequence of float, optional
        Factor weights w_m; default 1.
    method : {"range", "sd", "variance"}

    Examples
    --------
    >>> minimisation_scores([[3, 2, 3], [4, 5, 4], [2, 3, 3], [1, 1, 2]])
    [4.0, 5.0, 7.0]
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2:
        raise ValidationError("counts: need one row per factor and one column per arm")
    n_factors, n_arms = table.shape
    r = np.asarray(ratio if ratio is not None else [1] * n_arms, dtype=float)
    w = np.asarray(weights if weights is not None else [1.0] * n_factors, dtype=float)
    if r.shape != (n_arms,) or w.shape != (n_factors,):
        raise ValidationError(
            f"counts are {n_factors} factors x {n_arms} arms but got {r.size} ratio parts and {w.size} weights"
        )
    scores = []
    for k in range(n_arms):
        hypothetical = table.copy()
        hypothetical[:, k] += 1.0
        scaled = hypothetical / r
        scores.append(float(sum(w[m] * imbalance(scaled[m], method) for m in range(n_factors))))
    return scores


def assignment_probabilities(
    scores: Sequence[float], p_best: float
) -> tuple[list[float], list[int]]:
    """Minirand's probabilities from the scores: preferred arms share ``p_best``, others ``1 - p_best``.

    Returns the probability per arm and the indices of the preferred (minimum-G) arms. When every
    arm ties, each gets 1/K (uniform, not by allocation ratio, as Minirand does).

    Examples
    --------
    >>> assignment_probabilities([2.5, 2.5, 4.0], 0.8)
    ([0.4, 0.4, 0.2], [0, 1])
    """
    g = [float(s) for s in scores]
    best = min(g)
    tol = TIE_RTOL * max(1.0, abs(best))
    preferred = [k for k, v in enumerate(g) if v - best <= tol]
    n_arms, n_pref = len(g), len(preferred)
    if n_pref == n_arms:
        return [1.0 / n_arms] * n_arms, preferred
    # Exact decimal arithmetic on p as written, so 1 - 0.8 is 0.2 rather than 0.19999999999999996.
    p = Fraction(repr(float(p_best)))
    p_pref = float(p / n_pref)
    p_other = float((1 - p) / (n_arms - n_pref))
    return [p_pref if k in preferred else p_other for k in range(n_arms)], preferred


@dataclass(frozen=True)
class MinimisationResult:
    """One minimisation allocation with everything needed to re-derive it (frozen).

    Attributes
    ----------
    arm : str
        Allocated arm.
    position : int
        Number of participants allocated before this one (selects the seeded draw).
    levels : dict
        The participant's factor levels used.
    counts : dict
        factor -> arm -> x_mk, counts at the participant's levels before allocation.
    scores : dict
        arm -> total imbalance G_k.
    probabilities : dict
        arm -> assignment probability.
    preferred : tuple of str
        Arms attaining min G.
    draw : float
        The uniform draw u; the arm is the first whose cumulative probability exceeds u.
    """

    arm: str
    position: int
    levels: dict[str, str]
    counts: dict[str, dict[str, int]]
    scores: dict[str, float]
    probabilities: dict[str, float]
    preferred: tuple[str, ...]
    draw: float
    provenance: dict[str, Any] = field(repr=False, default_factory=dict)


class Minimiser:
    """Pocock-Simon minimisation (trial-design.md §1.2).

    Options only; :meth:`assign` validates and computes.

    Parameters
    ----------
    arms : list of str
    factors : dict
        Prognostic factor -> allowed levels.
    ratio : list of int, optional
        Allocation ratio (counts divided by r_k); default equal.
    weights : dict or list, optional
        Factor weights (by name, or in factor order); default 1 each.
    method : {"range", "sd", "variance"}
        Imbalance measure; ``range`` is Pocock-Simon's main proposal.
    p_best : float
        Probability shared by the preferred arms, 0 < p <= 1 (default 0.8; carat and covadap
        use 0.85; 1 is deterministic, which ICH E9 discourages).
    seed : int
        Seed of the per-participant uniform draws.

    Examples
    --------
    >>> m = Minimiser(arms=["A", "B"], factors={"sex": ["F", "M"]}, seed=3)
    >>> history = [({"sex": "F"}, "A")]
    >>> r = m.assign({"sex": "F"}, history)
    >>> r.scores, r.probabilities
    ({'A': 2.0, 'B': 0.0}, {'A': 0.2, 'B': 0.8})
    """

    def __init__(
        self,
        *,
        arms: list[str],
        factors: dict[str, list[str]],
        ratio: list[int] | None = None,
        weights: Mapping[str, float] | Sequence[float] | None = None,
        method: str = "range",
        p_best: float = 0.8,
        seed: int = 0,
    ) -> None:
        self.arms = arms
        self.factors = factors
        self.ratio = ratio
        self.weights = weights
        self.method = method
        self.p_best = p_best
        self.seed = seed

    # -- validation -------------------------------------------------------------------------
    def _checked(self) -> tuple[list[str], dict[str, list[str]], list[int], list[float]]:
        arms = check_arms(self.arms)
        factors = check_factors(self.factors, what="factors")
        if not factors:
            raise ValidationError("factors: minimisation needs at least one prognostic factor")
        ratio = check_ratio(self.ratio, len(arms))
        names = list(factors)
        if self.weights is None:
            weights = [1.0] * len(names)
        elif isinstance(self.weights, Mapping):
            extra = sorted(set(self.weights) - set(names))
            if extra:
                raise ValidationError(
                    f"weights: unknown factor(s) {', '.join(extra)}; factors are {', '.join(names)}"
                )
            weights = [float(self.weights.get(n, 1.0)) for n in names]
        else:
            weights = [float(w) for w in self.weights]
            if len(weights) != len(names):
                raise ValidationError(
                    f"weights: got {len(weights)} for {len(names)} factors ({', '.join(names)})"
                )
        for name, w in zip(names, weights, strict=True):
            if not math.isfinite(w) or w < 0:
                raise ValidationError(
                    f"weights: factor '{name}' got {w}; allowed a finite number >= 0"
                )
        if self.method not in IMBALANCE_METHODS:
            raise ValidationError(
                f"method: got '{self.method}'; allowed {', '.join(IMBALANCE_METHODS)}"
            )
        p = float(self.p_best)
        if not (0.0 < p <= 1.0):
            raise ValidationError(
                f"p_best: got {self.p_best}; allowed 0 < p <= 1 (0.8 or 0.85 usual)"
            )
        check_seed(self.seed)
        return arms, factors, ratio, weights

    @staticmethod
    def _check_levels(
        levels: Mapping[str, str], factors: dict[str, list[str]], where: str
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, allowed in factors.items():
            if name not in levels:
                raise ValidationError(
                    f"{where}: factor '{name}' missing; allowed levels {', '.join(allowed)}"
                )
            value = str(levels[name]).strip()
            if value not in allowed:
                raise ValidationError(
                    f"{where}: factor '{name}' got '{value}'; allowed {', '.join(allowed)}"
                )
            out[name] = value
        return out

    def draw(self, position: int) -> float:
        """The uniform draw used for the participant at ``position`` (0-based)."""
        seq = np.random.SeedSequence(check_seed(self.seed), spawn_key=(int(position),))
        return float(np.random.Generator(np.random.PCG64(seq)).random())

    # -- allocation -------------------------------------------------------------------------
    def assign(
        self,
        levels: Mapping[str, str],
        history: Sequence[tuple[Mapping[str, str], str]],
        *,
        draw: float | None = None,
    ) -> MinimisationResult:
        """Allocate one participant given everyone allocated before.

        Parameters
        ----------
        levels : dict
            The new participant's level of every factor.
        history : list of (levels, arm)
            Earlier participants in allocation order.
        draw : float, optional
            Override the seeded uniform draw (to re-derive a logged allocation).

        Returns
        -------
        MinimisationResult
        """
        checked = self._checked()
        arms, factors = checked[0], checked[1]
        own = self._check_levels(levels, factors, "participant")
        index = {a: i for i, a in enumerate(arms)}
        counts = np.zeros((len(factors), len(arms)))
        for j, (past_levels, past_arm) in enumerate(history):
            if past_arm not in index:
                raise ValidationError(
                    f"history[{j}]: arm '{past_arm}' unknown; allowed {', '.join(arms)}"
                )
            past = self._check_levels(past_levels, factors, f"history[{j}]")
            for m, name in enumerate(factors):
                if past[name] == own[name]:
                    counts[m, index[past_arm]] += 1
        return self._allocate(checked, own, counts, len(history), draw)

    def _allocate(
        self,
        checked: tuple[list[str], dict[str, list[str]], list[int], list[float]],
        own: dict[str, str],
        counts: np.ndarray,
        position: int,
        draw: float | None,
    ) -> MinimisationResult:
        arms, factors, ratio, weights = checked
        scores = minimisation_scores(counts, ratio=ratio, weights=weights, method=self.method)
        probs, preferred = assignment_probabilities(scores, float(self.p_best))
        u = self.draw(position) if draw is None else float(draw)
        if not (0.0 <= u < 1.0):
            raise ValidationError(f"draw: got {draw}; allowed 0 <= u < 1")
        cumulative = np.cumsum(probs)
        chosen = int(np.searchsorted(cumulative, u, side="right"))
        chosen = min(chosen, len(arms) - 1)  # guard against cumulative rounding below 1
        options = {
            "arms": arms,
            "factors": factors,
            "ratio": ratio,
            "weights": dict(zip(factors, weights, strict=True)),
            "method": self.method,
            "p_best": float(self.p_best),
        }
        return MinimisationResult(
            arm=arms[chosen],
            position=position,
            levels=own,
            counts={
                name: {a: int(counts[m, i]) for i, a in enumerate(arms)}
                for m, name in enumerate(factors)
            },
            scores=dict(zip(arms, scores, strict=True)),
            probabilities=dict(zip(arms, probs, strict=True)),
            preferred=tuple(arms[k] for k in preferred),
            draw=u,
            provenance=provenance(options, int(self.seed), algorithm="pocock-simon-minimisation"),
        )

    def assign_sequence(
        self,
        participants: Sequence[Mapping[str, str]],
        history: Sequence[tuple[Mapping[str, str], str]] = (),
    ) -> list[MinimisationResult]:
        """Allocate participants one after another, each seeing all earlier allocations.

        Examples
        --------
        >>> m = Minimiser(arms=["A", "B"], factors={"sex": ["F", "M"]}, seed=1)
        >>> len(m.assign_sequence([{"sex": "F"}, {"sex": "M"}, {"sex": "F"}]))
        3
        """
        checked = self._checked()
        arms, factors = checked[0], checked[1]
        index = {a: i for i, a in enumerate(arms)}
        # Running counts per (factor, level) so a long sequence costs O(n), not O(n^2).
        tally = {
            name: {lv: np.zeros(len(arms)) for lv in levels} for name, levels in factors.items()
        }

        def add(levels: dict[str, str], arm: str) -> None:
            for name in factors:
                tally[name][levels[name]][index[arm]] += 1

        for j, (past_levels, past_arm) in enumerate(history):
            if past_arm not in index:
                raise ValidationError(
                    f"history[{j}]: arm '{past_arm}' unknown; allowed {', '.join(arms)}"
                )
            add(self._check_levels(past_levels, factors, f"history[{j}]"), past_arm)
        position = len(history)
        results = []
        for i, levels in enumerate(participants):
            own = self._check_levels(levels, factors, f"participant {i + 1}")
            counts = np.vstack([tally[name][own[name]] for name in factors])
            result = self._allocate(checked, own, counts, position, None)
            results.append(result)
            add(own, result.arm)
            position += 1
        return results
