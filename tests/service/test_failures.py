"""An internal failure is an error the EPR shows, never an OK answer with no findings."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest

from medsopt.service import servicer
from medsopt.service.server import RunningServer, ServerConfig, build_server
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def running() -> Iterator[RunningServer]:
    server = build_server(ServerConfig(port=0, max_workers=2, grace_seconds=1, watch=False))
    assert server.load()
    yield server
    server.stop()


def test_an_engine_failure_is_internal_with_an_incident_and_no_patient_data(
    running: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object, **__: object) -> object:
        raise RuntimeError("a defect in a clause")

    monkeypatch.setattr(servicer, "check", broken)
    caplog.set_level(logging.DEBUG)
    request = pb.CheckMedicationsRequest(
        patient=pb.PatientContext(age_years=78),
        medications=[pb.Medication(ref="secret-ref", code="319733000")],
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.CheckMedications(request, timeout=5)
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    assert "incident" in (raised.value.details() or "")
    assert "no result" in (raised.value.details() or "")
    assert "a defect in a clause" in caplog.text  # the traceback reaches the operator...
    assert "319733000" not in caplog.text and "secret-ref" not in caplog.text  # ...no patient data
