"""Load a protocol from YAML; every problem is reported as ``file:line: path: message``."""

from __future__ import annotations

import logging
import types
import typing
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel

from taperwise.errors import DefinitionError, NotFoundError
from taperwise.protocol._located import LocatedValueError
from taperwise.protocol.document import Protocol
from taperwise.protocol.yamlsource import YamlDocument, format_loc, load_yaml_with_lines

log = logging.getLogger(__name__)

_OPS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_OP_CTX = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol YAML file.

    Parameters
    ----------
    path
        The YAML file.

    Returns
    -------
    Protocol

    Raises
    ------
    NotFoundError
        The file does not exist.
    DefinitionError
        One line ``file:line: path: message`` for the first problem (in file order); the
        exception's ``problems`` attribute lists every problem found.

    Examples
    --------
    >>> p = load_protocol("examples/lofexidine-phase3.yaml")  # doctest: +SKIP
    >>> p.arm("LFX288").regimen.max_daily_dose  # doctest: +SKIP
    2.88
    """
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"{file}: protocol file not found")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{file}:1: not UTF-8 text ({exc.reason})") from None
    return parse_protocol(text, source=str(path))


def parse_protocol(text: str, source: str = "<protocol>") -> Protocol:
    """Validate protocol YAML text; ``source`` names it in error messages.

    Examples
    --------
    >>> parse_protocol("id: x\\n", source="x.yaml")
    Traceback (most recent call last):
    ...
    taperwise.errors.DefinitionError: x.yaml:1: version: required field is missing (and 5 more problems)
    """
    doc = load_yaml_with_lines(text, source)
    if not isinstance(doc.data, dict):
        raise DefinitionError(
            f"{source}:1: a protocol must be a YAML mapping (got {type(doc.data).__name__})"
        )
    try:
        protocol = Protocol.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        problems = problems_from(exc, doc)
        first = problems[0]
        more = (
            f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
            if len(problems) > 1
            else ""
        )
        error = DefinitionError(first + more)
        error.problems = problems  # type: ignore[attr-defined]
        raise error from None
    log.debug("protocol %s version %s loaded from %s", protocol.id, protocol.version, source)
    return protocol


def problems_from(exc: pydantic.ValidationError, doc: YamlDocument) -> list[str]:
    """Every error of ``exc`` as ``source:line: path: message``, in file order."""
    rows: list[tuple[int, int, str]] = []
    for n, err in enumerate(exc.errors(include_url=False)):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("["))]
        message = _message(err, loc)
        located = (err.get("ctx") or {}).get("error")
        if isinstance(located, LocatedValueError):
            loc = [*loc, *located.loc]
            message = located.message
        line = doc.line_of(loc) or 1
        rows.append((line, n, f"{doc.source}:{line}: {format_loc(loc)}: {message}"))
    rows.sort()
    return [r[2] for r in rows]


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _got(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return type(value).__name__
    return repr(value) if isinstance(value, str) else str(value)


def _message(err: Any, loc: list[str | int]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(loc[:-1])
        return "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if kind in _OPS:
        return f"must be {_OPS[kind]} {_num(ctx.get(_OP_CTX[kind]))} (got {_got(err.get('input'))})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {_got(err.get('input'))})"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return f"'{err.get('input')}' is not allowed here: use letters, digits and '_' (pattern {ctx.get('pattern')})"
    message = str(err["msg"])
    message = message[0].lower() + message[1:] if message else message
    return f"{message} (got {_got(err.get('input'))})"


def _allowed_fields(loc: list[str | int]) -> list[str]:
    """Field names of the model found at ``loc`` (empty when it cannot be resolved)."""
    current: Any = Protocol
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    # Optional[X] / X | None -> X
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _step(tp: Any, part: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None
