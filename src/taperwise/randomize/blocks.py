"""Seeded allocation lists: permuted blocks of random sizes, allocation ratios, strata.

Every stratum (one cell of the cartesian product of the stratification factors' levels) gets its
own independent list, drawn from its own generator ``SeedSequence(seed).spawn(n_strata)[i]``
(trial-design.md §1.1 "stratified blocks"). Within a stratum, block sizes are drawn uniformly from
the given set and each block is a uniformly random permutation of a block balanced to the ratio.
Whole blocks are generated until the stratum holds at least ``n_per_stratum`` entries, so a
stratum may hold up to ``max(block_sizes) - 1`` more entries than asked (as R's ``blockrand``
does); truncating would leave an unbalanced last block.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from taperwise.errors import DataFileError, ValidationError
from taperwise.provenance import provenance
from taperwise.randomize._validate import check_arms, check_factors, check_ratio, check_seed

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

#: Columns of an allocation list, in the order of the canonical CSV that :attr:`AllocationList.sha256` hashes.
COLUMNS = ("sequence", "stratum", "block", "block_size", "arm")

#: Refuse lists larger than this many entries in total (memory guard, not a clinical limit).
MAX_ENTRIES = 5_000_000

ALGORITHM = (
    "permuted blocks with block sizes drawn uniformly from the given set; each block a uniformly "
    "random permutation of a block balanced to the ratio; an independent list per stratum from "
    "numpy PCG64 generators seeded by SeedSequence(seed).spawn(n_strata) in stratum order; whole "
    "blocks until each stratum holds at least n_per_stratum entries"
)


@dataclass(frozen=True)
class AllocationEntry:
    """One row of an allocation list.

    Attributes
    ----------
    sequence : int
        Position in the whole list, 1-based and unique across strata.
    stratum : str
        Stratum key such as ``"site=a|sex=F"`` (``""`` when unstratified).
    block : int
        Block number within the stratum, 1-based.
    block_size : int
        Size of that block.
    arm : str
        Allocated arm.
    """

    sequence: int
    stratum: str
    block: int
    block_size: int
    arm: str


@dataclass(frozen=True)
class AllocationList:
    """A generated allocation list with its generation report (frozen).

    Attributes
    ----------
    seed : int
        Seed the list was generated from.
    entries : tuple of AllocationEntry
        All entries, strata in order, ``sequence`` 1..N.
    report : dict
        Generation report: parameters, per-stratum counts by arm, block-size use, maximum
        imbalance, seed, SHA-256 and package versions.
    sha256 : str
        SHA-256 (hex) of :meth:`to_csv` text, so a stored or printed list can be checked.
    """

    seed: int
    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    block_sizes: tuple[int, ...]
    strata: dict[str, tuple[str, ...]]
    n_per_stratum: int
    entries: tuple[AllocationEntry, ...]
    report: dict[str, Any] = field(repr=False)
    sha256: str = ""

    @property
    def stratum_keys(self) -> list[str]:
        """Stratum keys in generation order (``[""]`` when unstratified)."""
        return stratum_keys(dict(self.strata))

    def for_stratum(self, stratum: str) -> list[AllocationEntry]:
        """Entries of one stratum in sequence order."""
        return [e for e in self.entries if e.stratum == stratum]

    def to_frame(self) -> pd.DataFrame:
        """The list as a DataFrame with columns ``sequence, stratum, block, block_size, arm``."""
        import pandas as pd

        return pd.DataFrame(
            {
                "sequence": [e.sequence for e in self.entries],
                "stratum": [e.stratum for e in self.entries],
                "block": [e.block for e in self.entries],
                "block_size": [e.block_size for e in self.entries],
                "arm": [e.arm for e in self.entries],
            },
            columns=list(COLUMNS),
        )

    def to_csv(self) -> str:
        """Canonical CSV text (header, ``\\n`` line ends); :attr:`sha256` is the hash of its UTF-8 bytes."""
        return _canonical_csv(self.entries)


def stratum_key(levels: dict[str, str], factors: Sequence[str]) -> str:
    """The stratum key of a participant: ``factor=level`` pairs in factor order joined by ``|``.

    Parameters
    ----------
    levels : dict
        The participant's level of every stratification factor (extra keys are ignored).
    factors : sequence of str
        Stratification factors in the order used when the list was generated.

    Returns
    -------
    str
        For example ``"site=a|sex=F"``; ``""`` when there are no factors.

    Examples
    --------
    >>> stratum_key({"sex": "F", "site": "a"}, ["site", "sex"])
    'site=a|sex=F'
    """
    parts = []
    for factor in factors:
        if factor not in levels or levels[factor] is None or str(levels[factor]).strip() == "":
            raise ValidationError(
                f"stratum: factor '{factor}' has no level (have {sorted(levels)})"
            )
        parts.append(f"{factor}={str(levels[factor]).strip()}")
    return "|".join(parts)


def stratum_keys(strata: dict[str, Sequence[str]] | None) -> list[str]:
    """All stratum keys of the cartesian product, first factor varying slowest."""
    factors = list((strata or {}).keys())
    if not factors:
        return [""]
    combos = itertools.product(*[list(strata[f]) for f in factors])  # type: ignore[index]
    return [stratum_key(dict(zip(factors, combo, strict=True)), factors) for combo in combos]


def _check_block_sizes(block_sizes: Sequence[int], ratio: list[int]) -> list[int]:
    total = sum(ratio)
    ratio_text = ":".join(str(r) for r in ratio)
    allowed = f"allowed sizes are multiples of {total}: {total}, {2 * total}, {3 * total}, ..."
    sizes: list[int] = []
    if not list(block_sizes):
        raise ValidationError(f"block sizes: none given; {allowed}")
    for size in block_sizes:
        if isinstance(size, bool) or int(size) != size or int(size) < 1:
            raise ValidationError(f"block size '{size}' is not a positive integer; {allowed}")
        if int(size) % total:
            raise ValidationError(
                f"block size {int(size)} is not a multiple of the ratio sum {total} (ratio {ratio_text}); {allowed}"
            )
        sizes.append(int(size))
    duplicates = sorted({s for s in sizes if sizes.count(s) > 1})
    if duplicates:
        raise ValidationError(f"block sizes: {', '.join(map(str, duplicates))} given twice")
    return sorted(sizes)


def _canonical_csv(entries: Sequence[AllocationEntry]) -> str:
    lines = [",".join(COLUMNS)]
    lines.extend(f"{e.sequence},{e.stratum},{e.block},{e.block_size},{e.arm}" for e in entries)
    return "\n".join(lines) + "\n"


def read_allocation_csv(
    text: str, *, source: str = "<allocation list>"
) -> tuple[AllocationEntry, ...]:
    """Parse an allocation list written by :meth:`AllocationList.to_csv` (or ``randomize list --out``).

    Checks the header, integer fields, unique sequence numbers and that every block holds exactly
    ``block_size`` entries, so a truncated or edited upload is refused. Errors name
    ``source:line``. Pure: the caller reads the file; ``hashlib.sha256(text.encode())`` of the same
    text gives the report's SHA-256 for comparison.

    Examples
    --------
    >>> lst = generate_block_list(arms=["A", "B"], block_sizes=[2], n_per_stratum=4, seed=1)
    >>> read_allocation_csv(lst.to_csv()) == lst.entries
    True
    """
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != ",".join(COLUMNS):
        raise DataFileError(f"{source}:1: header must be {','.join(COLUMNS)}")
    entries: list[AllocationEntry] = []
    seen: dict[int, int] = {}
    blocks: dict[tuple[str, int], list[int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(COLUMNS):
            raise DataFileError(
                f"{source}:{number}: expected {len(COLUMNS)} fields, got {len(fields)}"
            )
        try:
            sequence, block, size = int(fields[0]), int(fields[2]), int(fields[3])
        except ValueError:
            raise DataFileError(
                f"{source}:{number}: sequence, block and block_size must be integers"
            ) from None
        if sequence < 1 or block < 1 or size < 1:
            raise DataFileError(f"{source}:{number}: sequence, block and block_size must be >= 1")
        if sequence in seen:
            raise DataFileError(
                f"{source}:{number}: sequence {sequence} repeats line {seen[sequence]}"
            )
        arm = fields[4].strip()
        if not arm:
            raise DataFileError(f"{source}:{number}: empty arm")
        seen[sequence] = number
        entry = AllocationEntry(sequence, fields[1].strip(), block, size, arm)
        blocks.setdefault((entry.stratum, block), []).append(size)
        entries.append(entry)
    for (stratum, block), sizes in blocks.items():
        if len(set(sizes)) != 1 or len(sizes) != sizes[0]:
            raise DataFileError(
                f"{source}: stratum {stratum or '(unstratified)'} block {block} has {len(sizes)} "
                f"entries but block_size {sizes[0]}; the list is incomplete or edited"
            )
    return tuple(entries)


def _stratum_codes(
    rng: np.random.Generator, n: int, sizes: np.ndarray, ratio: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arm codes, block numbers and block sizes for one stratum (whole blocks, >= n entries)."""
    # Enough draws to reach n even if every block had the smallest size; unused draws are discarded.
    n_draw = -(-n // int(sizes.min()))
    drawn = sizes[rng.integers(0, len(sizes), size=n_draw)]
    ends = np.cumsum(drawn)
    n_blocks = int(np.searchsorted(ends, n) + 1)
    drawn = drawn[:n_blocks]
    total = int(ends[n_blocks - 1])
    unit = int(ratio.sum())
    block_ids = np.repeat(np.arange(n_blocks), drawn)
    # Balanced content of each block: arm k repeated ratio[k] * size / sum(ratio) times.
    per_arm = np.outer(drawn // unit, ratio).ravel()
    codes = np.repeat(np.tile(np.arange(len(ratio)), n_blocks), per_arm)
    # Uniform permutation within each block: sort by block, then by independent uniform keys.
    keys = rng.random(total)
    order = np.lexsort((keys, block_ids))
    return codes[order], block_ids + 1, np.repeat(drawn, drawn)


def _max_imbalance(codes: np.ndarray, ratio: np.ndarray) -> float:
    """Largest ratio-scaled range ``max_k n_k/r_k - min_k n_k/r_k`` over all prefixes of the list."""
    if codes.size == 0:
        return 0.0
    onehot = np.zeros((codes.size, ratio.size))
    onehot[np.arange(codes.size), codes] = 1.0
    scaled = np.cumsum(onehot, axis=0) / ratio
    return float((scaled.max(axis=1) - scaled.min(axis=1)).max())


def generate_block_list(
    *,
    arms: list[str],
    ratio: list[int] | None = None,
    block_sizes: list[int],
    strata: dict[str, list[str]] | None = None,
    n_per_stratum: int,
    seed: int,
) -> AllocationList:
    """Generate a stratified permuted-block allocation list with random block sizes.

    Parameters
    ----------
    arms : list of str
        Arm labels, e.g. ``["KMC", "BUP", "PBO"]``.
    ratio : list of int, optional
        Allocation ratio, one positive integer per arm (default 1:1:...).
    block_sizes : list of int
        Allowed block sizes; each must be a multiple of ``sum(ratio)``. Drawn uniformly per block.
    strata : dict, optional
        Stratification factor -> levels; one independent list per cell of the cartesian product.
    n_per_stratum : int
        Minimum number of entries per stratum (whole blocks are generated, so up to
        ``max(block_sizes) - 1`` more may be produced).
    seed : int
        Non-negative seed; the same seed and parameters give the identical list.

    Returns
    -------
    AllocationList

    Examples
    --------
    >>> lst = generate_block_list(arms=["KMC", "BUP", "PBO"], ratio=[1, 1, 1], block_sizes=[3, 6],
    ...                           strata={"site": ["a", "b"]}, n_per_stratum=12, seed=11)
    >>> lst.entries[0].stratum
    'site=a'
    >>> len(lst.sha256)
    64
    """
    labels = check_arms(arms)
    parts = check_ratio(ratio, len(labels))
    sizes = _check_block_sizes(block_sizes, parts)
    factors = check_factors(strata, what="strata")
    seed = check_seed(seed)
    if isinstance(n_per_stratum, bool) or int(n_per_stratum) != n_per_stratum or n_per_stratum < 1:
        raise ValidationError(f"n per stratum: got {n_per_stratum!r}; allowed a positive integer")
    n = int(n_per_stratum)
    keys = stratum_keys(factors)
    if len(keys) * (n + max(sizes)) > MAX_ENTRIES:
        raise ValidationError(
            f"n per stratum: {len(keys)} strata x {n} entries exceeds the limit of {MAX_ENTRIES} entries"
        )

    ratio_arr = np.asarray(parts, dtype=np.int64)
    size_arr = np.asarray(sizes, dtype=np.int64)
    children = np.random.SeedSequence(seed).spawn(len(keys))
    entries: list[AllocationEntry] = []
    per_stratum: list[dict[str, Any]] = []
    overall_use = dict.fromkeys(sizes, 0)
    sequence = 0
    for key, child in zip(keys, children, strict=True):
        rng = np.random.Generator(np.random.PCG64(child))
        codes, blocks, block_size = _stratum_codes(rng, n, size_arr, ratio_arr)
        entries.extend(
            map(
                AllocationEntry,
                range(sequence + 1, sequence + 1 + codes.size),
                itertools.repeat(key),
                blocks.tolist(),
                block_size.tolist(),
                [labels[c] for c in codes.tolist()],
            )
        )
        sequence += int(codes.size)
        first_of_block = np.r_[True, blocks[1:] != blocks[:-1]]
        use = {s: int(np.sum(block_size[first_of_block] == s)) for s in sizes}
        for s, count in use.items():
            overall_use[s] += count
        counts = np.bincount(codes, minlength=len(labels))
        per_stratum.append(
            {
                "stratum": key,
                "n_requested": n,
                "n_generated": int(codes.size),
                "counts": {arm: int(c) for arm, c in zip(labels, counts, strict=True)},
                "blocks": int(blocks[-1]),
                "block_size_use": {str(s): c for s, c in use.items()},
                "max_imbalance": _max_imbalance(codes, ratio_arr),
            }
        )

    frozen_entries = tuple(entries)
    digest = hashlib.sha256(_canonical_csv(frozen_entries).encode("utf-8")).hexdigest()
    options = {
        "arms": labels,
        "ratio": parts,
        "block_sizes": sizes,
        "strata": factors,
        "n_per_stratum": n,
    }
    report = {
        "seed": seed,
        "parameters": options,
        "algorithm": ALGORITHM,
        "n_strata": len(keys),
        "n_entries": len(frozen_entries),
        "counts": {arm: sum(s["counts"][arm] for s in per_stratum) for arm in labels},
        "block_size_use": {str(s): c for s, c in overall_use.items()},
        "max_imbalance": max(s["max_imbalance"] for s in per_stratum),
        "max_imbalance_definition": "largest over list prefixes within a stratum of "
        "max_k(n_k / r_k) - min_k(n_k / r_k); for 1:1 this is max |n_A - n_B|",
        "strata": per_stratum,
        "sha256": digest,
        "sha256_of": "UTF-8 bytes of the canonical CSV (header sequence,stratum,block,block_size,arm; "
        "'\\n' line ends), identical to the file written by `taperwise randomize list --out`",
        "provenance": provenance(options, seed, algorithm="permuted-blocks-random-sizes"),
    }
    log.info("allocation list: %d strata, %d entries, sha256 %s", len(keys), len(entries), digest)
    return AllocationList(
        seed=seed,
        arms=tuple(labels),
        ratio=tuple(parts),
        block_sizes=tuple(sizes),
        strata={k: tuple(v) for k, v in factors.items()},
        n_per_stratum=n,
        entries=frozen_entries,
        report=report,
        sha256=digest,
    )
