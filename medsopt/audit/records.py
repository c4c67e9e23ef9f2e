"""The server's records: one database holding prescribers' feedback and the decision audit."""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from medsopt.audit.repository import AuditRepository
from medsopt.audit.writer import AuditWriter
from medsopt.feedback.database import Database, describe
from medsopt.feedback.desk import Clock, FeedbackDesk, utc_now
from medsopt.feedback.migrations import open_database
from medsopt.feedback.repository import SqlFeedbackRepository
from medsopt.feedback.suppression import DEFAULT_EXPIRY

log = logging.getLogger(__name__)


def default_database() -> str:
    """MEDSOPT_DATABASE, else a SQLite file in the user's state directory."""
    if target := os.environ.get("MEDSOPT_DATABASE"):
        return target
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "medsopt" / "records.sqlite3")


@dataclass
class DecisionRecords:
    """Feedback (read on the request path) and the audit (written behind it) in one database."""

    database: Database
    audit_database: Database
    feedback: FeedbackDesk
    audit: AuditWriter
    audit_log: AuditRepository

    @classmethod
    def open(
        cls,
        target: str,
        expiry: datetime.timedelta = DEFAULT_EXPIRY,
        clock: Clock = utc_now,
    ) -> DecisionRecords:
        """Connect, migrate, start the audit writer. `target`: a SQLite path or a
        postgresql:// DSN (":memory:" for a throwaway SQLite database)."""
        database = open_database(target)
        log.info("feedback and audit records in %s", describe(target))
        # The audit writer has a connection of its own: its batches never hold up the
        # suppression look-ups of answers being made.
        audit_database = Database(target) if target != ":memory:" else database
        audit_log = AuditRepository(audit_database)
        return cls(
            database,
            audit_database,
            FeedbackDesk(SqlFeedbackRepository(database), expiry, clock),
            AuditWriter(audit_log),
            audit_log,
        )

    def close(self) -> None:
        """Write the queued audit records, then disconnect."""
        self.audit.close()
        if self.audit_database is not self.database:
            self.audit_database.close()
        self.database.close()
