"""Request hygiene: deadlines, limits, error details, request ids, reflection v1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from medsopt.rules.holder import RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service import answers
from medsopt.service import servicer as servicer_module
from medsopt.service.connection import MAX_REQUEST_BYTES
from medsopt.service.server import RunningServer, ServerConfig, build_server
from medsopt.service.servicer import MedicinesOptimisationServicer
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

WARFARIN, NAPROXEN = "319733000", "329806007"


def loaded(ruleset: RuleSet) -> RuleSetHolder:
    holder = RuleSetHolder()
    holder.activate(ruleset, 0.0)
    return holder


@pytest.fixture(scope="module")
def running(bundled: RuleSet) -> Iterator[RunningServer]:
    server = build_server(ServerConfig(port=0, grace_seconds=1), holder=loaded(bundled))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(running: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel


def request(count: int = 2, display: str = "") -> pb.CheckMedicationsRequest:
    message = pb.CheckMedicationsRequest(patient=pb.PatientContext(age_years=78, egfr=40))
    for i in range(count):
        message.medications.add(ref=f"m{i}", code=(WARFARIN, NAPROXEN)[i % 2], display=display)
    return message


def details(error: grpc.RpcError) -> dict[str, Any]:
    """ErrorInfo, BadRequest and RetryInfo of an error, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None
    found: dict[str, Any] = {}
    for detail in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
        ):
            message = kind()
            if detail.Unpack(message):
                found[kind.__name__] = message
    return found


class FakeContext:
    """The servicer's view of a call whose remaining time we script."""

    def __init__(self, remaining: list[float]) -> None:
        self.remaining = remaining
        self.trailers: tuple[tuple[str, str], ...] = ()
        self.status: grpc.Status | None = None

    def time_remaining(self) -> float:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", "r-42"),)

    def set_trailing_metadata(self, trailers: tuple[tuple[str, str], ...]) -> None:
        self.trailers = trailers

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.trailers

    def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise RuntimeError("aborted")  # as grpc does: abort never returns


def test_an_expired_deadline_stops_before_evaluation(
    bundled: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[object] = []
    monkeypatch.setattr(servicer_module, "check", lambda *a: evaluated.append(a))
    context = FakeContext([0.0])
    with pytest.raises(RuntimeError, match="aborted"):
        MedicinesOptimisationServicer(loaded(bundled)).CheckMedications(request(), context)
    assert context.status is not None
    assert context.status.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "before evaluation" in context.status.details
    assert evaluated == []
    assert ("x-request-id", "r-42") in context.status.trailing_metadata


def test_a_deadline_passing_during_evaluation_skips_building_the_answer(
    bundled: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    monkeypatch.setattr(answers, "response_to_proto", lambda *args: built.append(args))
    context = FakeContext([5.0, 0.0])  # time left before evaluation, none after
    with pytest.raises(RuntimeError, match="aborted"):
        MedicinesOptimisationServicer(loaded(bundled)).CheckMedications(request(), context)
    assert context.status is not None
    assert context.status.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "after evaluation" in context.status.details
    assert built == []


def test_over_the_medicines_limit_is_invalid_argument_with_error_info(
    channel: grpc.Channel,
) -> None:
    stub = pb_grpc.MedicinesOptimisationStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(request(101), timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    found = details(raised.value)
    assert (found["ErrorInfo"].reason, found["ErrorInfo"].domain) == (
        "INVALID_REQUEST",
        "medsopt.v1",
    )
    assert [v.field for v in found["BadRequest"].field_violations] == ["medications"]


def test_over_the_message_size_limit_is_resource_exhausted(channel: grpc.Channel) -> None:
    stub = pb_grpc.MedicinesOptimisationStub(channel)
    oversized = request(100, display="x" * (MAX_REQUEST_BYTES // 100))
    assert oversized.ByteSize() > MAX_REQUEST_BYTES
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(oversized, timeout=10)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_no_rule_set_is_unavailable_with_retry_info() -> None:
    running = build_server(ServerConfig(port=0, grace_seconds=1))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            with pytest.raises(grpc.RpcError) as raised:
                stub.CheckMedications(request(), timeout=10)
    finally:
        running.stop()
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    found = details(raised.value)
    assert found["ErrorInfo"].reason == "NO_RULE_SET_LOADED"
    assert found["RetryInfo"].retry_delay.ToMilliseconds() == 1000


def test_the_request_id_is_echoed_on_answers_and_errors(channel: grpc.Channel) -> None:
    stub = pb_grpc.MedicinesOptimisationStub(channel)
    metadata = (("x-request-id", "abc-1"),)
    _, call = stub.CheckMedications.with_call(request(), metadata=metadata, timeout=10)
    assert ("x-request-id", "abc-1") in call.trailing_metadata()
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(request(101), metadata=metadata, timeout=10)
    assert ("x-request-id", "abc-1") in raised.value.trailing_metadata()
    assert "ErrorInfo" in details(raised.value)  # the echo did not displace the details
    _, call = stub.GetRuleSetInfo.with_call(pb.GetRuleSetInfoRequest(), metadata=metadata)
    assert ("x-request-id", "abc-1") in call.trailing_metadata()


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_in_both_versions(channel: grpc.Channel, version: str) -> None:
    # v1 and v1alpha are the same messages under two package names: one codec serves both.
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    asks = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
    ]
    listed, described = list(call(iter(asks), timeout=10))
    names = {s.name for s in listed.list_services_response.service}
    assert {
        "medsopt.v1.MedicinesOptimisation",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    assert described.file_descriptor_response.file_descriptor_proto
