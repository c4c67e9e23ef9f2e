"""Recording feedback and answering which findings a patient's declines suppress now."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from medsopt.feedback.identity import patient_key, rule_of
from medsopt.feedback.models import Coding, FeedbackEntry, Outcome
from medsopt.feedback.repository import FeedbackRepository
from medsopt.feedback.suppression import DEFAULT_EXPIRY, expires_at, suppressed

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True, slots=True)
class FindingResponse:
    """What the prescriber did with one finding, as received (validated)."""

    finding_id: str
    outcome: Outcome
    reason: Coding | None = None
    user_comment: str = ""
    outcome_timestamp: str = ""
    accepted_suggestions: tuple[str, ...] = ()


class FeedbackDesk:
    """Takes feedback in and says what it suppresses; the clock and the expiry are injectable."""

    def __init__(
        self,
        repository: FeedbackRepository,
        expiry: datetime.timedelta = DEFAULT_EXPIRY,
        clock: Clock = utc_now,
    ) -> None:
        self.repository = repository
        self.expiry = expiry
        self.clock = clock

    def record(
        self,
        request_id: str,
        caller: str,
        patient_ref: str | None,
        responses: Sequence[FindingResponse],
    ) -> tuple[FeedbackEntry, ...]:
        """Store the responses; the entries as stored (with their expiry, if they suppress)."""
        now = self.clock()
        key = patient_key(patient_ref) if patient_ref is not None else None
        entries = tuple(
            FeedbackEntry(
                request_id=request_id,
                caller=caller,
                patient_key=key,
                finding_id=r.finding_id,
                rule_id=rule_of(r.finding_id),
                outcome=r.outcome,
                reason=r.reason,
                user_comment=r.user_comment,
                outcome_timestamp=r.outcome_timestamp,
                accepted_suggestions=r.accepted_suggestions,
                recorded_at=now,
                expires_at=expires_at(r.outcome, r.reason, key, now, self.expiry),
            )
            for r in responses
        )
        self.repository.record(entries)
        return entries

    def suppressed(self, patient_ref: str, finding_ids: Collection[str]) -> frozenset[str]:
        """Which of these findings this patient's declines suppress now."""
        latest = self.repository.latest(patient_key(patient_ref), finding_ids)
        return suppressed(latest, self.clock())
