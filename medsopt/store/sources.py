"""Read a rules directory into {relative path: text} and compile it against a dm+d extract."""

from __future__ import annotations

from pathlib import Path

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError
from medsopt.dmd.index import DmdIndex
from medsopt.rules.compile import Compiled, compile_ruleset

SOURCE_SUFFIXES = (".yaml", ".yml", ".csv")


def read_sources(directory: Path) -> dict[str, str]:
    """Every rule, group, codelist and test file under `directory`, keyed by POSIX relative path."""
    if not directory.is_dir():
        raise RuleSetError(
            [Diagnostic(str(directory), 1, 1, DiagnosticKind.MISSING_FILE, "not a directory")]
        )
    sources: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
            continue
        relative = path.relative_to(directory).as_posix()
        if any(part.startswith(".") for part in Path(relative).parts):
            continue  # editor swap files and hidden directories are never rule content
        try:
            sources[relative] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            problems.append(
                Diagnostic(
                    relative,
                    1,
                    1,
                    DiagnosticKind.YAML_SYNTAX,
                    f"not UTF-8 text: {error.reason}",
                )
            )
    if problems:
        raise RuleSetError(problems)
    return sources


def load_rules(directory: Path, dmd: DmdIndex) -> Compiled:
    """Read and compile a rules directory; raises RuleSetError with every problem."""
    return compile_ruleset(read_sources(directory), dmd)
