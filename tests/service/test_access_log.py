"""The opt-in access log of a real `medsopt serve` process: one line per call, with the
caller's x-request-id, and never patient data."""

from __future__ import annotations

import logging
import threading
import time

import grpc
import pytest

from medsopt.dmd.codes import with_check_digit
from medsopt.service.access_log import ENV, LOGGER, AccessLog
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import start_server

UNKNOWN = with_check_digit("9999999100000110")
SECRETS = ("319733000", "329806007", UNKNOWN, "84114007", "secret-ref", "Patient-specific")


def test_access_lines_name_the_request_id_and_carry_no_patient_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "1")
    server = start_server()
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            request = pb.CheckMedicationsRequest(
                patient=pb.PatientContext(age_years=78, condition_codes=["84114007"]),
                medications=[
                    pb.Medication(ref="a", code="319733000"),
                    pb.Medication(ref="b", code="329806007"),
                    pb.Medication(ref="secret-ref", code=UNKNOWN, display="Patient-specific"),
                ],
            )
            stub.CheckMedications(request, metadata=(("x-request-id", "trace-123"),), timeout=10)
            request.medications.add(ref="c", code="319733001")  # a bad check digit
            with pytest.raises(grpc.RpcError):
                stub.CheckMedications(request, metadata=(("x-request-id", "trace-456"),))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "request_id=trace-456" not in "".join(server.output):
            time.sleep(0.1)  # lines are written by a background thread
    finally:
        server.stop()
    lines = [line for line in server.output if "medsopt.access" in line]
    assert any("CheckMedications OK" in x and "request_id=trace-123" in x for x in lines), lines
    assert any("INVALID_ARGUMENT" in x and "request_id=trace-456" in x for x in lines), lines
    for secret in SECRETS:
        assert not any(secret in line for line in lines)


def test_a_line_is_written_by_the_background_thread_not_the_caller() -> None:
    seen: list[tuple[str, str]] = []

    class Recording(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((threading.current_thread().name, record.getMessage()))

    handler = Recording()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        access = AccessLog()
        access.call("CheckMedications", "OK", 1.5, "trace-9", findings=2)
        access.stop()  # drains the queue
    finally:
        logger.removeHandler(handler)
    [(thread, message)] = seen
    assert thread != threading.current_thread().name
    assert message == "CheckMedications OK 1.50ms request_id=trace-9 findings=2"
