"""Read YAML while remembering the line of every mapping key and sequence item.

PyYAML's composer keeps a start mark on every node. We compose the node tree, build the plain
Python value ourselves (so both views come from the same parse) and record, for every path
``("arms", 1, "regimen", "max_daily_dose")``, the 1-based line where that entry starts. A
validation error can then be reported as ``file:line: arms[1].regimen.max_daily_dose: ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from taperwise.errors import DefinitionError

PathKey = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (about 10x faster); same marks, same tags
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document and the line of each path in it.

    Examples
    --------
    >>> doc = load_yaml_with_lines("a:\\n  b: [1, 2]\\n", "x.yaml")
    >>> doc.data
    {'a': {'b': [1, 2]}}
    >>> doc.line_of(("a", "b", 1))
    2
    """

    data: Any
    source: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of the deepest known path that ``loc`` starts with (None when nothing matches)."""
        path: list[str | int] = []
        best = self.lines.get(())
        for part in loc:
            candidate = (*path, part)
            if candidate not in self.lines and isinstance(part, int):
                candidate = (*path, str(part))  # mapping keys written as numbers, e.g. `1: ...`
            if candidate in self.lines:
                path = list(candidate)
                best = self.lines[candidate]
            # parts that are not in the document (pydantic union tags, a missing field) are skipped
        return best


def format_loc(loc: Sequence[str | int]) -> str:
    """``("arms", 1, "regimen")`` -> ``arms[1].regimen``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def load_yaml_with_lines(text: str, source: str) -> YamlDocument:
    """Parse one YAML document (safe tags only) and map every path to its line.

    Raises
    ------
    DefinitionError
        ``source:line: YAML syntax error: ...`` for malformed YAML, ``source:line: path:
        duplicate key 'x'`` for a key written twice in one mapping.
    """
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if ctx is not None and exc.context and ctx.line + 1 != line:
            problem += f" ({exc.context} on line {ctx.line + 1})"
        raise DefinitionError(f"{source}:{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{source}:1: YAML error: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        return YamlDocument(data=None, source=source, lines={(): 1})
    lines: dict[PathKey, int] = {}
    try:
        data = _build(loader, node, (), lines, source)
    except yaml.YAMLError as exc:  # a bad scalar, e.g. an invalid timestamp
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise DefinitionError(
            f"{source}:{line}: YAML error: {getattr(exc, 'problem', exc)}"
        ) from None
    return YamlDocument(data=data, source=source, lines=lines)


def _build(
    loader: Any, node: yaml.Node, path: PathKey, lines: dict[PathKey, int], source: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolve `<<:` merge keys the way PyYAML does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                raise DefinitionError(
                    f"{source}:{key_node.start_mark.line + 1}: {format_loc(path)}: "
                    "mapping keys must be plain values"
                )
            if key in result:
                raise DefinitionError(
                    f"{source}:{key_node.start_mark.line + 1}: {format_loc(path)}: "
                    f"duplicate key '{key}'"
                )
            child = (*path, key if isinstance(key, (str, int)) else str(key))
            lines[child] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, child, lines, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, i), lines, source) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
