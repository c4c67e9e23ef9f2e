"""Holds the active rule set; readers take one snapshot per request, writers swap atomically."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class Activation:
    """A rule set and when and how fast it was loaded."""

    ruleset: RuleSet
    activated_at: datetime.datetime
    load_millis: float


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """A load that was rejected, with its diagnostics."""

    attempted_at: datetime.datetime
    diagnostics: tuple[Diagnostic, ...]
    message: str


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

    def activate(self, ruleset: RuleSet, load_millis: float) -> Activation:
        """Make `ruleset` active."""
        activation = Activation(ruleset, datetime.datetime.now(datetime.UTC), load_millis)
        with self._lock:
            self._active = activation
            self.activations += 1
        return activation

    def record_failure(self, diagnostics: tuple[Diagnostic, ...], message: str) -> None:
        """Remember a rejected load; the active rule set is untouched."""
        with self._lock:
            self._last_failure = FailedAttempt(
                datetime.datetime.now(datetime.UTC), diagnostics, message
            )
            self.rejections += 1
