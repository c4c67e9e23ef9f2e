"""Where feedback is kept: a small interface and its SQL implementation (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Sequence
from typing import Protocol

from medsopt.feedback.database import Database, Row
from medsopt.feedback.models import Coding, FeedbackEntry, Outcome


class FeedbackRepository(Protocol):
    """Append feedback; read a patient's latest per finding; read everything for a report."""

    def record(self, entries: Sequence[FeedbackEntry]) -> None: ...

    def latest(self, patient_key: str, finding_ids: Collection[str]) -> dict[str, FeedbackEntry]:
        """The most recent feedback on each of these findings for this patient."""
        ...

    def entries(self) -> list[FeedbackEntry]:
        """Every feedback entry, oldest first."""
        ...


def stamp(moment: datetime.datetime) -> str:
    """A UTC time as fixed-width text: text order is time order in both dialects."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


_COLUMNS = (
    "recorded_at, request_id, caller, patient_key, finding_id, rule_id, outcome, reason_code,"
    " reason_system, reason_display, user_comment, outcome_timestamp, accepted_suggestions,"
    " expires_at"
)


def _row(entry: FeedbackEntry) -> tuple[object, ...]:
    reason = entry.reason
    return (
        stamp(entry.recorded_at),
        entry.request_id,
        entry.caller,
        entry.patient_key,
        entry.finding_id,
        entry.rule_id,
        entry.outcome.value,
        reason.code if reason else None,
        reason.system if reason else None,
        reason.display if reason else None,
        entry.user_comment,
        entry.outcome_timestamp,
        json.dumps(entry.accepted_suggestions),
        stamp(entry.expires_at) if entry.expires_at else None,
    )


def _entry(row: Row) -> FeedbackEntry:
    (recorded, request, caller, patient, finding, rule, outcome, code, system, display) = row[:10]
    comment, timestamp, suggestions, expires = row[10:]
    return FeedbackEntry(
        request_id=request,
        caller=caller,
        patient_key=patient,
        finding_id=finding,
        rule_id=rule,
        outcome=Outcome(outcome),
        reason=Coding(code, system, display or "") if code is not None else None,
        user_comment=comment,
        outcome_timestamp=timestamp,
        accepted_suggestions=tuple(json.loads(suggestions)),
        recorded_at=parse_stamp(recorded),
        expires_at=parse_stamp(expires) if expires else None,
    )


class SqlFeedbackRepository:
    """Feedback in the records database's append-only `feedback` table."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(self, entries: Sequence[FeedbackEntry]) -> None:
        placeholders = ", ".join("?" * len(_COLUMNS.split(",")))
        with self._database.transaction() as statements:
            statements.executemany(
                # Column lists are module constants; every value is a bound parameter.
                f"INSERT INTO feedback ({_COLUMNS}) VALUES ({placeholders})",  # nosec B608
                [_row(e) for e in entries],
            )

    def latest(self, patient_key: str, finding_ids: Collection[str]) -> dict[str, FeedbackEntry]:
        if not finding_ids:
            return {}
        wanted = ", ".join("?" * len(finding_ids))
        with self._database.transaction(write=False) as statements:
            rows = statements.execute(
                # Column lists are module constants; every value is a bound parameter.
                f"SELECT {_COLUMNS} FROM feedback WHERE patient_key = ? AND finding_id IN"  # nosec B608
                f" ({wanted}) ORDER BY id",
                (patient_key, *finding_ids),
            )
        return {entry.finding_id: entry for entry in map(_entry, rows)}  # the last one wins

    def entries(self) -> list[FeedbackEntry]:
        with self._database.transaction(write=False) as statements:
            # Column lists are module constants; every value is a bound parameter.
            rows = statements.execute(f"SELECT {_COLUMNS} FROM feedback ORDER BY id")  # nosec B608
        return [_entry(row) for row in rows]
