"""Formula parsing and design construction for the MMRM engine.

The formula follows R's ``mmrm``: a fixed-effects part understood by formulaic plus exactly one
covariance term ``cov(TIME | SUBJECT)`` or ``cov(TIME | GROUP / SUBJECT)``; spatial structures
take coordinates, ``sp_exp(X1, X2 | SUBJECT)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from taperwise.errors import ValidationError

COV_TYPES = ("us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh", "sp_exp")

_COV_RE = re.compile(
    r"\b("
    + "|".join(COV_TYPES)
    + r")\s*\(\s*([^|()]+?)\s*\|\s*(?:([A-Za-z_.][\w.]*)\s*/\s*)?([A-Za-z_.][\w.]*)\s*\)"
)
_T_RE = re.compile(r"\[T\.(.*?)\]")


@dataclass(frozen=True)
class FormulaParts:
    """The pieces of an MMRM formula."""

    response: str
    fixed_rhs: str
    cov_type: str
    time: tuple[str, ...]
    subject: str
    group: str | None

    @property
    def is_spatial(self) -> bool:
        return self.cov_type.startswith("sp_")


def parse_formula(formula: str) -> FormulaParts:
    """Split ``"Y ~ A + B*C + us(VISIT | GROUP / SUBJECT)"`` into its parts.

    Examples
    --------
    >>> p = parse_formula("FEV1 ~ ARMCD + us(AVISIT | USUBJID)")
    >>> (p.response, p.fixed_rhs, p.cov_type, p.time, p.subject)
    ('FEV1', 'ARMCD', 'us', ('AVISIT',), 'USUBJID')
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ValidationError(
            f"formula {formula!r} must look like 'Y ~ terms + us(VISIT | SUBJECT)'"
        )
    lhs, rhs = formula.split("~", 1)
    response = lhs.strip()
    if not re.fullmatch(r"[A-Za-z_.][\w.]*", response):
        raise ValidationError(f"formula response {response!r} must be one column name")
    matches = list(_COV_RE.finditer(rhs))
    if len(matches) != 1:
        raise ValidationError(
            f"formula {formula!r} needs exactly one covariance term, e.g. us(AVISIT | USUBJID); "
            f"allowed structures: {', '.join(COV_TYPES)}"
        )
    m = matches[0]
    cov_type, time_txt, group, subject = m.group(1), m.group(2), m.group(3), m.group(4)
    time = tuple(t.strip() for t in time_txt.split(","))
    if not cov_type.startswith("sp_") and len(time) != 1:
        raise ValidationError(
            f"covariance term {m.group(0)!r}: only spatial structures take several coordinates"
        )
    fixed = (rhs[: m.start()] + rhs[m.end() :]).strip()
    fixed = re.sub(r"\+\s*\+", "+", fixed).strip().strip("+").strip()
    return FormulaParts(response, fixed or "1", cov_type, time, subject, group)


