"""Feedback in domain terms (CDS Hooks feedback: an outcome per card, a coded override reason)."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    """What the prescriber did with a finding."""

    ACCEPTED = "accepted"
    OVERRIDDEN = "overridden"


@dataclass(frozen=True, slots=True)
class Coding:
    """A coded value, as a FHIR Coding: code, code system and what it means."""

    code: str
    system: str
    display: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One prescriber's response to one finding of one answer, as stored."""

    request_id: str
    caller: str
    # Digest of the caller's pseudonymous patient reference (identity.patient_key); None: the
    # feedback named no patient, so it suppresses nothing.
    patient_key: str | None
    finding_id: str
    rule_id: str
    outcome: Outcome
    reason: Coding | None
    user_comment: str
    outcome_timestamp: str  # RFC 3339, as the caller sent it
    accepted_suggestions: tuple[str, ...]
    recorded_at: datetime.datetime  # the server's clock, UTC
    # When a reasoned decline stops suppressing the finding; None for anything else.
    expires_at: datetime.datetime | None

    @property
    def suppresses(self) -> bool:
        """A reasoned decline for a known patient: the finding is not shown again for a while."""
        return (
            self.outcome is Outcome.OVERRIDDEN
            and self.reason is not None
            and self.patient_key is not None
        )
