"""A real gRPC server on 127.0.0.1:0, called through a real channel."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from medsopt.dmd.codes import with_check_digit
from medsopt.service.server import SERVICE_NAME, RunningServer, ServerConfig, build_server
from medsopt.store.activate import Locations
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.service.grpc_errors import bad_request

UNKNOWN = with_check_digit("9999999100000110")


@pytest.fixture(scope="module")
def running() -> Iterator[RunningServer]:
    server = build_server(ServerConfig(port=0, max_workers=4, grace_seconds=1))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def channel(running: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel


def health_status(channel: grpc.Channel, service: str = SERVICE_NAME) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    status: int = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
    return status


def warfarin_naproxen(**patient: object) -> pb.CheckMedicationsRequest:
    return pb.CheckMedicationsRequest(
        request_id="r-1",
        patient=pb.PatientContext(**patient),  # type: ignore[arg-type]
        medications=[
            pb.Medication(ref="a", code="319733000"),
            pb.Medication(ref="b", code="329806007", status=pb.MEDICATION_STATUS_PROPOSED),
        ],
    )


def test_not_serving_and_unavailable_until_rules_load_then_serving(
    running: RunningServer, channel: grpc.Channel
) -> None:
    stub = pb_grpc.MedicinesOptimisationStub(channel)
    assert health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(warfarin_naproxen(age_years=78), timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert running.load()
    assert health_status(channel) == health_pb2.HealthCheckResponse.SERVING
    assert health_status(channel, "") == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(running: RunningServer, channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"medsopt.v1.MedicinesOptimisation", "grpc.health.v1.Health"} <= names


@pytest.fixture(scope="module")
def stub(running: RunningServer, channel: grpc.Channel) -> pb_grpc.MedicinesOptimisationStub:
    if running.holder.active is None:
        assert running.load()
    return pb_grpc.MedicinesOptimisationStub(channel)


def test_warfarin_and_nsaid_complete_with_findings(stub: pb_grpc.MedicinesOptimisationStub) -> None:
    response = stub.CheckMedications(
        warfarin_naproxen(
            age_years=78,
            egfr=60,
            sex=pb.SEX_MALE,
            pregnancy=pb.PREGNANCY_STATUS_NOT_PREGNANT,
        ),
        timeout=5,
    )
    assert response.request_id == "r-1"
    assert list(response.rules_not_evaluated) == []
    assert response.check_status == pb.CHECK_STATUS_COMPLETE
    d = {f.rule_id: f for f in response.findings}["PINCER-D"]
    assert d.category == pb.CATEGORY_INTERACTION and d.severity == pb.SEVERITY_SEVERE
    assert list(d.medication_refs) == ["a", "b"] and d.involves_proposed
    # The default answer is a card: which medicine matched which group, no citations.
    assert {(m.ref, m.group) for m in d.explanation.matched} >= {("a", "oral-anticoagulants")}
    assert not d.citations and not any(m.via for m in d.explanation.matched)
    assert response.rule_set.version and len(response.rule_set.content_hash) == 64
    assert response.rule_set.dmd_release == "bundled-2026.12"


def test_unknown_well_formed_code_is_ok_but_incomplete(
    stub: pb_grpc.MedicinesOptimisationStub,
) -> None:
    request = warfarin_naproxen(age_years=78, egfr=60)
    request.medications.add(ref="c", code=UNKNOWN, display="Something new")
    response = stub.CheckMedications(request, timeout=5)
    assert response.check_status == pb.CHECK_STATUS_INCOMPLETE
    [unresolved] = response.unresolved_codes
    assert (unresolved.ref, unresolved.code, unresolved.reason) == (
        "c",
        UNKNOWN,
        pb.UNRESOLVED_REASON_UNKNOWN,
    )
    assert unresolved.display == "Something new"


def test_bad_check_digit_is_invalid_argument_with_field_violation(
    stub: pb_grpc.MedicinesOptimisationStub,
) -> None:
    request = warfarin_naproxen(age_years=78)
    request.medications.add(ref="c", code="319733001")
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(request, timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    violations = bad_request(raised.value)
    assert list(violations) == ["medications[2].code"]
    assert "check digit" in violations["medications[2].code"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.medications.add(ref="a", code="329653008"), "medications[2].ref"),
        (lambda r: r.medications.add(ref="c", code="abc"), "medications[2].code"),
        (lambda r: setattr(r.patient, "age_years", 131), "patient.age_years"),
        (lambda r: setattr(r.patient, "egfr", -1.0), "patient.egfr"),
        (lambda r: r.patient.condition_codes.append("84114008"), "patient.condition_codes[0]"),
        (
            lambda r: r.medications[0].__setattr__("start_date", "2026-13-01"),
            "medications[0].start_date",
        ),
        (lambda r: r.ClearField("medications"), "medications"),
        (
            lambda r: [r.medications.add(ref=f"x{i}", code="329653008") for i in range(100)],
            "medications",
        ),
    ],
)
def test_each_invalid_field_is_named(
    stub: pb_grpc.MedicinesOptimisationStub, mutate: object, field: str
) -> None:
    request = warfarin_naproxen(age_years=78)
    mutate(request)  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(request, timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in bad_request(raised.value)


def test_rule_set_info(stub: pb_grpc.MedicinesOptimisationStub) -> None:
    info = stub.GetRuleSetInfo(pb.GetRuleSetInfoRequest(), timeout=5)
    assert info.active_rules == sum(c.count for c in info.rules_per_category)
    assert info.active_rules >= 9 and info.dmd_concepts > 30_000
    assert info.identity.dmd_release == "bundled-2026.12"
    assert info.loaded_at.endswith("Z") and info.load_millis > 0


def test_bad_rules_dir_stays_not_serving(tmp_path: object) -> None:
    config = ServerConfig(port=0, locations=Locations(rules_dir=tmp_path))  # type: ignore[arg-type]
    server = build_server(config)
    try:
        assert not server.load()
        assert server.holder.last_failure is not None
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            assert health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        server.stop()


def test_logs_carry_no_patient_data(
    stub: pb_grpc.MedicinesOptimisationStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = warfarin_naproxen(age_years=78, egfr=60)
    request.patient.condition_codes.append("84114007")
    request.medications.add(ref="secret-ref", code=UNKNOWN, display="Patient-specific text")
    stub.CheckMedications(request, timeout=5)
    bad = warfarin_naproxen(age_years=78)
    bad.medications.add(ref="c", code="319733001")
    with pytest.raises(grpc.RpcError):
        stub.CheckMedications(bad, timeout=5)
    logged = caplog.text  # access lines are opt-in: see test_access_log.py
    for secret in (
        "319733000",
        "329806007",
        UNKNOWN,
        "84114007",
        "secret-ref",
        "Patient-specific",
        "319733001",
    ):
        assert secret not in logged  # no codes, refs, conditions or free text
