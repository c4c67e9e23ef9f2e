"""Start `python -m medsopt serve` on 127.0.0.1 with an ephemeral port and wait for SERVING."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.service.server import SERVICE_NAME
from medsopt.v1 import medsopt_pb2 as pb

# An older patient on warfarin with naproxen: PINCER-D fires (what the e2e tests send).
WARFARIN_NAPROXEN = pb.CheckMedicationsRequest(
    patient=pb.PatientContext(age_years=78, egfr=60),
    medications=[
        pb.Medication(ref="w", code="319733000"),
        pb.Medication(ref="n", code="329806007"),
    ],
)
STARTUP_SECONDS = 60


@dataclass
class ServerProcess:
    """A running server subprocess and the address it listens on."""

    process: subprocess.Popen[str]
    target: str
    output: list[str] = field(default_factory=list)
    admin_target: str = ""  # RuleSetAdmin's own listener

    def drain(self) -> None:
        """Keep reading the server's output: a full pipe would block every thread that logs."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)


def channel(target: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.Channel:
    """A channel to `target`, over TLS when `credentials` are given."""
    if credentials is None:
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, credentials)


def start_server(*args: str, credentials: grpc.ChannelCredentials | None = None) -> ServerProcess:
    """Start the server (a short drain delay unless `args` give one); raise with its output
    if it does not come up. `credentials`: how to reach a TLS server's health service."""
    # One worker unless a test asks for more; the records database in a throwaway directory
    # unless a test names one (never the user's own).
    records = os.path.join(tempfile.mkdtemp(prefix="medsopt-records-"), "records.sqlite3")
    defaults = ["--port", "0", "--drain-seconds", "0.2", "--workers", "1", "--database", records]
    process = subprocess.Popen(
        [sys.executable, "-m", "medsopt", "serve", *defaults, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    lines: list[str] = []
    admin_target = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if admin := re.search(r"medsopt admin listening on (\S+:\d+)", line):
            admin_target = admin.group(1)
        elif match := re.search(r"medsopt listening on (\S+:\d+)", line):
            running = ServerProcess(process, match.group(1), lines, admin_target)
            threading.Thread(target=running.drain, daemon=True).start()
            try:
                wait_until_serving(running.target, credentials)
            except AssertionError:
                process.kill()  # never leave a server behind (e.g. an unpublished rule set)
                process.wait(10)
                raise AssertionError(
                    "server never became SERVING:\n" + "".join(running.output[-20:])
                ) from None
            return running
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError("server did not start:\n" + "".join(lines))


def wait_until_serving(target: str, credentials: grpc.ChannelCredentials | None = None) -> None:
    with channel(target, credentials) as to_server:
        stub = health_pb2_grpc.HealthStub(to_server)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=2)
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise AssertionError("server never became SERVING")
