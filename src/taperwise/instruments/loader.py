"""Read instrument definitions from YAML; errors name the file and line.

The YAML is composed into a node tree first so that every value keeps its line; a pydantic error
at ``items -> 3 -> allowed`` is reported at the line of that value, e.g.
``bad.yaml:27: items.3.allowed: allowed scores must be strictly increasing``.

Example
-------
>>> from pathlib import Path
>>> from taperwise.instruments.loader import load_instrument_file
>>> import taperwise.instruments as ti
>>> inst = load_instrument_file(Path(ti.__file__).parent / "definitions" / "cows.yaml")
>>> inst.id, len(inst.items)
('cows', 11)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml

from taperwise.errors import DefinitionError
from taperwise.instruments.model import Instrument

_Path = tuple[Any, ...]


def _walk(
    loader: yaml.SafeLoader, node: yaml.Node, path: _Path, lines: dict[_Path, int], source: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise DefinitionError(
                    f"{source}:{key_node.start_mark.line + 1}: duplicate key '{key}'"
                )
            seen.add(key)
            _walk(loader, value_node, (*path, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(loader, child, (*path, index), lines, source)


def parse_yaml_with_lines(text: str, source: str) -> tuple[Any, dict[_Path, int]]:
    """Parse YAML text; return the data and a map from each value's path to its line number."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DefinitionError(f"{source}:1: empty definition")
        lines: dict[_Path, int] = {}
        _walk(loader, node, (), lines, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise DefinitionError(f"{source}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{source}:1: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines


def _line_for(loc: tuple[Any, ...], lines: dict[_Path, int]) -> int:
    # pydantic locations can be longer than the YAML path (validator names, dict keys): use the
    # longest prefix that exists in the file.
    for end in range(len(loc), -1, -1):
        prefix = tuple(loc[:end])
        if prefix in lines:
            return lines[prefix]
        # YAML may spell a score key as int where pydantic reports it as str
        alt = tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in prefix)
        if alt in lines:
            return lines[alt]
    return 1


def instrument_from_data(data: Any, lines: dict[_Path, int], source: str) -> Instrument:
    """Validate parsed YAML data into an :class:`Instrument`, raising a one-line DefinitionError."""
    if not isinstance(data, dict):
        raise DefinitionError(f"{source}:1: an instrument definition must be a mapping")
    try:
        return Instrument.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(
            p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        message = first["msg"].removeprefix("Value error, ")
        if message.startswith("@") and "@ " in message[1:]:
            # a model validator named the sub-path of the problem (see model.located)
            sub, message = message[1:].split("@ ", 1)
            loc = (*loc, *(int(p) if p.isdigit() else p for p in sub.split(".")))
        where = ".".join(str(p) for p in loc) or "definition"
        more = (
            f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            if len(errors) > 1
            else ""
        )
        raise DefinitionError(
            f"{source}:{_line_for(loc, lines)}: {where}: {message}{more}"
        ) from None


def load_instrument_text(text: str, source: str = "<string>") -> Instrument:
    """Load an instrument definition from YAML text (``source`` names it in errors)."""
    data, lines = parse_yaml_with_lines(text, source)
    return instrument_from_data(data, lines, source)


def load_instrument_file(path: str | Path) -> Instrument:
    """Load one ``*.yaml`` instrument definition; its file name (stem) must equal its ``id``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            f"{path}:1: cannot read instrument definition: {exc.strerror}"
        ) from None
    inst = load_instrument_text(text, str(path))
    if path.stem != inst.id:
        data, lines = parse_yaml_with_lines(text, str(path))
        raise DefinitionError(
            f"{path}:{lines.get(('id',), 1)}: id '{inst.id}' must match the file name '{path.stem}'"
        )
    return inst
