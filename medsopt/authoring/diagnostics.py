"""Diagnostics: one precise, sortable message per problem in a committee file."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass


class DiagnosticKind(enum.StrEnum):
    """Stable kinds, so tools and golden tests can rely on them (str-valued: diagnostics sort)."""

    YAML_SYNTAX = "yaml-syntax"
    DUPLICATE_KEY = "duplicate-key"
    UNKNOWN_FIELD = "unknown-field"
    MISSING_FIELD = "missing-field"
    INVALID_VALUE = "invalid-value"
    INVALID_CODE = "invalid-code"
    UNKNOWN_CODE = "unknown-code"
    UNKNOWN_REFERENCE = "unknown-reference"
    DUPLICATE_ID = "duplicate-id"
    MISSING_FILE = "missing-file"
    CSV_FORMAT = "csv-format"
    GROUP_CYCLE = "group-cycle"
    UNTESTED_RULE = "untested-rule"
    YAML_ALIAS = "yaml-alias"  # an alias that would be expanded more than once
    YAML_TAG = (
        "yaml-tag"  # an explicit tag (`!!python/name:...`): committee files hold plain values
    )
    YAML_KEY = "yaml-key"  # a mapping or list used as a key
    TOO_LARGE = "too-large"  # a file, its nesting or its expanded values exceed a limit
    UNSAFE_FILE = "unsafe-file"  # a link leading outside its directory, or not a regular file
    UNPUBLISHED = "unpublished"  # a file that differs from, or is missing from, the manifest


class Level(enum.StrEnum):
    """An error blocks the rule set; a warning is reported and the rule set still loads."""

    ERROR = "error"
    WARNING = "warning"


MAX_MESSAGE = 300
MAX_NOTE = 200
MAX_TOKEN = 40


def token(value: object) -> str:
    """`value` quoted as an offending token, cut short: a diagnostic never echoes a whole line."""
    shown = repr(value)
    return shown if len(shown) <= MAX_TOKEN else shown[: MAX_TOKEN - 1] + "…"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """A problem at file:line:column, with what was expected and a hint where we can guess one."""

    file: str
    line: int
    column: int
    kind: DiagnosticKind
    message: str
    expected: str = ""
    hint: str = ""
    level: Level = Level.ERROR

    def __post_init__(self) -> None:
        # A backstop: whatever a caller quotes, a diagnostic stays one short line of text.
        for name, limit in (("message", MAX_MESSAGE), ("expected", MAX_NOTE), ("hint", MAX_NOTE)):
            text = getattr(self, name)
            if len(text) > limit:
                object.__setattr__(self, name, text[: limit - 1] + "…")

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.level.value}[{self.kind.value}]: "
        text += self.message
        if self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class RuleSetError(Exception):
    """A rule set that cannot be built; carries every error found, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean' hint for a likely typo, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
