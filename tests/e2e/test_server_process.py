"""Start `medsopt serve` as a real subprocess on 127.0.0.1 and talk to it over gRPC."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.service.server import SERVICE_NAME
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e
STARTUP_SECONDS = 60


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    target: str


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "medsopt", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    target = None
    deadline = time.monotonic() + STARTUP_SECONDS
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        match = re.search(r"medsopt listening on (\S+:\d+)", line)
        if match:
            target = match.group(1)
            break
        if process.poll() is not None:
            break
    assert target, "server did not start:\n" + "".join(lines)
    running = ServerProcess(process, target)
    wait_until_serving(target)
    yield running
    if process.poll() is None:
        process.kill()
        process.wait(10)


def wait_until_serving(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
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


def test_check_medications_over_the_wire(server: ServerProcess) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        response = stub.CheckMedications(
            pb.CheckMedicationsRequest(
                request_id="e2e",
                patient=pb.PatientContext(
                    age_years=78,
                    egfr=60,
                    sex=pb.SEX_FEMALE,
                    pregnancy=pb.PREGNANCY_STATUS_NOT_PREGNANT,
                ),
                medications=[
                    pb.Medication(ref="w", code="319733000"),
                    pb.Medication(ref="n", code="329806007"),
                ],
            ),
            timeout=10,
        )
    assert response.check_status == pb.CHECK_STATUS_COMPLETE
    assert {"PINCER-A", "PINCER-D"} <= {f.rule_id for f in response.findings}


def test_cli_check_gives_the_same_answer_remote_and_in_process(server: ServerProcess) -> None:
    args = [sys.executable, "-m", "medsopt", "check", "319733000", "329806007", "--age", "78"]
    remote = subprocess.run([*args, "--server", server.target], capture_output=True, text=True)
    local = subprocess.run(args, capture_output=True, text=True)
    assert remote.returncode == local.returncode == 3, remote.stderr + local.stderr  # INCOMPLETE
    assert remote.stdout == local.stdout
    assert "[SEVERE] PINCER-D" in local.stdout
    assert "NOT EVALUATED" in local.stdout  # no eGFR given: said loudly


def test_sigterm_drains_and_exits_cleanly(server: ServerProcess) -> None:
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0
    output = server.process.stdout.read() if server.process.stdout else ""
    assert "stopped" in output
