"""Draining against a real process: after SIGTERM, health says NOT_SERVING while the listener
still answers for the drain delay; then a graceful stop and exit code 0."""

from __future__ import annotations

import signal
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.service.listeners import SERVICE_NAME
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import WARFARIN_NAPROXEN, start_server

pytestmark = pytest.mark.e2e
DRAIN_SECONDS = 4  # long enough for the checks below on a busy machine; nothing is timed


def test_sigterm_says_not_serving_keeps_answering_then_exits_0() -> None:
    server = start_server("--no-watch", "--drain-seconds", str(DRAIN_SECONDS))
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        stub.CheckMedications(WARFARIN_NAPROXEN, timeout=10)
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + DRAIN_SECONDS
        status = health_pb2.HealthCheckResponse.SERVING
        while status == health_pb2.HealthCheckResponse.SERVING and time.monotonic() < deadline:
            status = health.Check(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5
            ).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        # The listener is open and answers: a load balancer has time to stop sending.
        answer = stub.CheckMedications(WARFARIN_NAPROXEN, timeout=10)
        assert {"PINCER-D"} <= {f.rule_id for f in answer.findings}
        overall = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        assert overall == health_pb2.HealthCheckResponse.NOT_SERVING
        assert server.process.poll() is None  # still running: draining, not stopped
    assert server.process.wait(60) == 0
    time.sleep(0.2)  # let the reader thread take the last lines
    logged = "".join(server.output)
    assert "draining: NOT_SERVING" in logged and "stopped" in logged
