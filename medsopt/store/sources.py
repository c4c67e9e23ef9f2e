"""Read committee files from disk, refusing links out of their directory and oversized files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError
from medsopt.dmd.index import DmdIndex
from medsopt.rules.compile import Compiled, compile_ruleset

SOURCE_SUFFIXES = (".yaml", ".yml", ".csv")
# The largest bundled codelist is 445 KB; a committee file ten times that is not one.
MAX_FILE_BYTES = 4 * 1024 * 1024


class UnsafeFileError(Exception):
    """A file that must not be read: a link out of its directory, not a regular file, too big."""


def source_paths(directory: Path) -> tuple[tuple[str, ...], tuple[Diagnostic, ...]]:
    """Relative POSIX paths of every committee file under `directory`, and links refused.

    Hidden files and directories (editor swap files) are never content. Linked directories
    are not followed; one leading outside `directory` is reported.
    """
    found: list[str] = []
    problems: list[Diagnostic] = []
    for current, subdirs, files in os.walk(directory):
        here = Path(current)
        for name in list(subdirs):
            if name.startswith(".") or not (here / name).is_symlink():
                continue
            relative = (here / name).relative_to(directory).as_posix()
            if (problem := containment_problem(directory, here / name)) is not None:
                problems.append(_unsafe(relative, problem))
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(SOURCE_SUFFIXES):
                continue
            found.append((here / name).relative_to(directory).as_posix())
    return tuple(sorted(found)), tuple(problems)


def containment_problem(root: Path, path: Path) -> str | None:
    """Why `path` may not be read as part of `root`, or None."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop
        return "is a broken or looping link"
    if not resolved.is_relative_to(root.resolve()):
        return f"is a link leading outside {root.name}/; refused"
    return None


def read_contained(root: Path, relative: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `root/relative`; raise UnsafeFileError rather than read anything unsafe."""
    path = root / relative
    problem = containment_problem(root, path)
    if problem is not None:
        raise UnsafeFileError(problem)
    # O_NONBLOCK: a FIFO would otherwise block the open; it is then refused as not regular.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError("is not a regular file; refused")
        if info.st_size > limit:
            raise UnsafeFileError(f"has {info.st_size:,} bytes (at most {limit:,})")
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew while being read
        raise UnsafeFileError(f"has more than {limit:,} bytes")
    return data


def _unsafe(relative: str, problem: str) -> Diagnostic:
    return Diagnostic(relative, 1, 1, DiagnosticKind.UNSAFE_FILE, problem)


def read_text(root: Path, relative: str) -> str:
    """One committee file as text; raise RuleSetError (never echoing its content) if unsafe."""
    try:
        return read_contained(root, relative).decode("utf-8")
    except UnsafeFileError as error:
        raise RuleSetError([_unsafe(relative, str(error))]) from None
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text: {error.reason} at byte {error.start}"
        raise RuleSetError(
            [Diagnostic(relative, 1, 1, DiagnosticKind.YAML_SYNTAX, message)]
        ) from None


def read_sources(directory: Path) -> dict[str, str]:
    """Every rule, group, codelist and test file under `directory`, keyed by POSIX relative path."""
    if not directory.is_dir():
        raise RuleSetError(
            [Diagnostic(str(directory), 1, 1, DiagnosticKind.MISSING_FILE, "not a directory")]
        )
    paths, problems = source_paths(directory)
    sources: dict[str, str] = {}
    found = list(problems)
    for relative in paths:
        try:
            sources[relative] = read_text(directory, relative)
        except RuleSetError as error:
            found.extend(error.diagnostics)
    if found:
        raise RuleSetError(found)
    return sources


def load_rules(directory: Path, dmd: DmdIndex) -> Compiled:
    """Read and compile a rules directory; raises RuleSetError with every problem."""
    return compile_ruleset(read_sources(directory), dmd)
