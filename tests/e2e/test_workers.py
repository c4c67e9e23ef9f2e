"""`medsopt serve --workers N`: worker processes on one port, each reloading, all drained."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest

from medsopt.store.activate import BUNDLED_RULES
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import ServerProcess, start_server
from tests.e2e.test_hot_reload import RulesDir, wait_for

pytestmark = pytest.mark.e2e
CONNECTIONS = 16  # all on one worker by chance: 2 ** -15


@pytest.fixture
def rules(tmp_path: Path) -> RulesDir:
    shutil.copytree(BUNDLED_RULES, tmp_path / "rules")
    return RulesDir(tmp_path / "rules")


def printed(server: ServerProcess, pattern: str) -> list[re.Match[str]]:
    return [m for line in list(server.output) if (m := re.search(pattern, line))]


def infos(target: str) -> list[pb.RuleSetInfo]:
    """GetRuleSetInfo over CONNECTIONS separate connections (spread by the kernel)."""
    found = []
    for _ in range(CONNECTIONS):
        # A local subchannel pool: a new connection, not one shared with the other channels.
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(target, options=options) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            found.append(stub.GetRuleSetInfo(pb.GetRuleSetInfoRequest(), timeout=10))
    return found


def metrics(server: ServerProcess) -> dict[str, float]:
    """The /metrics page the server printed the address of, as {series: value}."""
    [address] = printed(server, r"medsopt metrics on (\S+)")
    with urllib.request.urlopen(address.group(1), timeout=10) as page:
        text = page.read().decode()
    return {
        series: float(value)
        for line in text.splitlines()
        if line and not line.startswith("#")
        for series, value in [line.rsplit(" ", 1)]
    }


def total(values: dict[str, float], name: str, *labels: str) -> float:
    return sum(
        v for k, v in values.items() if k.startswith(name) and all(label in k for label in labels)
    )


def test_two_workers_each_reload_and_drain_on_sigterm(rules: RulesDir) -> None:
    server = start_server(
        "--workers", "2", "--rules", str(rules.root), "--poll-seconds", "0.1", "--metrics-port", "0"
    )
    calls = 0
    try:
        wait_for(lambda: printed(server, r"medsopt: 2 workers serving"), 120)
        first = infos(server.target)
        calls += len(first)
        assert {i.identity.version for i in first} == {"2026.11.1"}
        assert len({i.loaded_at for i in first}) == 2  # two workers, each its own load

        rules.set_version("2026.11.2")

        def both_reloaded() -> bool:
            nonlocal calls
            now = infos(server.target)
            calls += len(now)
            return {i.identity.version for i in now} == {"2026.11.2"} and (
                len({i.loaded_at for i in now}) == 2
            )

        wait_for(both_reloaded, 60)
        values = metrics(server)
        assert (
            total(values, "medsopt_rule_set_active{", 'version="2026.11.2"') == 2  # one per pid
        )
        assert total(values, "medsopt_rule_set_active{", 'version="2026.11.1"') == 0
        assert total(values, "medsopt_rule_set_reloads_total", "activated") == 4
        handled = 'grpc_method="GetRuleSetInfo"'
        assert total(values, "medsopt_grpc_server_handled_total", handled, "OK") == calls
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0
    wait_for(lambda: printed(server, r"all workers stopped"))
    assert len(printed(server, r"worker-\d .*stopped$")) == 2


def test_a_killed_worker_is_started_again() -> None:
    server = start_server("--workers", "2", "--no-watch")
    try:
        wait_for(lambda: printed(server, r"medsopt: 2 workers serving"), 120)
        [killed] = [int(m.group(1)) for m in printed(server, r"worker 0 started \(pid (\d+)\)")]
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: len(printed(server, r"worker 0 started \(pid (\d+)\)")) == 2, 60)
        assert printed(server, rf"worker 0 \(pid {killed}\) exited with -9")
        # The new worker loads its own rule set: three activations in all.
        wait_for(lambda: len(printed(server, r"activated rule set")) == 3, 120)
        assert len({i.loaded_at for i in infos(server.target)}) == 2
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_fails_loudly(workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "medsopt", "serve", "--port", port, "--workers", workers],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert re.search(r"(?i)address already in use|failed to bind", result.stderr), result.stderr


def gone(pid: int) -> bool:
    """Exited (a zombie no one reaped counts: it serves nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_workers_stop_when_their_parent_is_killed() -> None:
    server = start_server("--workers", "2", "--no-watch")
    try:
        wait_for(lambda: printed(server, r"medsopt: 2 workers serving"), 120)
        workers = [int(m.group(1)) for m in printed(server, r"worker \d started \(pid (\d+)\)")]
        assert len(workers) == 2
        server.process.kill()  # SIGKILL: the parent cannot pass anything on
        server.process.wait(10)
        wait_for(lambda: all(gone(pid) for pid in workers), 60)
    finally:
        server.stop()
