"""A real PostgreSQL server for tests: initdb a temporary directory, start it on a free port.

Uses the server binaries of the Debian `postgresql` package (scripts/install_postgresql.sh);
tests that need it skip, saying why, only when those binaries are absent.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "medsopt"


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(directory) / "initdb").exists():
            return Path(directory)
    return None


def why_unavailable() -> str | None:
    """None when a server can be started here; else the reason a test skips."""
    if binaries() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl): see scripts/install_postgresql.sh"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run initdb as"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """One throwaway cluster; `dsn(database)` names a database in it."""

    directory: Path
    port: int
    bin: Path

    @classmethod
    def create(cls) -> PostgresServer:
        bin_dir = binaries()
        assert bin_dir is not None
        directory = Path(tempfile.mkdtemp(prefix="medsopt-pg-"))
        server = cls(directory, free_port(), bin_dir)
        if os.geteuid() == 0:  # initdb refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        server._run(
            "initdb", "-D", str(server.data), "-U", SUPERUSER, "-A", "trust", "--no-sync",
            "-E", "UTF8",
        )  # fmt: skip
        server.start()
        server._watch_over(os.getpid())
        return server

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(self._command(program, *args), check=True, capture_output=True, timeout=120)

    def _watch_over(self, owner: int) -> None:
        """Stop the server and remove its files when the test process ends, however it ends:
        a run killed before its teardown must not leave PostgreSQL running."""
        stop = shlex.join(self._command("pg_ctl", "-D", str(self.data), "-m", "fast", "stop"))
        script = (
            f"while kill -0 {owner} 2>/dev/null; do sleep 2; done; {stop} >/dev/null 2>&1;"
            f" rm -rf {shlex.quote(str(self.directory))}"
        )
        subprocess.Popen(
            ["sh", "-c", script],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; its DSN."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")  # a generated name, not input
        return self.dsn(name)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
