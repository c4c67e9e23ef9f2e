"""Schema migrations of the records database, applied in order at start-up.

`schema_version` holds one row per applied migration. Migrations are only ever added: a
database is never migrated down, and a server refuses a database newer than it knows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from medsopt.feedback.database import Database, Dialect

# Both tables are append-only: triggers refuse UPDATE and DELETE, so a decision or a response
# once recorded cannot be rewritten by the service (a later feedback row supersedes an earlier).
_APPEND_ONLY_SQLITE = """
CREATE TRIGGER {table}_append_only_{action} BEFORE {action} ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
"""
_APPEND_ONLY_POSTGRESQL = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION medsopt_append_only()
"""

_FEEDBACK_COLUMNS = """
    recorded_at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    patient_key TEXT,
    finding_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason_code TEXT,
    reason_system TEXT,
    reason_display TEXT,
    user_comment TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    accepted_suggestions TEXT NOT NULL,
    expires_at TEXT
"""
_AUDIT_COLUMNS = """
    request_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    ruleset_hash TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    request {blob} NOT NULL,
    finding_ids TEXT NOT NULL,
    suppressed_ids TEXT NOT NULL
"""
_INDEXES = (
    "CREATE INDEX feedback_by_patient ON feedback (patient_key, finding_id)",
    "CREATE INDEX feedback_by_rule ON feedback (rule_id)",
    "CREATE INDEX audit_by_request ON audit_decision (request_id)",
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema, in each dialect."""

    version: int
    description: str
    statements: dict[Dialect, tuple[str, ...]]


MIGRATIONS = (
    Migration(
        1,
        "feedback and audit_decision tables, append-only",
        {
            Dialect.SQLITE: (
                f"CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,{_FEEDBACK_COLUMNS})",
                "CREATE TABLE audit_decision (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                + _AUDIT_COLUMNS.format(blob="BLOB")
                + ")",
                *_INDEXES,
                *(
                    _APPEND_ONLY_SQLITE.format(table=table, action=action)
                    for table in ("feedback", "audit_decision")
                    for action in ("UPDATE", "DELETE")
                ),
            ),
            Dialect.POSTGRESQL: (
                f"CREATE TABLE feedback (id BIGSERIAL PRIMARY KEY,{_FEEDBACK_COLUMNS})",
                "CREATE TABLE audit_decision (seq BIGSERIAL PRIMARY KEY,"
                + _AUDIT_COLUMNS.format(blob="BYTEA")
                + ")",
                *_INDEXES,
                "CREATE FUNCTION medsopt_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
                *(
                    _APPEND_ONLY_POSTGRESQL.format(table=table)
                    for table in ("feedback", "audit_decision")
                ),
            ),
        },
    ),
)

# Any constant: several instances starting at once take turns to migrate (PostgreSQL).
_MIGRATION_LOCK = 0x6D65_6473


class NewerSchemaError(Exception):
    """The database was migrated by a newer medsopt than this one."""


def migrate(database: Database) -> int:
    """Apply every migration the database lacks, in one transaction; the resulting version."""
    known = MIGRATIONS[-1].version
    with database.transaction() as statements:
        if database.dialect is Dialect.POSTGRESQL:
            statements.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        statements.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
            " description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = statements.execute("SELECT MAX(version) FROM schema_version")
        current = rows[0][0] or 0
        if current > known:
            raise NewerSchemaError(
                f"records database is at schema version {current}; this medsopt knows {known}"
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for sql in migration.statements[database.dialect]:
                statements.execute(sql)
            statements.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (
                    migration.version,
                    migration.description,
                    datetime.datetime.now(datetime.UTC).isoformat(),
                ),
            )
    return known


def open_database(target: str) -> Database:
    """Connect and bring the schema up to date (run at start-up)."""
    database = Database(target)
    migrate(database)
    return database
