"""The reload flood against a real process: 16 clients calling ReloadRuleSet in a loop cannot
starve patient calls (the figures are in benchmarks/reload_flood.py; nothing is timed here)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import WARFARIN_NAPROXEN, start_server

pytestmark = pytest.mark.e2e
FLOODERS = 16
PATIENT_CALLS = 40
GENEROUS_DEADLINE = 10.0  # seconds per call; before: 2 patient calls completed in 20 s of flood
GIVE_UP = 180.0  # seconds: a broken limiter fails the test instead of hanging it


def test_a_reload_flood_does_not_starve_patient_calls() -> None:
    server = start_server("--no-watch")
    stop = threading.Event()
    outcomes: Counter[str] = Counter()

    def flood() -> None:
        with grpc.insecure_channel(server.admin_target) as to_admin:
            admin = pb_grpc.RuleSetAdminStub(to_admin)
            while not stop.is_set():
                try:
                    admin.ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=GIVE_UP)
                    outcomes["OK"] += 1
                except grpc.RpcError as error:
                    outcomes[error.code().name] += 1

    flooders = [threading.Thread(target=flood) for _ in range(FLOODERS)]
    answered = 0
    try:
        for thread in flooders:
            thread.start()
        give_up = time.monotonic() + GIVE_UP
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            # Patient calls until every flooder has been refused at least once: each must
            # complete well within its deadline, none may fail.
            while answered < PATIENT_CALLS or outcomes["RESOURCE_EXHAUSTED"] < FLOODERS:
                assert time.monotonic() < give_up, outcomes
                answer = stub.CheckMedications(WARFARIN_NAPROXEN, timeout=GENEROUS_DEADLINE)
                assert "PINCER-D" in {f.rule_id for f in answer.findings}
                answered += 1
    finally:
        stop.set()
        for thread in flooders:
            thread.join(GIVE_UP)
        assert server.stop() == 0
    assert outcomes["OK"] <= 1  # one reload per 30 s by default: the flood built at most once
    assert set(outcomes) <= {"OK", "RESOURCE_EXHAUSTED"}, outcomes
