"""Data squashing (DuMouchel & Pregibon 2001) for the GPS hyperparameter fit.

:func:`squash_data` and :func:`auto_squash` follow openEBGM 0.9.1's ``squashData`` and
``autoSquash`` exactly (sort E within one N, keep the ``keep_pts`` largest unsquashed, bin the
rest into consecutive bins of ``bin_size`` whose E is the *unweighted* bin mean and whose weight
is the bin size). :func:`squash_log_bins` is the scale-free variant used for FAERS-sized data:
one point per (N, log10-E bin), E = weighted mean, weight = summed weights; and
:func:`zero_cells_from_margins` squashes the never-observed cells of an unstratified table from
the margin histograms without materialising them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Squashed",
    "auto_squash",
    "squash_data",
    "squash_log_bins",
    "zero_cells_from_margins",
    "zero_cells_stratified",
]


@dataclass(frozen=True)
class Squashed:
    """Squashed points: counts ``n``, expected counts ``e`` and ``weight`` (sorted by n)."""

    n: np.ndarray
    e: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.n.size)

    @classmethod
    def unsquashed(cls, n: object, e: object) -> Squashed:
        """Wrap raw cells as points of weight 1."""
        n_arr = np.asarray(n, dtype=np.int64)
        e_arr = np.asarray(e, dtype=np.float64)
        return cls(n_arr, e_arr, np.ones(n_arr.size, dtype=np.float64))


def _as_squashed(data: Squashed | tuple[object, object]) -> Squashed:
    if isinstance(data, Squashed):
        return data
    n, e = data
    return Squashed.unsquashed(n, e)


def squash_data(
    data: Squashed | tuple[object, object],
    *,
    count: int = 1,
    bin_size: int = 50,
    keep_pts: int = 100,
    min_bin: int = 50,
    min_pts: int = 500,
) -> Squashed:
    """Squash the points with ``N == count`` (openEBGM ``squashData``).

    Examples
    --------
    >>> import numpy as np
    >>> s = squash_data((np.ones(10, int), np.arange(10.0)), bin_size=3, keep_pts=1,
    ...                 min_bin=1, min_pts=1)
    >>> s.weight.tolist(), s.e.tolist()
    ([3.0, 3.0, 3.0, 1.0], [1.0, 4.0, 7.0, 9.0])
    """
    d = _as_squashed(data)
    if bin_size < 2:
        raise ValueError("bin_size must be >= 2")
    sel = d.n == count
    hold_n, hold_e, hold_w = d.n[~sel], d.e[~sel], d.weight[~sel]
    order = np.argsort(d.e[sel], kind="stable")
    e_sq, w_sq = d.e[sel][order], d.weight[sel][order]
    m = e_sq.size
    if m < min_pts:
        raise ValueError(
            f"not enough points for squashing (count {count}: {m} < min_pts {min_pts})"
        )
    num_squash = m - keep_pts
    if num_squash < bin_size:
        raise ValueError("reduce 'bin_size' or 'keep_pts'")
    n_full, remain = divmod(num_squash, bin_size)
    num_bins = n_full + (remain > 0)
    if num_bins < min_bin:
        raise ValueError(f"not enough bins (count {count}: {num_bins} < min_bin {min_bin})")
    to_bin = e_sq[:num_squash]
    means = []
    if n_full:
        means.append(to_bin[: n_full * bin_size].reshape(n_full, bin_size).mean(axis=1))
    weights = [np.full(n_full, float(bin_size))]
    if remain:
        means.append(np.array([to_bin[n_full * bin_size :].mean()]))
        weights.append(np.array([float(remain)]))
    bin_e = np.concatenate(means)
    bin_w = np.concatenate(weights)
    keep_e, keep_w = e_sq[num_squash:], w_sq[num_squash:]
    n_all = np.concatenate([hold_n, np.full(bin_e.size + keep_e.size, count, dtype=np.int64)])
    e_all = np.concatenate([hold_e, bin_e, keep_e])
    w_all = np.concatenate([hold_w, bin_w, keep_w])
    order = np.argsort(n_all, kind="stable")
    return Squashed(n_all[order].astype(np.int64), e_all[order], w_all[order])


def auto_squash(
    data: Squashed | tuple[object, object],
    *,
    keep_pts: tuple[int, ...] = (100, 75, 50, 25),
    cut_offs: tuple[float, ...] = (500, 1e3, 1e4, 1e5, 5e5, 1e6, 5e6),
    num_super_pts: tuple[int, ...] = (50, 75, 150, 500, 750, 1e3, 2e3, 5e3),
) -> Squashed:
    """Squash every count with enough points (openEBGM ``autoSquash``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> n = np.repeat([0, 1, 2], [100, 50, 5]); e = rng.uniform(size=155)
    >>> s = auto_squash((n, e), keep_pts=(10,), cut_offs=(25, 75), num_super_pts=(3, 4, 5))
    >>> sorted(set(s.weight[s.n == 0].tolist()))
    [1.0, 18.0]
    """
    if len(num_super_pts) != len(cut_offs) + 1:
        raise ValueError("num_super_pts needs one more element than cut_offs")
    d = _as_squashed(data)
    values, counts = np.unique(d.n, return_counts=True)
    eligible = [
        (int(v), int(c)) for v, c in zip(values, counts, strict=True) if c > max(keep_pts) + 1
    ]
    limits = list(cut_offs) + [np.inf]
    for position, (value, num_pts) in enumerate(eligible):
        keep = keep_pts[min(position, len(keep_pts) - 1)]
        to_squash = num_pts - keep
        idx = next(k for k, lim in enumerate(limits) if to_squash < lim)
        supers = num_super_pts[idx]
        bin_size = max(int(np.floor(to_squash / supers)), 2)
        d = squash_data(d, count=value, bin_size=bin_size, keep_pts=keep, min_bin=1, min_pts=1)
    return d


def squash_log_bins(
    data: Squashed | tuple[object, object],
    *,
    bins_per_decade: int = 50,
    max_n: int | None = None,
) -> Squashed:
    """One point per (N, log10-E bin): E = weighted mean of the bin, weight = summed weight.

    Points with ``N > max_n`` (when given) are left unsquashed.

    Examples
    --------
    >>> import numpy as np
    >>> s = squash_log_bins((np.array([1, 1, 1]), np.array([1.0, 1.001, 10.0])))
    >>> s.weight.tolist()
    [2.0, 1.0]
    """
    d = _as_squashed(data)
    code = np.floor(np.log10(d.e) * bins_per_decade).astype(np.int64)
    free = np.zeros(d.n.size, dtype=bool) if max_n is None else d.n > max_n
    key_n = d.n[~free]
    key_b = code[~free]
    w = d.weight[~free]
    we = w * d.e[~free]
    keys = np.stack([key_n, key_b], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    sum_w = np.bincount(inverse, weights=w, minlength=len(uniq))
    sum_we = np.bincount(inverse, weights=we, minlength=len(uniq))
    n_all = np.concatenate([uniq[:, 0], d.n[free]])
    e_all = np.concatenate([sum_we / sum_w, d.e[free]])
    w_all = np.concatenate([sum_w, d.weight[free]])
    order = np.lexsort((e_all, n_all))
    return Squashed(n_all[order].astype(np.int64), e_all[order], w_all[order])


def zero_cells_from_margins(
    row_margins: object,
    col_margins: object,
    n_total: float,
    observed_e: object,
    *,
    bins_per_decade: int = 50,
    chunk: int = 2048,
) -> Squashed:
    """Squashed zero cells (N = 0) of an unstratified table, built from its margins.

    A never-observed cell (i, j) has E = n_i n_j / N. The multiset of all cells' E is the outer
    product of the margin histograms; the observed cells' E are subtracted bin by bin. Memory is
    O(distinct margin values x chunk), never O(cells).

    Examples
    --------
    >>> z = zero_cells_from_margins([1, 2], [1, 1], 4.0, observed_e=[0.25, 0.5])
    >>> float(z.weight.sum()), bool(z.n.max() == 0)
    (2.0, True)
    """
    rows = np.asarray(row_margins, dtype=np.float64)
    cols = np.asarray(col_margins, dtype=np.float64)
    rv, rc = np.unique(rows[rows > 0], return_counts=True)
    cv, cc = np.unique(cols[cols > 0], return_counts=True)
    acc_w: dict[int, float] = {}
    acc_we: dict[int, float] = {}

    def _add(codes: np.ndarray, w: np.ndarray, e: np.ndarray, sign: float) -> None:
        uniq, inv = np.unique(codes, return_inverse=True)
        sw = np.bincount(inv.reshape(-1), weights=w)
        swe = np.bincount(inv.reshape(-1), weights=w * e)
        for k, a, b in zip(uniq.tolist(), sw.tolist(), swe.tolist(), strict=True):
            acc_w[k] = acc_w.get(k, 0.0) + sign * a
            acc_we[k] = acc_we.get(k, 0.0) + sign * b

    for start in range(0, rv.size, chunk):
        e = np.outer(rv[start : start + chunk], cv) / n_total
        w = np.outer(rc[start : start + chunk], cc).astype(np.float64)
        _add(
            np.floor(np.log10(e) * bins_per_decade).astype(np.int64).ravel(),
            w.ravel(),
            e.ravel(),
            1.0,
        )
    obs = np.asarray(observed_e, dtype=np.float64)
    if obs.size:
        _add(
            np.floor(np.log10(obs) * bins_per_decade).astype(np.int64), np.ones(obs.size), obs, -1.0
        )
    keys = sorted(k for k, v in acc_w.items() if v > 0.5)
    w_out = np.array([round(acc_w[k]) for k in keys], dtype=np.float64)
    e_out = np.array([acc_we[k] for k in keys], dtype=np.float64) / np.maximum(w_out, 1.0)
    ok = w_out > 0
    return Squashed(np.zeros(int(ok.sum()), dtype=np.int64), e_out[ok], w_out[ok])


def zero_cells_stratified(
    drug_margin_s: np.ndarray,
    event_margin_s: np.ndarray,
    n_total_s: np.ndarray,
    observed_e: object,
    *,
    bins_per_decade: int = 50,
    chunk_cells: int = 4_000_000,
) -> Squashed:
    """Squashed zero cells when E is a sum over strata (rows of the margin matrices).

    Every (product, event) cell's stratified E is computed block by block (``chunk_cells``
    cells at a time) and binned on log10 E; the observed cells are then subtracted bin by bin.
    Time is O(products x events x strata), memory O(chunk_cells).

    Examples
    --------
    >>> import numpy as np
    >>> z = zero_cells_stratified(np.array([[1, 2]]), np.array([[1, 1]]), np.array([4]), [0.25, 0.5])
    >>> float(z.weight.sum())
    2.0
    """
    dm = np.asarray(drug_margin_s, dtype=np.float64)
    em = np.asarray(event_margin_s, dtype=np.float64)
    tot = np.asarray(n_total_s, dtype=np.float64)
    active = tot > 0
    dm, em, tot = dm[active], em[active], tot[active]
    rows_per_chunk = max(1, chunk_cells // max(em.shape[1], 1))
    acc_w: dict[int, float] = {}
    acc_we: dict[int, float] = {}

    def _add(e: np.ndarray, sign: float) -> None:
        e = e[e > 0]
        codes = np.floor(np.log10(e) * bins_per_decade).astype(np.int64)
        uniq, inv = np.unique(codes, return_inverse=True)
        sw = np.bincount(inv.reshape(-1), minlength=len(uniq)).astype(np.float64)
        swe = np.bincount(inv.reshape(-1), weights=e, minlength=len(uniq))
        for k, a, b in zip(uniq.tolist(), sw.tolist(), swe.tolist(), strict=True):
            acc_w[k] = acc_w.get(k, 0.0) + sign * a
            acc_we[k] = acc_we.get(k, 0.0) + sign * b

    for start in range(0, dm.shape[1], rows_per_chunk):
        block = np.zeros((min(rows_per_chunk, dm.shape[1] - start), em.shape[1]))
        for s in range(tot.size):
            block += np.outer(dm[s, start : start + rows_per_chunk] / tot[s], em[s])
        _add(block.ravel(), 1.0)
    _add(np.asarray(observed_e, dtype=np.float64), -1.0)
    keys = sorted(k for k, v in acc_w.items() if v > 0.5)
    w_out = np.array([round(acc_w[k]) for k in keys], dtype=np.float64)
    e_out = np.array([acc_we[k] for k in keys], dtype=np.float64) / np.maximum(w_out, 1.0)
    return Squashed(np.zeros(len(keys), dtype=np.int64), e_out, w_out)
