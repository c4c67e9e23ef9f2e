"""Parse YAML into plain data while keeping the line and column of every value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, token
from medsopt.authoring.yaml_screen import Loader, screen_yaml

# Values after aliases are expanded: bundled files hold at most ~10k; a file that expands to
# far more (one anchor aliased thousands of times) is refused, not built.
MAX_VALUES = 200_000

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


class _TooManyValuesError(Exception):
    """The expanded document exceeds MAX_VALUES."""


def _position(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document, reporting syntax errors, duplicate keys and anything unsafe
    (tags, nested aliases, keys that are not plain values, excessive size) as diagnostics."""
    positions: dict[Path, tuple[int, int]] = {}
    problems: list[Diagnostic] = list(screen_yaml(text, file))
    if problems:
        return ParsedYaml(None, SourceMap(file, positions), tuple(problems))
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(
            Diagnostic(file, line, column, DiagnosticKind.YAML_SYNTAX, str(error.problem))
        )
        return ParsedYaml(None, SourceMap(file, positions), tuple(problems))
    constructor = yaml.constructor.SafeConstructor()
    built = 0

    def scalar(current: yaml.Node) -> Any:
        try:
            return constructor.construct_object(current, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
            # e.g. a date that does not exist (2026-13-45), or an integer too long to convert
            line, column = _position(current)
            problem = type(error).__name__ if not isinstance(error, ValueError) else "invalid"
            problems.append(
                Diagnostic(
                    file,
                    line,
                    column,
                    DiagnosticKind.INVALID_VALUE,
                    f"value {token(current.value)} cannot be read ({problem})",
                )
            )
            return None

    def build(current: yaml.Node, path: Path) -> Any:
        nonlocal built
        built += 1
        if built > MAX_VALUES:
            raise _TooManyValuesError
        positions[path] = _position(current)
        if isinstance(current, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    line, column = _position(key_node)
                    problems.append(
                        Diagnostic(
                            file,
                            line,
                            column,
                            DiagnosticKind.YAML_KEY,
                            "a key must be a plain value, not a mapping or a list",
                        )
                    )
                    continue
                key = scalar(key_node)
                if key in result:
                    problems.append(
                        Diagnostic(
                            file,
                            *_position(key_node),
                            DiagnosticKind.DUPLICATE_KEY,
                            f"key {token(key)} appears twice in this mapping; YAML would keep "
                            "only the last one",
                        )
                    )
                result[key] = build(value_node, (*path, key))
                # A key's own position is more useful than its value's for "unknown field".
                positions[(*path, key)] = _position(key_node)
            return result
        if isinstance(current, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(current.value)]
        return scalar(current)

    try:
        data = build(node, ()) if node is not None else None
    except _TooManyValuesError:
        message = f"file expands to more than {MAX_VALUES:,} values (aliases included)"
        problems.append(Diagnostic(file, 1, 1, DiagnosticKind.TOO_LARGE, message))
    if problems:
        # A document with a value that could not be read is not handed on half-built.
        return ParsedYaml(None, SourceMap(file, positions), tuple(problems))
    return ParsedYaml(data, SourceMap(file, positions), ())
