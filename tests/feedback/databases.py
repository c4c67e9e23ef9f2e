"""Fixtures shared by the feedback and audit tests: each records database, really started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedback.postgres_server import PostgresServer, why_unavailable


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, stopped (and its files removed) at the end."""
    if (reason := why_unavailable()) is not None:
        pytest.skip(reason)
    server = PostgresServer.create()
    yield server
    server.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh records database: a SQLite file, or an empty database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "records.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
