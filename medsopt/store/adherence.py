"""Read formulary/adherence-classes.yaml and the CSVs it names, and validate them together."""

from __future__ import annotations

from pathlib import Path

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError
from medsopt.formulary.adherence import (
    ADHERENCE_CLASSES,
    AdherenceFile,
    compile_adherence_classes,
    named_files,
)
from medsopt.rules.ruleset import RuleSet


def load_adherence_classes(
    formulary_dir: Path, ruleset: RuleSet
) -> tuple[AdherenceFile | None, tuple[Diagnostic, ...]]:
    """The classes (None when `formulary_dir` has no class file) and their warnings.

    Raises RuleSetError with every problem at file:line:column, paths relative to
    `formulary_dir`; group ids are checked against `ruleset`.
    """
    path = formulary_dir / ADHERENCE_CLASSES
    if not path.is_file():
        return None, ()
    text = _read(path, ADHERENCE_CLASSES)
    sources = {ADHERENCE_CLASSES: text}
    for relative in named_files(text):
        named = formulary_dir / relative
        if named.is_file():
            sources[relative] = _read(named, relative)
    groups = {gid: group.kind for gid, group in ruleset.groups.items()}
    return compile_adherence_classes(sources, groups)


def _read(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text: {error.reason}"
        raise RuleSetError([Diagnostic(label, 1, 1, DiagnosticKind.YAML_SYNTAX, message)]) from None
