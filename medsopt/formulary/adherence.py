"""Adherence classes (formulary/adherence-classes.yaml): the file format and its checks.

A committee file like the rule and formulary files: validated with positions, so every problem
is reported as file:line:column. Pure: callers hand in the texts of the file and of the files
it names, and the kind of each group of the compiled rule set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, field_validator, model_validator

from medsopt.authoring.codelists import parse_codelist
from medsopt.authoring.diagnostics import (
    Diagnostic,
    DiagnosticKind,
    Level,
    RuleSetError,
    did_you_mean,
)
from medsopt.authoring.fields import FileModel, Identifier, Text
from medsopt.authoring.source_map import Path, SourceMap, parse_yaml
from medsopt.authoring.validate import validate, validated_files
from medsopt.formulary.doses import dose_problems

ADHERENCE_CLASSES = "adherence-classes.yaml"  # in the formulary directory
_WHERE = "a path relative to the formulary directory, e.g. adherence/x.csv"


def _relative(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or ".." in parts or not path.endswith(".csv"):
        raise ValueError(f"must be {_WHERE}")
    return path


# A CSV inside the formulary directory (never an absolute path or one that climbs out of it).
FormularyCsv = Annotated[str, AfterValidator(_relative)]


class AdherenceClass(FileModel):
    """One therapeutic class whose PDC is measured."""

    id: Identifier
    title: Text
    label: Text  # in plain-words reasons: "statin PDC 0.54 over 220 days"
    measure: Text  # the published measure it follows
    codelists: tuple[FormularyCsv, ...] = ()  # code,term CSVs
    groups: tuple[Identifier, ...] = ()  # medicine groups of the compiled rule set

    @model_validator(mode="after")
    def _has_members(self) -> AdherenceClass:
        if not (self.codelists or self.groups):
            raise ValueError("a class needs codelists or groups")
        return self


class AdherenceFile(FileModel):
    """formulary/adherence-classes.yaml."""

    classes: tuple[AdherenceClass, ...]
    default_doses: FormularyCsv | None = None  # code,term,daily_units,basis CSV

    @field_validator("classes")
    @classmethod
    def _not_empty(cls, classes: tuple[AdherenceClass, ...]) -> tuple[AdherenceClass, ...]:
        # Not Field(min_length=1): pydantic would report the length beside every invalid class,
        # a second message for one typo. A validator runs only once the classes are valid.
        if not classes:
            raise ValueError("list at least one class")
        return classes


def named_files(text: str) -> tuple[str, ...]:
    """The CSVs a valid file names, for the caller to read; none when the file is invalid."""
    valid, _ = validate(parse_yaml(text, ADHERENCE_CLASSES), AdherenceFile)
    if valid is None:
        return ()
    named = [path for cls in valid.classes for path in cls.codelists]
    return tuple(dict.fromkeys([*named, *filter(None, [valid.default_doses])]))


def compile_adherence_classes(
    sources: Mapping[str, str], groups: Mapping[str, str]
) -> tuple[AdherenceFile, tuple[Diagnostic, ...]]:
    """The validated file and its warnings; raise RuleSetError listing every error.

    `sources` holds ADHERENCE_CLASSES and the files it names that exist (paths relative to the
    formulary directory); `groups` maps each group id of the compiled rule set to its kind.
    """
    problems: list[Diagnostic] = []
    found = list(validated_files(sources, [ADHERENCE_CLASSES], AdherenceFile, problems))
    if not found:
        raise RuleSetError(problems)
    _, model, source_map = found[0]
    problems += _duplicate_ids(model, source_map)
    problems += _group_problems(model, source_map, groups)
    problems += _file_problems(model, source_map, sources)
    errors = [p for p in problems if p.level is Level.ERROR]
    if errors:
        raise RuleSetError(errors)
    return model, tuple(sorted(problems))


def _at(
    source_map: SourceMap,
    where: Path,
    kind: DiagnosticKind,
    message: str,
    expected: str = "",
    hint: str = "",
) -> Diagnostic:
    return Diagnostic(ADHERENCE_CLASSES, *source_map.locate(where), kind, message, expected, hint)


def _duplicate_ids(model: AdherenceFile, source_map: SourceMap) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    first: dict[str, int] = {}
    for index, cls in enumerate(model.classes):
        where: Path = ("classes", index, "id")
        if cls.id in first:
            message = f"class id {cls.id!r} is already used on line {first[cls.id]}"
            problems.append(_at(source_map, where, DiagnosticKind.DUPLICATE_ID, message))
        first.setdefault(cls.id, source_map.locate(where)[0])
    return problems


def _group_problems(
    model: AdherenceFile, source_map: SourceMap, groups: Mapping[str, str]
) -> list[Diagnostic]:
    """Each group a class names must be a medicine group of the rule set."""
    problems: list[Diagnostic] = []
    medicine = [gid for gid, kind in groups.items() if kind == "medicine"]
    for index, cls in enumerate(model.classes):
        for position, group in enumerate(cls.groups):
            kind = groups.get(group)
            where: Path = ("classes", index, "groups", position)
            if kind is None:
                message = f"class {cls.id!r}: {group!r} is not a medicine group of the rule set"
                hint = did_you_mean(group, medicine)
                problems.append(
                    _at(source_map, where, DiagnosticKind.UNKNOWN_REFERENCE, message, hint=hint)
                )
            elif kind != "medicine":
                message = f"class {cls.id!r}: {group!r} is a {kind} group of the rule set"
                expected = "a medicine group"
                problems.append(
                    _at(source_map, where, DiagnosticKind.UNKNOWN_REFERENCE, message, expected)
                )
    return problems


def _file_problems(
    model: AdherenceFile, source_map: SourceMap, sources: Mapping[str, str]
) -> list[Diagnostic]:
    """Each named CSV must exist and be valid (checked once, however many classes name it)."""
    named: dict[str, tuple[Path, str]] = {}
    for index, cls in enumerate(model.classes):
        for position, path in enumerate(cls.codelists):
            where: Path = ("classes", index, "codelists", position)
            named.setdefault(path, (where, f"class {cls.id!r}: codelist {path!r}"))
    if model.default_doses is not None:
        path = model.default_doses
        named.setdefault(path, (("default_doses",), f"default doses {path!r}"))
    problems: list[Diagnostic] = []
    for path, (where, what) in named.items():
        text = sources.get(path)
        if text is None:
            message = f"{what} not found"
            problems.append(_at(source_map, where, DiagnosticKind.MISSING_FILE, message, _WHERE))
        elif path == model.default_doses:
            problems += dose_problems(text, path)
        else:
            problems += parse_codelist(text, path)[1]
    return problems
