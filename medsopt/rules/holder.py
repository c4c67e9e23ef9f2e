"""Holds the active rule set; readers take one snapshot per request, writers swap atomically."""

from __future__ import annotations

import datetime
import enum
import threading
from dataclasses import dataclass

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.rules.ruleset import RuleSet

# A rejection keeps the first diagnostics and counts the rest: one corrupt file can produce
# millions, and a status no client can read hides the problem it reports.
MAX_DIAGNOSTICS = 50
MAX_MESSAGE_LINES = 20
MAX_MESSAGE_CHARS = 4000


class Cause(enum.StrEnum):
    """Why a load was rejected (stable words, shown in the admin status)."""

    UNPUBLISHED = "unpublished"  # the files do not match the published manifest
    INVALID = "invalid"  # a committee file is invalid (diagnostics say where)
    COMMITTEE_TESTS = "committee-tests"  # the committee's own test cases fail
    DMD_EXTRACT = "dmd-extract"  # the dm+d extract cannot be read
    UNREADABLE = "unreadable"  # a file vanished or could not be read mid-build
    ERROR = "error"  # anything else raised while building (a defect: see the log)


@dataclass(frozen=True, slots=True)
class Activation:
    """A rule set and when and how fast it was loaded."""

    ruleset: RuleSet
    activated_at: datetime.datetime
    load_millis: float
    manifest_sha256: str = ""  # of the published manifest it was verified against


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """A load that was rejected: why, the first diagnostics and how many more were left out."""

    attempted_at: datetime.datetime
    diagnostics: tuple[Diagnostic, ...]
    message: str
    cause: Cause = Cause.INVALID
    omitted_diagnostics: int = 0


def capped_message(message: str) -> str:
    """The first lines of `message`, saying how many more there were."""
    lines = message.splitlines()
    kept = "\n".join(lines[:MAX_MESSAGE_LINES])
    if len(lines) > MAX_MESSAGE_LINES:
        kept += f"\n... and {len(lines) - MAX_MESSAGE_LINES} more line(s)"
    if len(kept) > MAX_MESSAGE_CHARS:
        kept = kept[: MAX_MESSAGE_CHARS - 1] + "…"
    return kept


class RuleSetHolder:
    """The service's single source of the active rule set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: Activation | None = None
        self._last_failure: FailedAttempt | None = None
        self.activations = 0
        self.rejections = 0

    @property
    def active(self) -> Activation | None:
        """The current activation; one read gives a consistent snapshot for a whole request."""
        return self._active  # a single reference read is atomic

    @property
    def last_failure(self) -> FailedAttempt | None:
        return self._last_failure

    def activate(
        self, ruleset: RuleSet, load_millis: float, manifest_sha256: str = ""
    ) -> Activation:
        """Make `ruleset` active."""
        now = datetime.datetime.now(datetime.UTC)
        activation = Activation(ruleset, now, load_millis, manifest_sha256)
        with self._lock:
            self._active = activation
            self.activations += 1
        return activation

    def record_failure(
        self,
        diagnostics: tuple[Diagnostic, ...],
        message: str,
        cause: Cause = Cause.INVALID,
    ) -> FailedAttempt:
        """Remember a rejected load, capped; the active rule set is untouched."""
        failure = FailedAttempt(
            datetime.datetime.now(datetime.UTC),
            diagnostics[:MAX_DIAGNOSTICS],
            capped_message(message),
            cause,
            max(0, len(diagnostics) - MAX_DIAGNOSTICS),
        )
        with self._lock:
            self._last_failure = failure
            self.rejections += 1
        return failure
