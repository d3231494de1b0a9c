"""Inputs for the meta-analysis models: outcome vectors and the moderator design matrix."""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import ValidationError

log = logging.getLogger(__name__)


def as_vector(name: str, value: Any, data: pd.DataFrame | None) -> np.ndarray:
    """An array, or a column of ``data`` named by a string, as a float vector."""
    if isinstance(value, str):
        if data is None or value not in data:
            raise ValidationError(f"rma: column '{value}' for {name} not found in the data")
        value = data[value]
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"rma: {name} must be numeric ({exc})") from None
    return arr


def _r_to_formulaic(formula: str) -> str:
    """Accept metafor's spelling ``factor(x)`` as formulaic's ``C(x)``."""
    formula = formula.strip()
    if not formula.startswith("~"):
        formula = "~ " + formula
    return re.sub(r"\bfactor\(", "C(", formula)


def _r_name(name: str) -> str:
    """metafor's coefficient names: ``intrcpt`` and ``factor(x)level``."""
    if name == "Intercept":
        return "intrcpt"
    m = re.fullmatch(r"C\((\w+)\)\[T\.(.*)\]", name)
    if m:
        return f"factor({m.group(1)}){m.group(2)}"
    return name


def design_matrix(
    mods: Any, data: pd.DataFrame | None, k: int, *, intercept: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Model matrix X (k x p) and term names (metafor's ``intrcpt`` for the intercept).

    ``mods`` is ``None`` (intercept only), a formula string such as ``"~ ablat + factor(alloc)"``
    (evaluated on ``data`` with formulaic, treatment coding, first level as reference), or an
    array of moderator columns (an intercept is prepended when ``intercept`` is true).
    """
    if mods is None:
        return np.ones((k, 1)), ["intrcpt"]
    if isinstance(mods, str):
        if data is None:
            raise ValidationError("rma: a moderator formula needs data")
        from formulaic import model_matrix

        try:
            mm = model_matrix(_r_to_formulaic(mods), data, na_action="ignore")
        except Exception as exc:  # formulaic raises many types for a bad formula
            raise ValidationError(
                f"rma: cannot build moderators from formula '{mods}': {exc}"
            ) from None
        names = [_r_name(str(c)) for c in mm.columns]
        X = np.asarray(mm, dtype=float)
        if not intercept and "intrcpt" in names:
            j = names.index("intrcpt")
            X = np.delete(X, j, axis=1)
            names.pop(j)
        if X.shape[0] != k:
            raise ValidationError(f"rma: moderator formula gave {X.shape[0]} rows for {k} studies")
        return X, names
    arr = np.asarray(mods, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] != k:
        raise ValidationError(f"rma: mods has {arr.shape[0]} rows; expected {k}")
    names = list(getattr(mods, "columns", [f"X{j + 1}" for j in range(arr.shape[1])]))
    names = [str(n) for n in names]
    if intercept:
        arr = np.column_stack([np.ones(k), arr])
        names = ["intrcpt", *names]
    return arr, names
