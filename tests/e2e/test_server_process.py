"""Start `medsopt serve` as a real subprocess on 127.0.0.1 and talk to it over gRPC."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import ServerProcess, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    running = start_server("--no-watch")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(10)


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
    time.sleep(0.2)  # let the drain thread read the last lines
    assert any("stopped" in line for line in server.output)
