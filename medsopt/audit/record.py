"""One audited decision: who asked, when, against which rule set, with what, and what came out."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A CheckMedications answer as audited. `request` is the canonical (deterministic) wire
    form of the request: it holds patient data, so it goes to the records database only, never
    to a log."""

    request_id: str
    caller: str
    decided_at: datetime.datetime
    as_of: str  # the date durations were measured to (the request's, else the server's today)
    ruleset_version: str
    ruleset_hash: str
    request_sha256: str
    request: bytes
    # Every finding the engine produced, in answer order, and those suppressed by declines.
    finding_ids: tuple[str, ...]
    suppressed_ids: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        """The stored request bytes are the ones whose digest was recorded."""
        return digest(self.request) == self.request_sha256


def digest(canonical_request: bytes) -> str:
    return hashlib.sha256(canonical_request).hexdigest()
