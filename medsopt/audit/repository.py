"""Audit records in the records database's append-only `audit_decision` table."""

from __future__ import annotations

import json
from collections.abc import Sequence

from medsopt.audit.record import AuditRecord
from medsopt.feedback.database import Database, Row
from medsopt.feedback.repository import parse_stamp, stamp

_COLUMNS = (
    "request_id, caller, decided_at, as_of, ruleset_version, ruleset_hash, request_sha256,"
    " request, finding_ids, suppressed_ids"
)


def _record(row: Row) -> AuditRecord:
    request_id, caller, decided, as_of, version, content_hash, sha, request, found, hidden = row
    return AuditRecord(
        request_id=request_id,
        caller=caller,
        decided_at=parse_stamp(decided),
        as_of=as_of,
        ruleset_version=version,
        ruleset_hash=content_hash,
        request_sha256=sha,
        request=bytes(request),
        finding_ids=tuple(json.loads(found)),
        suppressed_ids=tuple(json.loads(hidden)),
    )


class AuditRepository:
    """Append decisions; find them again by request id."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def append(self, records: Sequence[AuditRecord]) -> None:
        with self._database.transaction() as statements:
            statements.executemany(
                # Column lists are module constants; every value is a bound parameter.
                f"INSERT INTO audit_decision ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608
                [
                    (
                        r.request_id,
                        r.caller,
                        stamp(r.decided_at),
                        r.as_of,
                        r.ruleset_version,
                        r.ruleset_hash,
                        r.request_sha256,
                        r.request,
                        json.dumps(r.finding_ids),
                        json.dumps(r.suppressed_ids),
                    )
                    for r in records
                ],
            )

    def find(self, request_id: str) -> list[AuditRecord]:
        """Every decision recorded under this request id, oldest first."""
        with self._database.transaction(write=False) as statements:
            rows = statements.execute(
                # Column lists are module constants; every value is a bound parameter.
                f"SELECT {_COLUMNS} FROM audit_decision WHERE request_id = ? ORDER BY seq",  # nosec B608
                (request_id,),
            )
        return [_record(row) for row in rows]

    def count(self) -> int:
        with self._database.transaction(write=False) as statements:
            return int(statements.execute("SELECT COUNT(*) FROM audit_decision")[0][0])
