"""The records database on SQLite and on a real PostgreSQL server: migrations, append-only."""

from __future__ import annotations

import datetime
import sqlite3
import stat
from pathlib import Path

import psycopg
import pytest

from medsopt.feedback.database import Database
from medsopt.feedback.migrations import MIGRATIONS, NewerSchemaError, migrate, open_database
from medsopt.feedback.models import Coding, FeedbackEntry, Outcome
from medsopt.feedback.repository import SqlFeedbackRepository
from tests.feedback.postgres_server import PostgresServer

NOW = datetime.datetime(2026, 12, 6, 9, 30, tzinfo=datetime.UTC)


def entry(finding_id: str = "PINCER-D:0123456789abcdef", **changes: object) -> FeedbackEntry:
    values: dict[str, object] = {
        "request_id": "r-1",
        "caller": "anonymous",
        "patient_key": "p" * 64,
        "finding_id": finding_id,
        "rule_id": finding_id.rpartition(":")[0],
        "outcome": Outcome.OVERRIDDEN,
        "reason": Coding("patient-aware", "https://example.org/override", "Patient aware"),
        "user_comment": "discussed with the patient",
        "outcome_timestamp": "2026-12-06T09:29:00Z",
        "accepted_suggestions": (),
        "recorded_at": NOW,
        "expires_at": NOW + datetime.timedelta(days=365),
    }
    values.update(changes)
    return FeedbackEntry(**values)  # type: ignore[arg-type]


def schema_versions(database: Database) -> list[int]:
    with database.transaction(write=False) as statements:
        return [row[0] for row in statements.execute("SELECT version FROM schema_version")]


def test_migrations_run_once_and_are_recorded(database_target: str) -> None:
    database = open_database(database_target)
    try:
        assert migrate(database) == MIGRATIONS[-1].version  # a second start changes nothing
        assert schema_versions(database) == [m.version for m in MIGRATIONS]
    finally:
        database.close()


def test_a_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    open_database(str(tmp_path / "records.sqlite3")).close()
    with sqlite3.connect(tmp_path / "records.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "state" / "records.sqlite3"
    database = open_database(str(target))
    SqlFeedbackRepository(database).record([entry()])
    database.close()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_a_database_newer_than_this_medsopt_is_refused(tmp_path: Path) -> None:
    target = str(tmp_path / "records.sqlite3")
    database = open_database(target)
    with database.transaction() as statements:
        statements.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
            (999, "from the future", NOW.isoformat()),
        )
    database.close()
    with pytest.raises(NewerSchemaError, match="999"):
        open_database(target)


@pytest.mark.parametrize("statement", ["UPDATE feedback SET caller = 'x'", "DELETE FROM feedback"])
def test_feedback_cannot_be_rewritten(database_target: str, statement: str) -> None:
    database = open_database(database_target)
    try:
        SqlFeedbackRepository(database).record([entry()])
        with pytest.raises(Exception, match="append-only"), database.transaction() as statements:
            statements.execute(statement)
        assert len(SqlFeedbackRepository(database).entries()) == 1
    finally:
        database.close()


def test_feedback_round_trips_and_the_latest_per_finding_wins(database_target: str) -> None:
    database = open_database(database_target)
    repository = SqlFeedbackRepository(database)
    try:
        declined = entry()
        other = entry("STOPP-B8:fedcba9876543210", patient_key="q" * 64)
        accepted = entry(
            outcome=Outcome.ACCEPTED,
            reason=None,
            user_comment="",
            accepted_suggestions=("319733000",),
            recorded_at=NOW + datetime.timedelta(minutes=5),
            expires_at=None,
        )
        repository.record([declined, other])
        assert repository.latest("p" * 64, [declined.finding_id, other.finding_id]) == {
            declined.finding_id: declined
        }
        repository.record([accepted])
        assert repository.latest("p" * 64, [declined.finding_id]) == {declined.finding_id: accepted}
        assert repository.entries() == [declined, other, accepted]
        assert repository.latest("p" * 64, []) == {}
    finally:
        database.close()


def test_a_restarted_postgresql_server_is_reconnected_to(postgres: PostgresServer) -> None:
    database = open_database(postgres.new_database())
    repository = SqlFeedbackRepository(database)
    try:
        repository.record([entry()])
        postgres.stop()
        postgres.start()
        # The statement that finds the connection gone fails (an answer then suppresses
        # nothing; the audit writer retries); the next one connects again.
        with pytest.raises(psycopg.OperationalError):
            repository.entries()
        assert repository.entries() == [entry()]
    finally:
        database.close()
