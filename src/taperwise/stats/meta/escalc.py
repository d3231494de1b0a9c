"""Effect sizes and sampling variances, following metafor's ``escalc()`` conventions.

Binary 2x2 measures (``RR``, ``OR``, ``RD``, ``PETO``, ``AS``) take the cell counts
``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``); continuous measures (``MD``, ``SMD``,
``SMDH``, ``ROM``) take ``m1i, sd1i, n1i, m2i, sd2i, n2i``; ``MN`` (raw mean) takes
``m1i, sd1i, n1i``; single-group proportions
(``PR``, ``PLO``, ``PAS``) take ``xi, ni``; ``ZCOR`` takes ``ri, ni``.

Zero cells are handled as in metafor: ``add`` (default 1/2) is added to every cell of
the tables selected by ``to`` (``"only0"``: tables with at least one zero cell, the
default; ``"all"``; ``"if0all"``: all tables when any table has a zero; ``"none"``),
after ``drop00`` has set tables with no events (or only events) in both arms to NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from taperwise.errors import ValidationError

BINARY_MEASURES = ("RR", "OR", "RD", "PETO", "AS")
CONTINUOUS_MEASURES = ("MD", "SMD", "SMDH", "ROM")
PROPORTION_MEASURES = ("PR", "PLO", "PAS")
MEAN_MEASURES = ("MN",)
CORRELATION_MEASURES = ("ZCOR",)
MEASURES = (
    BINARY_MEASURES
    + CONTINUOUS_MEASURES
    + MEAN_MEASURES
    + PROPORTION_MEASURES
    + CORRELATION_MEASURES
)
TO_OPTIONS = ("only0", "all", "if0all", "none")

ArrayLike = Sequence[float] | np.ndarray | pd.Series


def _col(name: str, value: Any, data: pd.DataFrame | Mapping[str, Any] | None) -> np.ndarray | None:
    """Resolve an argument given as an array or as a column name of ``data``."""
    if value is None:
        return None
    if isinstance(value, str):
        if data is None or value not in data:
            raise ValidationError(f"escalc: column '{value}' for {name} not found in the data")
        value = data[value]
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1:
        raise ValidationError(f"escalc: {name} must be one-dimensional")
    return arr


def cmicalc(mi: np.ndarray) -> np.ndarray:
    """Exact small-sample bias correction c(m) of Hedges' g (as metafor's ``.cmicalc``).

    Examples
    --------
    >>> round(float(cmicalc(np.array([10.0]))[0]), 6)
    0.922746
    """
    mi = np.asarray(mi, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(mi / 2) - 0.5 * np.log(mi / 2) - gammaln((mi - 1) / 2))
    return np.where(mi > 1, out, np.nan)


def _add_to_cells(cells: list[np.ndarray], add: float, to: str) -> list[np.ndarray]:
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    zero = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        zero |= c == 0
    if not zero.any():
        return cells
    if to == "only0":
        return [np.where(zero, c + add, c) for c in cells]
    # if0all
    if zero.any():
        return [c + add for c in cells]
    return cells


def escalc(
    measure: str,
    *,
    ai: ArrayLike | str | None = None,
    bi: ArrayLike | str | None = None,
    ci: ArrayLike | str | None = None,
    di: ArrayLike | str | None = None,
    n1i: ArrayLike | str | None = None,
    n2i: ArrayLike | str | None = None,
    m1i: ArrayLike | str | None = None,
    m2i: ArrayLike | str | None = None,
    sd1i: ArrayLike | str | None = None,
    sd2i: ArrayLike | str | None = None,
    xi: ArrayLike | str | None = None,
    ni: ArrayLike | str | None = None,
    ri: ArrayLike | str | None = None,
    data: pd.DataFrame | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` (metafor ``escalc``).

    Parameters
    ----------
    measure
        One of ``RR, OR, RD, PETO, AS, MD, SMD, SMDH, ROM, MN, PR, PLO, PAS, ZCOR``.
    ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, xi, ni, ri
        Arrays, or column names of ``data``.
    data
        Optional data frame; when given, its columns are kept in the output.
    add, to, drop00
        Zero-cell handling for count measures (metafor defaults).

    Returns
    -------
    pandas.DataFrame
        ``data`` (or an empty frame) with columns ``yi`` and ``vi`` appended.

    Examples
    --------
    >>> res = escalc("RR", ai=[4], bi=[119], ci=[11], di=[128])
    >>> round(float(res["yi"][0]), 8), round(float(res["vi"][0]), 9)
    (-0.88931133, 0.325584765)
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise ValidationError(
            f"escalc: measure '{measure}' is not supported; allowed: {', '.join(MEASURES)}"
        )
    if to not in TO_OPTIONS:
        raise ValidationError(f"escalc: to='{to}' is not allowed; allowed: {', '.join(TO_OPTIONS)}")
    if not np.isfinite(add) or add < 0:
        raise ValidationError(f"escalc: add must be a finite number >= 0, got {add}")
    g = {
        k: _col(k, v, data)
        for k, v in dict(
            ai=ai,
            bi=bi,
            ci=ci,
            di=di,
            n1i=n1i,
            n2i=n2i,
            m1i=m1i,
            m2i=m2i,
            sd1i=sd1i,
            sd2i=sd2i,
            xi=xi,
            ni=ni,
            ri=ri,
        ).items()
    }

    def need(*names: str) -> list[np.ndarray]:
        missing = [n for n in names if g[n] is None]
        if missing:
            raise ValidationError(f"escalc: measure {measure} needs {', '.join(missing)}")
        arrs = [g[n] for n in names]
        k = len(arrs[0])
        for n, a in zip(names, arrs, strict=True):
            if len(a) != k:
                raise ValidationError(
                    f"escalc: {n} has {len(a)} values; expected {k} like {names[0]}"
                )
        return arrs  # type: ignore[return-value]

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in BINARY_MEASURES:
            if g["bi"] is None and g["n1i"] is not None:
                g["bi"] = g["n1i"] - _nz(g["ai"], "ai", measure)
            if g["di"] is None and g["n2i"] is not None:
                g["di"] = g["n2i"] - _nz(g["ci"], "ci", measure)
            a, b, c, d = need("ai", "bi", "ci", "di")
            if min(float(np.nanmin(x)) if len(x) else 0.0 for x in (a, b, c, d)) < 0:
                raise ValidationError(
                    f"escalc: {measure} cell counts must be >= 0 (check bi = n1i - ai, di = n2i - ci)"
                )
            if drop00:
                d00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
                a, b, c, d = (np.where(d00, np.nan, x) for x in (a, b, c, d))
            a, b, c, d = _add_to_cells([a, b, c, d], add, to)
            n1, n2 = a + b, c + d
            n = n1 + n2
            p1, p2 = a / n1, c / n2
            if measure == "RR":
                yi = np.log(p1) - np.log(p2)
                vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
            elif measure == "OR":
                yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
                vi = 1 / a + 1 / b + 1 / c + 1 / d
            elif measure == "RD":
                yi = p1 - p2
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            elif measure == "PETO":
                xt, yt = a + c, b + d
                ei = xt * n1 / n
                v = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
                yi = (a - ei) / v
                vi = 1 / v
            else:  # AS
                yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
                vi = 1 / (4 * n1) + 1 / (4 * n2)
        elif measure in CONTINUOUS_MEASURES:
            m1, sd1, n1, m2, sd2, n2 = need("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
            if np.any(np.concatenate([sd1, sd2]) < 0) or np.any(np.concatenate([n1, n2]) < 0):
                raise ValidationError(
                    f"escalc: {measure} needs standard deviations and sample sizes >= 0"
                )
            n = n1 + n2
            mi = n - 2
            sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
            if measure == "MD":
                yi = m1 - m2
                vi = sd1**2 / n1 + sd2**2 / n2
            elif measure == "SMD":
                yi = cmicalc(mi) * (m1 - m2) / sdp
                vi = 1 / n1 + 1 / n2 + yi**2 / (2 * n)
            elif measure == "SMDH":
                cm = cmicalc(mi)
                s2 = (sd1**2 + sd2**2) / 2
                yi = cm * (m1 - m2) / np.sqrt(s2)
                vi = (
                    yi**2 * (sd1**4 / (n1 - 1) + sd2**4 / (n2 - 1)) / (2 * (sd1**2 + sd2**2) ** 2)
                    + (sd1**2 / (n1 - 1) + sd2**2 / (n2 - 1)) / s2
                )
                # metafor 5.1-12 (the reference version, test_misc_escalc.r) plugs the corrected
                # yi into Bonett's variance and applies no further c(m)^2 factor.
            else:  # ROM
                yi = np.log(m1 / m2)
                vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
        elif measure == "MN":
            m1, sd1, n1 = need("m1i", "sd1i", "n1i")
            yi = m1
            vi = sd1**2 / n1
        elif measure in PROPORTION_MEASURES:
            x, nn = need("xi", "ni")
            m = nn - x
            if np.any(x < 0) or np.any(m < 0):
                raise ValidationError(f"escalc: {measure} needs 0 <= xi <= ni")
            x, m = _add_to_cells([x, m], add, to)
            nn = x + m
            p = x / nn
            if measure == "PR":
                yi, vi = p, p * (1 - p) / nn
            elif measure == "PLO":
                yi, vi = np.log(p / (1 - p)), 1 / x + 1 / m
            else:  # PAS
                yi, vi = np.arcsin(np.sqrt(p)), 1 / (4 * nn)
        else:  # ZCOR
            r, nn = need("ri", "ni")
            if np.any(np.abs(r) > 1):
                raise ValidationError("escalc: ZCOR needs correlations between -1 and 1")
            yi = np.arctanh(r)
            vi = np.where(nn > 4, 1 / (nn - 3), np.nan)
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    yi[~np.isfinite(yi)] = np.nan
    vi[~np.isfinite(vi)] = np.nan
    if isinstance(data, pd.DataFrame):
        out = data.copy().reset_index(drop=True)
        out["yi"] = yi
        out["vi"] = vi
    else:
        out = pd.DataFrame({"yi": yi, "vi": vi})
    out.attrs["measure"] = measure
    return out


def _nz(arr: np.ndarray | None, name: str, measure: str) -> np.ndarray:
    if arr is None:
        raise ValidationError(f"escalc: measure {measure} needs {name}")
    return arr
