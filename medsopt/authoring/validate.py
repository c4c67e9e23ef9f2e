"""Validate parsed YAML against a pydantic model, mapping each error to file:line:column."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, did_you_mean, token
from medsopt.authoring.source_map import ParsedYaml, Path, SourceMap, parse_yaml

M = TypeVar("M", bound=BaseModel)


def validate(parsed: ParsedYaml, model: type[M]) -> tuple[M | None, tuple[Diagnostic, ...]]:
    """The validated model (None on error) and every problem found, structural ones first."""
    problems = list(parsed.diagnostics)
    if parsed.data is None and not problems:
        problems.append(
            Diagnostic(parsed.source_map.file, 1, 1, DiagnosticKind.MISSING_FIELD, "file is empty")
        )
    if problems:
        return None, tuple(problems)
    try:
        return model.model_validate(parsed.data), ()
    except ValidationError as error:
        return None, tuple(_diagnostic(parsed, model, e) for e in error.errors())


def validated_files(
    sources: Mapping[str, str],
    paths: Iterable[str],
    model: type[M],
    problems: list[Diagnostic],
) -> Iterator[tuple[str, M, SourceMap]]:
    """Each of `paths` (in order) that validates as `model`, with its source map.

    Every problem found is appended to `problems`; a file with problems is not yielded.
    """
    for path in sorted(paths):
        parsed = parse_yaml(sources[path], path)
        valid, found = validate(parsed, model)
        problems.extend(found)
        if valid is not None:
            yield path, valid, parsed.source_map


def _diagnostic(parsed: ParsedYaml, model: type[BaseModel], error: Any) -> Diagnostic:
    path = _data_path(parsed.data, error["loc"])
    line, column = parsed.source_map.locate(path)
    where = _dotted(path)
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return Diagnostic(
            parsed.source_map.file,
            line,
            column,
            DiagnosticKind.UNKNOWN_FIELD,
            f"{token(name)} is not a field here",
            expected="one of the documented fields",
            hint=did_you_mean(name, _all_field_names(model)),
        )
    if kind == "missing":
        name = str(error["loc"][-1])
        return Diagnostic(
            parsed.source_map.file,
            line,
            column,
            DiagnosticKind.MISSING_FIELD,
            f"{_dotted((*path, name))} is required",
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    expected = ""
    if kind == "string_type" and isinstance(error.get("input"), int):
        expected = "a string"
        message = f"{where} is a number"
        hint = "quote codes and ids, e.g. '319733000', so they stay exact"
        return Diagnostic(
            parsed.source_map.file,
            line,
            column,
            DiagnosticKind.INVALID_VALUE,
            message,
            expected,
            hint,
        )
    value = error.get("input")
    if kind in _SHAPES:
        hint = ""
        if kind in ("tuple_type", "list_type") and isinstance(value, str | int):
            hint = f"write [{value}] for a list of one"
        return Diagnostic(
            parsed.source_map.file,
            line,
            column,
            DiagnosticKind.INVALID_VALUE,
            f"{where or 'file'} is {_described(value)}",
            expected=_SHAPES[kind],
            hint=hint,
        )
    if kind == "literal_error":
        return Diagnostic(
            parsed.source_map.file,
            line,
            column,
            DiagnosticKind.INVALID_VALUE,
            f"{where}: {token(value)} is not allowed",
            expected=str(error["ctx"]["expected"]),
            hint=did_you_mean(str(value), _literal_choices(str(error["ctx"]["expected"]))),
        )
    shown = f" {token(value)}" if isinstance(value, str | int | float) else ""
    if shown and message.startswith(token(value)):
        shown = ""  # the validator's message already quotes the value
    return Diagnostic(
        parsed.source_map.file,
        line,
        column,
        DiagnosticKind.INVALID_VALUE,
        f"{where or 'file'}:{shown} {message}".replace(": :", ":"),
    )


# What a value was expected to be, for pydantic's type errors, in a committee's words.
_LIST = "a list, e.g. [a, b]"
_MAPPING = "a mapping of field: value"
_SHAPES = {
    "tuple_type": _LIST,
    "list_type": _LIST,
    "dict_type": _MAPPING,
    "model_type": _MAPPING,
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _described(value: Any) -> str:
    """How a YAML value reads to its author: "the text 'statins'", "a list"."""
    if value is None:
        return "empty"
    if isinstance(value, str):
        return f"the text {token(value)}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _literal_choices(expected: str) -> list[str]:
    """The quoted choices in pydantic's "'a', 'b' or 'c'"."""
    return [part.strip().strip("'") for part in expected.replace(" or ", ",").split(",")]


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """The part of pydantic's `loc` that names real data (drops union/validator labels)."""
    path: list[str | int] = []
    current = data
    for element in loc:
        in_mapping = isinstance(current, dict) and element in current
        in_list = isinstance(current, list) and isinstance(element, int) and element < len(current)
        if in_mapping or in_list:
            current = current[element]
            path.append(element)
    return tuple(path)


def _dotted(path: Path) -> str:
    text = ""
    for element in path:
        text += f"[{element}]" if isinstance(element, int) else f".{element}" if text else element
    return text


@cache
def _all_field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name reachable from `model`, for typo hints."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo = [model]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            names.add(name)
            todo.extend(_models_in(info.annotation))
    return frozenset(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]
