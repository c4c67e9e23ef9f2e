"""Read formulary/adherence-classes.yaml and the CSVs it names, and validate them together."""

from __future__ import annotations

from pathlib import Path

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.formulary.adherence import (
    ADHERENCE_CLASSES,
    AdherenceFile,
    compile_adherence_classes,
    named_files,
)
from medsopt.rules.ruleset import RuleSet
from medsopt.store.sources import read_text


def load_adherence_classes(
    formulary_dir: Path, ruleset: RuleSet
) -> tuple[AdherenceFile | None, tuple[Diagnostic, ...]]:
    """The classes (None when `formulary_dir` has no class file) and their warnings.

    Raises RuleSetError with every problem at file:line:column, paths relative to
    `formulary_dir`; group ids are checked against `ruleset`.
    """
    if not (formulary_dir / ADHERENCE_CLASSES).is_file():
        return None, ()
    sources = {
        relative: read_text(formulary_dir, relative) for relative in adherence_files(formulary_dir)
    }
    groups = {gid: group.kind for gid, group in ruleset.groups.items()}
    return compile_adherence_classes(sources, groups)


def adherence_files(formulary_dir: Path) -> tuple[str, ...]:
    """The class file and the files it names that exist, relative to `formulary_dir`."""
    if not (formulary_dir / ADHERENCE_CLASSES).is_file():
        return ()
    text = read_text(formulary_dir, ADHERENCE_CLASSES)
    named = [relative for relative in named_files(text) if (formulary_dir / relative).is_file()]
    return (ADHERENCE_CLASSES, *named)
