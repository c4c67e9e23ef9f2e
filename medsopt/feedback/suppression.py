"""Which findings a patient's recorded declines suppress now (pure: no I/O, no clock)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from medsopt.feedback.models import Coding, FeedbackEntry, Outcome

DEFAULT_EXPIRY = datetime.timedelta(days=365)


def expires_at(
    outcome: Outcome,
    reason: Coding | None,
    patient_key: str | None,
    recorded_at: datetime.datetime,
    expiry: datetime.timedelta,
) -> datetime.datetime | None:
    """When a decline stops suppressing; None when the feedback suppresses nothing."""
    if outcome is Outcome.OVERRIDDEN and reason is not None and patient_key is not None:
        return recorded_at + expiry
    return None


def suppressed(latest: Mapping[str, FeedbackEntry], now: datetime.datetime) -> frozenset[str]:
    """The finding ids whose latest feedback for the patient is a reasoned decline still in
    force. A later acceptance lifts an earlier decline; the facts are in the finding id, so a
    finding whose medicines or patient facts changed is never in `latest`."""
    return frozenset(
        finding_id
        for finding_id, entry in latest.items()
        if entry.suppresses and entry.expires_at is not None and entry.expires_at > now
    )
