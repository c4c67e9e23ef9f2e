"""The reload flood against a real process: 16 clients calling ReloadRuleSet in a loop cannot
starve patient calls (the figures are in benchmarks/reload_flood.py; nothing is timed here)."""

from __future__ import annotations

import threading
from collections import Counter

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import start_server

pytestmark = pytest.mark.e2e
REQUEST = pb.CheckMedicationsRequest(
    patient=pb.PatientContext(age_years=78, egfr=60),
    medications=[
        pb.Medication(ref="w", code="319733000"),
        pb.Medication(ref="n", code="329806007"),
    ],
)
FLOODERS = 16
PATIENT_CALLS = 40
GENEROUS_DEADLINE = 10.0  # seconds; before: 2 patient calls completed in 20 s of flood


def test_a_reload_flood_does_not_starve_patient_calls() -> None:
    server = start_server("--no-watch")
    flooding = threading.Event()
    stop = threading.Event()
    outcomes: Counter[str] = Counter()

    def flood() -> None:
        with grpc.insecure_channel(server.admin_target) as to_admin:
            admin = pb_grpc.RuleSetAdminStub(to_admin)
            while not stop.is_set():
                try:
                    admin.ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=60)
                    outcomes["OK"] += 1
                except grpc.RpcError as error:
                    outcomes[error.code().name] += 1
                flooding.set()

    flooders = [threading.Thread(target=flood) for _ in range(FLOODERS)]
    try:
        for thread in flooders:
            thread.start()
        assert flooding.wait(30)
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            for _ in range(PATIENT_CALLS):  # each must complete, none may time out
                answer = stub.CheckMedications(REQUEST, timeout=GENEROUS_DEADLINE)
                assert "PINCER-D" in {f.rule_id for f in answer.findings}
    finally:
        stop.set()
        for thread in flooders:
            thread.join(90)
        assert server.stop() == 0
    assert outcomes["RESOURCE_EXHAUSTED"] > FLOODERS  # the limit is what held the flood back
    assert outcomes["OK"] <= 1  # one reload per 30 s by default: the flood built at most once
