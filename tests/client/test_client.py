"""The typed client against real in-process servers: answers, typed errors, request ids, retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest

from medsopt.client import (
    DeadlineExceededError,
    InvalidRequestError,
    Medication,
    MedsoptClient,
    Patient,
    RequestIdMismatchError,
    UnavailableError,
)
from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service.server import RunningServer, ServerConfig, build_server
from medsopt.v1 import medsopt_pb2 as pb

WARFARIN_NAPROXEN = [Medication("w", "319733000"), Medication("n", "329806007", proposed=True)]
PATIENT = Patient(age_years=78, egfr=40, sex="male")


def loaded(ruleset: RuleSet) -> RuleSetHolder:
    holder = RuleSetHolder()
    holder.activate(ruleset, 0.0)
    return holder


class RefusingHolder(RuleSetHolder):
    """Has no rule set for the first `refusals` calls (as a restarted server still loading)."""

    def __init__(self, ruleset: RuleSet | None, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.refused = 0
        if ruleset is not None:
            self.activate(ruleset, 0.0)
        self._lock_calls = threading.Lock()

    @property
    def active(self) -> Activation | None:
        with self._lock_calls:
            if self.refused < self.refusals:
                self.refused += 1
                return None
        return super().active


@pytest.fixture(scope="module")
def running(bundled: RuleSet) -> Iterator[RunningServer]:
    server = build_server(ServerConfig(port=0, grace_seconds=1), holder=loaded(bundled))
    yield server
    server.stop()


@pytest.fixture
def client(running: RunningServer) -> Iterator[MedsoptClient]:
    with MedsoptClient(f"127.0.0.1:{running.port}", deadline_seconds=10) as client:
        yield client


def test_an_answer_in_friendly_dataclasses(client: MedsoptClient) -> None:
    answer = client.check(WARFARIN_NAPROXEN, PATIENT, request_id="req-1")
    assert answer.request_id == "req-1"
    pincer_d = {f.rule_id: f for f in answer.findings}["PINCER-D"]
    assert pincer_d.severity == "severe" and pincer_d.category == "interaction"
    assert sorted(pincer_d.medication_refs) == ["n", "w"]
    assert pincer_d.involves_proposed and "PINCER-D" in pincer_d.sources
    assert answer.rule_set_version and len(answer.rule_set_hash) == 64
    assert answer.message.findings  # the full wire answer is kept
    info = client.rule_set_info()
    assert (info.content_hash, info.version) == (answer.rule_set_hash, answer.rule_set_version)
    assert info.active_rules > 100 and info.loaded_at


def test_the_client_keeps_the_rule_content_and_fills_in_what_cards_leave_out(
    running: RunningServer,
) -> None:
    target = f"127.0.0.1:{running.port}"
    with MedsoptClient(target, keep_rule_content=False) as plain:
        expected = plain.check(WARFARIN_NAPROXEN, PATIENT, request_id="r")
    with MedsoptClient(target) as client:
        first = client.check(WARFARIN_NAPROXEN, PATIENT, request_id="r")
        second = client.check(WARFARIN_NAPROXEN, PATIENT, request_id="r")
    assert not first.message.static_text_omitted  # nothing kept yet: every text sent
    assert second.message.static_text_omitted
    assert not any(f.recommendation for f in second.message.findings)
    assert second.message.ByteSize() < first.message.ByteSize()
    assert first.findings == second.findings == expected.findings
    assert all(f.recommendation for f in second.findings)


def test_invalid_request_carries_the_field_violations(client: MedsoptClient) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        client.check([Medication("w", "319733001")], PATIENT)
    error = raised.value
    assert error.reason == "INVALID_REQUEST"
    assert [v.field for v in error.violations] == ["medications[0].code"]
    assert "check digit" in error.violations[0].description


Behaviour = Callable[[bytes, grpc.ServicerContext], bytes]


def serve(behaviour: Behaviour, content: Behaviour | None = None) -> tuple[grpc.Server, int]:
    """A bare server whose CheckMedications is `behaviour` and GetRuleContent `content` (raw
    bytes in and out; without `content` GetRuleContent is unimplemented)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handlers = {"CheckMedications": grpc.unary_unary_rpc_method_handler(behaviour)}
    if content is not None:
        handlers["GetRuleContent"] = grpc.unary_unary_rpc_method_handler(content)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("medsopt.v1.MedicinesOptimisation", handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def test_rule_content_that_cannot_be_read_is_not_asked_for_again() -> None:
    asked: list[bytes] = []

    def answer(_request: bytes, context: grpc.ServicerContext) -> bytes:
        context.set_trailing_metadata((("x-request-id", "r"),))
        response = pb.CheckMedicationsResponse(request_id="r")
        response.rule_set.content_hash = "a" * 64
        return response.SerializeToString()

    def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
        asked.append(request)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "not for this caller")
        raise AssertionError("unreachable")

    server, port = serve(answer, refuse)
    try:
        with MedsoptClient(f"127.0.0.1:{port}") as client:
            answers = [client.check(WARFARIN_NAPROXEN, PATIENT, request_id="r") for _ in range(3)]
    finally:
        server.stop(0)
    assert all(a.rule_set_hash == "a" * 64 for a in answers)
    assert len(asked) == 1  # once for that rule set, not after every answer