@lru_cache(maxsize=128)
def _fixed_formula(rhs: str) -> Any:
    """Parsed formulaic formula (parsing costs more than materialising a small design)."""
    from formulaic import Formula

    return Formula(rhs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def r_name(name: str) -> str:
    """formulaic column name -> R-style coefficient name (``ARMCD[T.TRT]`` -> ``ARMCDTRT``)."""
    if name == "Intercept":
        return "(Intercept)"
    return _T_RE.sub(lambda mt: mt.group(1), name)


@dataclass(frozen=True)
class Design:
    """Data of one fit laid out for the likelihood (rows sorted by subject, then time)."""

    y: np.ndarray
    X: np.ndarray
    weights: np.ndarray
    subject_codes: np.ndarray  # int per row, 0..n_subjects-1 (in order of appearance)
    visit_codes: np.ndarray  # int per row, 0..n_visits-1 (non-spatial)
    group_codes: np.ndarray  # int per row, 0..n_groups-1
    coords: np.ndarray | None  # (n, d) for spatial structures
    column_names: tuple[str, ...]
    raw_column_names: tuple[str, ...]
    term_names: tuple[str, ...]
    term_columns: tuple[tuple[int, ...], ...]
    term_variables: tuple[tuple[str, ...], ...]
    visit_levels: tuple[str, ...]
    group_levels: tuple[str, ...]
    subject_levels: tuple[str, ...]
    factor_levels: dict[str, tuple[str, ...]]
    numeric_means: dict[str, float]
    model_spec: Any = field(repr=False)
    n_dropped: int = 0


def _levels(series: pd.Series, override: list[str] | None, column: str) -> list[str]:
    present = sorted(pd.unique(series.astype(str)))
    if override is None:
        return present
    override = [str(v) for v in override]
    missing = [v for v in present if v not in override]
    if missing:
        raise ValidationError(
            f"--levels {column}: values {missing} present in the data are not listed; listed {override}"
        )
    return [v for v in override if v in present]


def build_design(
    data: pd.DataFrame,
    parts: FormulaParts,
    *,
    levels: dict[str, list[str]] | None = None,
    weights: str | None = None,
) -> Design:
    """Validate ``data`` against the formula and build the arrays the likelihood needs."""
    from formulaic import model_matrix

    if not isinstance(data, pd.DataFrame):
        raise ValidationError("data must be a pandas DataFrame")
    levels = dict(levels or {})
    cov_vars = [*parts.time, parts.subject] + ([parts.group] if parts.group else [])
    needed = [parts.response, *cov_vars] + ([weights] if weights else [])
    try:
        fixed_formula = _fixed_formula(parts.fixed_rhs)
        rhs_names = {str(v) for v in fixed_formula.required_variables}
    except Exception as exc:  # noqa: BLE001 - formulaic raises several parser errors
        raise ValidationError(
            f"fixed-effects formula '{parts.fixed_rhs}' cannot be parsed: {_first_line(exc)}"
        ) from exc
    unknown = sorted(rhs_names - set(map(str, data.columns)))
    if unknown:
        raise ValidationError(
            f"formula names column(s) {unknown} that are not in the data; columns: {list(data.columns)}"
        )
    fixed_vars = [c for c in data.columns if c in rhs_names]
    for col in needed:
        if col not in data.columns:
            raise ValidationError(
                f"column '{col}' named in the formula/options is not in the data; columns: {list(data.columns)}"
            )
    for col in levels:
        if col not in data.columns:
            raise ValidationError(f"--levels names column '{col}' that is not in the data")
    df = data.loc[:, list(dict.fromkeys([*needed, *fixed_vars]))].copy()
    n_before = len(df)
    df = df.dropna(subset=[parts.response])
    complete = df.notna().all(axis=1)
    df = df.loc[complete]
    n_dropped = n_before - len(df)
    if len(df) == 0:
        raise ValidationError(
            f"no rows with a non-missing '{parts.response}' and complete covariates"
        )
    if not pd.api.types.is_numeric_dtype(df[parts.response]):
        raise ValidationError(f"response '{parts.response}' must be numeric")

    factor_levels: dict[str, tuple[str, ...]] = {}
    numeric_means: dict[str, float] = {}
    for col in fixed_vars:
        if (
            pd.api.types.is_numeric_dtype(df[col])
            and not isinstance(df[col].dtype, pd.CategoricalDtype)
            and col not in levels
        ):
            numeric_means[col] = float(df[col].mean())
            continue
        lv = _levels(df[col], levels.get(col), col)
        df[col] = pd.Categorical(df[col].astype(str), categories=lv)
        factor_levels[col] = tuple(lv)

    subj = df[parts.subject].astype(str)
    subject_levels = tuple(pd.unique(subj))
    subject_codes = pd.Categorical(subj, categories=list(subject_levels)).codes.astype(np.int64)
    if parts.group:
        glv = _levels(df[parts.group], levels.get(parts.group), parts.group)
        group_codes = pd.Categorical(df[parts.group].astype(str), categories=glv).codes.astype(
            np.int64
        )
        first_group = np.zeros(len(subject_levels), dtype=np.int64)
        first_group[subject_codes] = group_codes
        if np.any(first_group[subject_codes] != group_codes):
            raise ValidationError(f"covariance group '{parts.group}' changes within a subject")
    else:
        glv = ["all"]
        group_codes = np.zeros(len(df), dtype=np.int64)

    coords = None
    if parts.is_spatial:
        for c in parts.time:
            if not pd.api.types.is_numeric_dtype(df[c]):
                raise ValidationError(f"spatial coordinate '{c}' must be numeric")
        coords = df[list(parts.time)].to_numpy(dtype=float)
        visit_levels: list[str] = []
        visit_codes = np.zeros(len(df), dtype=np.int64)
        order = np.lexsort((np.arange(len(df)), subject_codes))
    else:
        tcol = parts.time[0]
        visit_levels = _levels(df[tcol], levels.get(tcol), tcol)
        if pd.api.types.is_numeric_dtype(df[tcol]) and tcol not in levels:
            visit_levels = [str(v) for v in sorted(pd.unique(df[tcol]))]
        visit_codes = pd.Categorical(df[tcol].astype(str), categories=visit_levels).codes.astype(
            np.int64
        )
        pair = subject_codes * (len(visit_levels) + 1) + visit_codes
        uniq, cnt = np.unique(pair, return_counts=True)
        if np.any(cnt > 1):
            bad = subject_levels[int(uniq[cnt > 1][0] // (len(visit_levels) + 1))]
            raise ValidationError(
                f"subject '{bad}' has two rows for the same {tcol}; one row per subject and visit is allowed"
            )
        order = np.lexsort((visit_codes, subject_codes))

    df = df.iloc[order]
    subject_codes, visit_codes, group_codes = (
        subject_codes[order],
        visit_codes[order],
        group_codes[order],
    )
    if coords is not None:
        coords = coords[order]
    w = np.ones(len(df))
    if weights:
        w = df[weights].to_numpy(dtype=float)
        if not np.all(w > 0):
            raise ValidationError(f"weights column '{weights}' must be positive")

    try:
        mm = model_matrix(fixed_formula, df, na_action="raise")
    except Exception as exc:  # noqa: BLE001 - report formulaic's reason on one line
        raise ValidationError(
            f"fixed-effects formula '{parts.fixed_rhs}': {_first_line(exc)}"
        ) from exc
    spec = mm.model_spec
    X = np.asarray(mm, dtype=float)
    names = tuple(r_name(c) for c in mm.columns)
    if X.shape[1]:
        xtx = X.T @ X
        scale = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
        rank = np.linalg.matrix_rank(xtx / np.outer(scale, scale), tol=1e-10)
        if rank < X.shape[1]:
            raise ValidationError(
                f"the fixed-effects design of '{parts.fixed_rhs}' is rank deficient "
                f"({rank} of {X.shape[1]} columns estimable); drop aliased terms or unused levels"
            )
    term_names, term_cols, term_vars = [], [], []
    for term, idx in spec.term_indices.items():
        tname = str(term)
        term_names.append("(Intercept)" if tname == "1" else tname)
        term_cols.append(tuple(int(i) for i in idx))
        term_vars.append(tuple(str(f) for f in term.factors if str(f) != "1"))
    return Design(
        y=df[parts.response].to_numpy(dtype=float),
        X=X,
        weights=w,
        subject_codes=subject_codes,
        visit_codes=visit_codes,
        group_codes=group_codes,
        coords=coords,
        column_names=names,
        raw_column_names=tuple(str(c) for c in mm.columns),
        term_names=tuple(term_names),
        term_columns=tuple(term_cols),
        term_variables=tuple(term_vars),
        visit_levels=tuple(visit_levels),
        group_levels=tuple(glv),
        subject_levels=subject_levels,
        factor_levels=factor_levels,
        numeric_means=numeric_means,
        model_spec=spec,
        n_dropped=int(n_dropped),
    )
