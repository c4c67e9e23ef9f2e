"""Feedback and the audit survive a server restart, on a SQLite file and on PostgreSQL (real
server processes; the PostgreSQL server is restarted too), and the CLI reads them back."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import start_server
from tests.feedback.postgres_server import PostgresServer
from tests.feedback.serving import decline, warfarin_naproxen

pytestmark = pytest.mark.e2e


def medsopt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medsopt", *args], capture_output=True, text=True, timeout=300
    )


def check(target: str) -> tuple[pb.CheckMedicationsResponse, str]:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        response, call = stub.CheckMedications.with_call(warfarin_naproxen(), timeout=30)
        return response, dict(call.trailing_metadata())["x-request-id"]


def test_feedback_survives_a_restart(database_target: str, request: pytest.FixtureRequest) -> None:
    first = start_server("--no-watch", "--database", database_target)
    try:
        response, request_id = check(first.target)
        pincer_d = next(f.finding_id for f in response.findings if f.rule_id == "PINCER-D")
        with grpc.insecure_channel(first.target) as channel:
            pb_grpc.MedicinesOptimisationStub(channel).RecordFeedback(
                pb.RecordFeedbackRequest(
                    request_id=request_id, patient_ref="patient-17", feedback=[decline(pincer_d)]
                ),
                timeout=30,
            )
    finally:
        assert first.stop() == 0
    if database_target.startswith("postgresql://"):
        postgres: PostgresServer = request.getfixturevalue("postgres")
        postgres.stop()
        postgres.start()

    second = start_server("--no-watch", "--database", database_target)
    try:
        again, _ = check(second.target)
    finally:
        assert second.stop() == 0
    assert again.suppressed_findings == 1
    assert pincer_d not in [f.finding_id for f in again.findings]

    report = medsopt("feedback", "report", "--database", database_target, "--format", "csv")
    assert report.returncode == 0, report.stderr
    assert "PINCER-D,1,0,1,0.0%,100.0%,Patient aware (patient-aware) x1" in report.stdout
    replayed = medsopt("audit", "replay", request_id, "--database", database_target)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replay: SAME finding ids" in replayed.stdout
    assert "patient-17" not in "".join(first.output + second.output)
