"""Two-arm allocation procedures and exact sequence-level assessment (trial-design.md §1.1, §1.3).

Sequences are 0/1 codes in randomizeR's convention: code 0 is arm A, code 1 is arm B, and the
final imbalance is ``imb = sum(2x - 1)`` = (number of B) - (number of A). A procedure gives the
probability that the next participant gets arm A given the codes so far; with it every property
(sequence probabilities, expected imbalance, loss, maximum imbalance, expected correct guesses
under the convergence strategy) is computed exactly with :class:`fractions.Fraction` by
enumerating all 2^N sequences, as randomizeR's ``getAllSeq`` does. Intended for N up to ~20.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from taperwise.errors import ValidationError

Rule = Callable[[Sequence[int]], Fraction]
HALF = Fraction(1, 2)
MAX_N = 24


def _counts(codes: Sequence[int]) -> tuple[int, int]:
    n_b = sum(codes)
    return len(codes) - n_b, n_b


def _fraction(value: float | int | Fraction, name: str) -> Fraction:
    try:
        return Fraction(value) if not isinstance(value, float) else Fraction(repr(value))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: got {value!r}; allowed a number") from exc


@dataclass(frozen=True)
class Procedure:
    """A two-arm sequential allocation rule: ``rule(codes) -> P(next is arm A)``."""

    name: str
    rule: Rule = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    def prob_a(self, codes: Sequence[int]) -> Fraction:
        """Probability that the next participant is allocated arm A (code 0)."""
        return self.rule(codes)


def complete_randomisation() -> Procedure:
    """CR: P(A) = 1/2."""
    return Procedure("CR", lambda codes: HALF)


def random_allocation_rule(n: int) -> Procedure:
    """RAR: uniform over the sequences with n/2 per arm; P(A) = (n/2 - n_A) / (n - j)."""
    if n < 2 or n % 2:
        raise ValidationError(f"RAR: n got {n}; allowed an even number >= 2")

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, _ = _counts(codes)
        return Fraction(n // 2 - n_a, n - len(codes))

    return Procedure("RAR", rule, {"n": n})


def permuted_block(block: int) -> Procedure:
    """PBR with fixed block size ``block`` (even): P(A) = A's left in the block / places left."""
    if block < 2 or block % 2:
        raise ValidationError(f"PBR: block size got {block}; allowed an even number >= 2")

    def rule(codes: Sequence[int]) -> Fraction:
        start = len(codes) - len(codes) % block
        n_a, _ = _counts(codes[start:])
        return Fraction(block // 2 - n_a, block - (len(codes) - start))

    return Procedure("PBR", rule, {"block": block})


def truncated_binomial(block: int) -> Procedure:
    """TBD: P(A) = 1/2 within a block until one arm reaches block/2, then forced."""
    if block < 2 or block % 2:
        raise ValidationError(f"TBD: block size got {block}; allowed an even number >= 2")

    def rule(codes: Sequence[int]) -> Fraction:
        start = len(codes) - len(codes) % block
        n_a, n_b = _counts(codes[start:])
        if n_a == block // 2:
            return Fraction(0)
        if n_b == block // 2:
            return Fraction(1)
        return HALF

    return Procedure("TBD", rule, {"block": block})


def efron(p: float | Fraction = Fraction(2, 3)) -> Procedure:
    """EBC(p): P(A) = p if D < 0, 1 - p if D > 0, 1/2 if D = 0 (D = n_A - n_B)."""
    pf = _fraction(p, "EBC p")

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, n_b = _counts(codes)
        return pf if n_a < n_b else (1 - pf if n_a > n_b else HALF)

    return Procedure("EBC", rule, {"p": pf})


def big_stick(mti: int) -> Procedure:
    """BSD(mti): P(A) = 1/2 while |D| < mti; forced to the lagging arm at |D| = mti."""

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, n_b = _counts(codes)
        d = n_a - n_b
        return Fraction(0) if d >= mti else (Fraction(1) if d <= -mti else HALF)

    return Procedure("BSD", rule, {"mti": mti})


def chen(p: float | Fraction, mti: int) -> Procedure:
    """Chen's design: EBC(p) inside the MTI band, forced at the boundary."""
    inner = efron(p)

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, n_b = _counts(codes)
        d = n_a - n_b
        return Fraction(0) if d >= mti else (Fraction(1) if d <= -mti else inner.rule(codes))

    return Procedure("Chen", rule, {"p": inner.params["p"], "mti": mti})


def smith_gbcd(rho: int) -> Procedure:
    """Smith's GBCD(rho): P(A) = n_B^rho / (n_A^rho + n_B^rho); 1/2 before anyone is allocated."""

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, n_b = _counts(codes)
        num, den = Fraction(n_b) ** rho, Fraction(n_a) ** rho + Fraction(n_b) ** rho
        return HALF if den == 0 else num / den

    return Procedure("GBCD", rule, {"rho": rho})


def adjustable_bcd(a: int) -> Procedure:
    """ABCD(a): |D|^a/(|D|^a+1) if D < 0; 1/(|D|^a+1) if D > 0; 1/2 if D = 0."""

    def rule(codes: Sequence[int]) -> Fraction:
        n_a, n_b = _counts(codes)
        d = n_a - n_b
        if d == 0:
            return HALF
        power = Fraction(abs(d)) ** a
        return power / (power + 1) if d < 0 else 1 / (power + 1)

    return Procedure("ABCD", rule, {"a": a})


def wei_urn(alpha: int = 0, beta: int = 1) -> Procedure:
    """Wei's UD(alpha, beta): P(A) = (alpha + beta n_B) / (2 alpha + beta j); 1/2 when 0/0."""

    def rule(codes: Sequence[int]) -> Fraction:
        _, n_b = _counts(codes)
        den = 2 * alpha + beta * len(codes)
        return HALF if den == 0 else Fraction(alpha + beta * n_b, den)

    return Procedure("UD", rule, {"alpha": alpha, "beta": beta})


# -- sequence properties (randomizeR definitions) ---------------------------------------------
def all_sequences(n: int) -> Iterator[tuple[int, ...]]:
    """All 2^n 0/1 sequences in R ``expand.grid`` order (patient 1 varies fastest)."""
    if not 1 <= n <= MAX_N:
        raise ValidationError(f"n got {n}; allowed 1..{MAX_N} for exact enumeration")
    for i in range(2**n):
        yield tuple((i >> j) & 1 for j in range(n))


def final_imbalance(codes: Sequence[int]) -> int:
    """randomizeR ``imb``: sum(2x - 1) = (number of B) - (number of A)."""
    return sum(2 * c - 1 for c in codes)


def loss(codes: Sequence[int]) -> Fraction:
    """randomizeR ``loss``: imb^2 / N."""
    return Fraction(final_imbalance(codes) ** 2, len(codes))


def max_imbalance(codes: Sequence[int]) -> int:
    """randomizeR ``maxImb``: max over j of |D_j|."""
    d, worst = 0, 0
    for c in codes:
        d += 2 * c - 1
        worst = max(worst, abs(d))
    return worst


def sequence_probability(procedure: Procedure, codes: Sequence[int]) -> Fraction:
    """Exact probability that ``procedure`` produces ``codes``.

    Examples
    --------
    >>> sequence_probability(efron(Fraction(2, 3)), (0, 0, 0, 0))
    Fraction(1, 54)
    """
    prob = Fraction(1)
    for j, c in enumerate(codes):
        p_a = procedure.prob_a(codes[:j])
        prob *= p_a if c == 0 else 1 - p_a
        if prob == 0:
            break
    return prob


def expected_correct_guesses(procedure: Procedure, n: int) -> Fraction:
    """Expected correct guesses over n participants under the convergence strategy.

    The guesser (Blackwell-Hodges) guesses the arm allocated less often so far; on a tie the
    guess is a fair coin, so it is right with probability 1/2 whatever P(A) is.

    Examples
    --------
    >>> expected_correct_guesses(permuted_block(4), 4)
    Fraction(17, 6)
    """
    total = Fraction(0)
    for codes in all_sequences(n):
        prob = sequence_probability(procedure, codes)
        if prob == 0:
            continue
        correct = Fraction(0)
        n_a = n_b = 0
        for c in codes:
            if n_a == n_b:
                correct += HALF
            elif (n_a < n_b) == (c == 0):
                correct += 1
            n_a += c == 0
            n_b += c == 1
        total += prob * correct
    return total


def assess(procedure: Procedure, n: int) -> dict[str, Fraction]:
    """Exact expectations over all sequences: total probability, E|imb|, E loss, P(imb=0),
    E maxImb and expected correct guesses (convergence strategy).

    Examples
    --------
    >>> a = assess(efron(Fraction(2, 3)), 4)
    >>> a["p_balanced"], a["expected_abs_imbalance"]
    (Fraction(16, 27), Fraction(8, 9))
    """
    out = {
        "total_probability": Fraction(0),
        "expected_abs_imbalance": Fraction(0),
        "expected_loss": Fraction(0),
        "p_balanced": Fraction(0),
        "expected_max_imbalance": Fraction(0),
    }
    for codes in all_sequences(n):
        prob = sequence_probability(procedure, codes)
        out["total_probability"] += prob
        out["expected_abs_imbalance"] += prob * abs(final_imbalance(codes))
        out["expected_loss"] += prob * loss(codes)
        out["p_balanced"] += prob * (final_imbalance(codes) == 0)
        out["expected_max_imbalance"] += prob * max_imbalance(codes)
    out["expected_correct_guesses"] = expected_correct_guesses(procedure, n)
    return out
