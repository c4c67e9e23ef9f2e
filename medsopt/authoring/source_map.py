"""Parse YAML into plain data while keeping the line and column of every value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind

try:  # libyaml's composer is much faster; the pure-Python one gives the same nodes.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Positions (1-based line, column) of each path in one parsed file."""

    file: str
    positions: Mapping[Path, tuple[int, int]]

    def locate(self, path: Path) -> tuple[int, int]:
        """Position of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return (1, 1)


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    """A YAML document as plain data, its source map, and any structural problems found."""

    data: Any
    source_map: SourceMap
    diagnostics: tuple[Diagnostic, ...]


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document, reporting syntax errors and duplicate keys as diagnostics."""
    positions: dict[Path, tuple[int, int]] = {}
    problems: list[Diagnostic] = []
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(
            Diagnostic(file, line, column, DiagnosticKind.YAML_SYNTAX, str(error.problem))
        )
        return ParsedYaml(None, SourceMap(file, positions), tuple(problems))
    constructor = yaml.constructor.SafeConstructor()

    def build(current: yaml.Node, path: Path) -> Any:
        positions[path] = (current.start_mark.line + 1, current.start_mark.column + 1)
        if isinstance(current, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in current.value:
                key = constructor.construct_object(key_node, deep=True)
                if key in result:
                    problems.append(
                        Diagnostic(
                            file,
                            key_node.start_mark.line + 1,
                            key_node.start_mark.column + 1,
                            DiagnosticKind.DUPLICATE_KEY,
                            f"key {key!r} appears twice in this mapping; YAML would keep only "
                            "the last one",
                        )
                    )
                result[key] = build(value_node, (*path, key))
                # A key's own position is more useful than its value's for "unknown field".
                positions[(*path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            return result
        if isinstance(current, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(current.value)]
        return constructor.construct_object(current, deep=True)

    data = build(node, ()) if node is not None else None
    return ParsedYaml(data, SourceMap(file, positions), tuple(problems))
