"""The records database (feedback and audit): a SQLite file by default, PostgreSQL by DSN.

One connection per process, used under a lock: every statement here is a short indexed read or
an append, and one connection keeps SQLite's single-writer rule simple.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]
Params = Sequence[Any]


class Dialect(enum.Enum):
    """The SQL spoken by the records database."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Statements(Protocol):
    """What a transaction offers: run a statement, read its rows."""

    def execute(self, sql: str, params: Params = ()) -> list[Row]: ...

    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...


def is_postgresql(target: str) -> bool:
    """A PostgreSQL DSN (URL form) rather than a SQLite file path."""
    return target.startswith(("postgresql://", "postgres://"))


def describe(target: str) -> str:
    """The target for a log line: a DSN without its password."""
    if is_postgresql(target):
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(target)
        return f"postgresql {info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"
    return f"sqlite {target}"


class Database:
    """A connection to the records database, shared by the server's threads."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.dialect = Dialect.POSTGRESQL if is_postgresql(target) else Dialect.SQLITE
        self._lock = threading.Lock()
        self._connection: Any = None
        self._connect()

    def _connect(self) -> None:
        if self.dialect is Dialect.POSTGRESQL:
            import psycopg

            self._connection = psycopg.connect(self.target, autocommit=True, connect_timeout=10)
            return
        if self.target != ":memory:":
            # The audit holds requests (patient data): only the server's own user reads the
            # file (SQLite gives its -wal and -shm files the same permissions).
            path = Path(self.target)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # isolation_level=None: transactions are begun explicitly below.
        connection = sqlite3.connect(
            self.target, check_same_thread=False, isolation_level=None, timeout=10
        )
        # WAL: readers (suppression look-ups) never wait for the audit writer.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        self._connection = connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Statements]:
        """One transaction: committed when the block ends, rolled back if it raises. With
        `write=False` each statement runs on its own (one SELECT is atomic anyway), which
        saves PostgreSQL two round trips on the request path."""
        with self._lock:
            if self.dialect is Dialect.POSTGRESQL:
                if self._connection.closed:  # the server restarted: connect again
                    self._connect()
                if not write:
                    yield _PostgresStatements(self._connection)
                    return
                with self._connection.transaction():
                    yield _PostgresStatements(self._connection)
                return
            if not write:
                yield _SqliteStatements(self._connection)
                return
            # IMMEDIATE takes the write lock up front, so two processes migrating or appending
            # at once wait for each other instead of failing on upgrade.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteStatements(self._connection)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class _SqliteStatements:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._connection.executemany(sql, rows)


class _PostgresStatements:
    """Statements are written with `?` placeholders; psycopg wants `%s`."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        with self._connection.cursor() as cursor:
            if params:
                cursor.execute(sql.replace("?", "%s"), params)
            else:  # no parameters: the text is sent as written (e.g. '%' in a function body)
                cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)
