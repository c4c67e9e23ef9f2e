"""The input contract enforced at the edge (issue 13, item 5): every malformed request gets
INVALID_ARGUMENT with field violations a default client can read, from a real server process."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import start_server
from tests.service.grpc_errors import bad_request

METHOD = "/medsopt.v1.MedicinesOptimisation/CheckMedications"


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    server = start_server("--no-watch")
    try:
        with grpc.insecure_channel(server.target) as channel:
            yield channel
    finally:
        assert server.stop() == 0


def call(channel: grpc.Channel, request: pb.CheckMedicationsRequest) -> grpc.RpcError:
    stub = pb_grpc.MedicinesOptimisationStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(request, timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    return raised.value


def base() -> pb.CheckMedicationsRequest:
    return pb.CheckMedicationsRequest(
        patient=pb.PatientContext(age_years=70),
        medications=[pb.Medication(ref="a", code="319733000")],
    )


def test_undecodable_bytes_are_invalid_argument(channel: grpc.Channel) -> None:
    raw = channel.unary_unary(METHOD)
    with pytest.raises(grpc.RpcError) as raised:
        raw(b"\xff\xff\xff\xff not a protobuf", timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: setattr(r.patient, "sex", 99), "patient.sex"),
        (lambda r: setattr(r.patient, "pregnancy", 7), "patient.pregnancy"),
        (lambda r: setattr(r.medications[0], "status", 77), "medications[0].status"),
        (lambda r: setattr(r, "minimum_severity", 12), "minimum_severity"),
        (
            lambda r: r.patient.biologic_exceptions.add(molecule_code="398728003", kind=9),
            "patient.biologic_exceptions[0].kind",
        ),
    ],
)
def test_unknown_enum_numbers_are_rejected_with_the_field(
    channel: grpc.Channel, mutate: object, field: str
) -> None:
    request = base()
    mutate(request)  # type: ignore[operator]
    assert field in bad_request(call(channel, request))


@pytest.mark.parametrize("text", ["20260101", "2026-W01", "2026-001", "2026-1-1", " 2026-01-01"])
def test_dates_are_strictly_yyyy_mm_dd(channel: grpc.Channel, text: str) -> None:
    request = base()
    request.as_of_date = text
    request.medications[0].start_date = text
    found = bad_request(call(channel, request))
    assert {"as_of_date", "medications[0].start_date"} <= set(found)


def test_many_long_invalid_codes_still_give_a_readable_invalid_argument(
    channel: grpc.Channel,
) -> None:
    """10k bad codes of 60 digits each: the details are capped, never RESOURCE_EXHAUSTED."""
    request = base()
    request.patient.condition_codes.extend(["9" * 60] * 10_000)
    error = call(channel, request)
    found = bad_request(error)
    assert 1 <= len(found) <= 50
    assert all(len(description) <= 200 for description in found.values())
    assert "9" * 60 not in " ".join(found.values())  # a long value is not echoed