@pytest.mark.parametrize("echo", ["someone-else", None])
def test_an_answer_for_another_request_id_is_refused(echo: str | None) -> None:

    def answer(_request: bytes, context: grpc.ServicerContext) -> bytes:
        if echo is not None:
            context.set_trailing_metadata((("x-request-id", echo),))
        return pb.CheckMedicationsResponse(request_id="someone-else").SerializeToString()

    server, port = serve(answer)
    try:
        with (
            MedsoptClient(f"127.0.0.1:{port}") as client,
            pytest.raises(RequestIdMismatchError) as raised,
        ):
            client.check(WARFARIN_NAPROXEN, PATIENT, request_id="mine")
    finally:
        server.stop(0)
    assert (raised.value.sent, raised.value.received) == ("mine", echo)


def test_unavailable_is_retried_after_a_restart(bundled: RuleSet) -> None:
    first = build_server(ServerConfig(port=0, grace_seconds=0.5), holder=loaded(bundled))
    port = first.port
    with MedsoptClient(f"127.0.0.1:{port}", deadline_seconds=20) as client:
        assert client.check(WARFARIN_NAPROXEN, PATIENT).findings
        first.stop()
        # The restarted server has no rule set for its first two calls: UNAVAILABLE, retried.
        holder = RefusingHolder(bundled, refusals=2)
        second = build_server(ServerConfig(port=port, grace_seconds=0.5), holder=holder)
        try:
            answer = client.check(WARFARIN_NAPROXEN, PATIENT)
        finally:
            second.stop()
    assert answer.findings
    assert holder.refused == 2


def test_retries_are_bounded() -> None:
    holder = RefusingHolder(None, refusals=100)
    server = build_server(ServerConfig(port=0, grace_seconds=0.5), holder=holder)
    try:
        with (
            MedsoptClient(f"127.0.0.1:{server.port}", deadline_seconds=30, max_attempts=3) as c,
            pytest.raises(UnavailableError) as raised,
        ):
            c.check(WARFARIN_NAPROXEN, PATIENT)
    finally:
        server.stop()
    assert holder.refused == 3
    assert raised.value.reason == "NO_RULE_SET_LOADED"
    assert raised.value.retry_after_seconds == 1.0


def test_no_answer_within_the_deadline_is_a_typed_error() -> None:
    release = threading.Event()

    def slow(_request: bytes, _context: grpc.ServicerContext) -> bytes:
        release.wait(10)
        return b""

    server, port = serve(slow)
    try:
        with (
            MedsoptClient(f"127.0.0.1:{port}", deadline_seconds=0.2) as client,
            pytest.raises(DeadlineExceededError),
        ):
            client.check(WARFARIN_NAPROXEN, PATIENT)
    finally:
        release.set()
        server.stop(0)
