"""Mutual TLS and tokens on a real in-process server: who is refused, and with which code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from medsopt.rules.holder import RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service.security import SecurityConfig
from medsopt.service.server import RunningServer, ServerConfig, build_server
from medsopt.service.tls import TlsConfig
from medsopt.service.tokens import ADMIN_SCOPE, PATIENT_SCOPE, TokenConfig
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.service.credentials import AUDIENCE, ISSUER, Issuer, Pki, bearer

REQUEST = pb.CheckMedicationsRequest(
    patient=pb.PatientContext(age_years=78, egfr=60),
    medications=[
        pb.Medication(ref="w", code="319733000"),
        pb.Medication(ref="n", code="329806007"),
    ],
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, Issuer, Path]:
    directory = tmp_path_factory.mktemp("keys")
    return Pki.create(directory), Issuer(directory), directory


@pytest.fixture(scope="module")
def running(keys: tuple[Pki, Issuer, Path], bundled: RuleSet) -> Iterator[RunningServer]:
    pki, issuer, _ = keys
    holder = RuleSetHolder()
    holder.activate(bundled, 0.0)
    security = SecurityConfig(
        tls=TlsConfig(pki.server_cert, pki.server_key, client_ca=pki.ca_cert),
        tokens=TokenConfig(ISSUER, AUDIENCE, public_key=issuer.public_key),
    )
    server = build_server(
        ServerConfig(port=0, max_workers=4, grace_seconds=1, security=security), holder
    )
    yield server
    server.stop()


def call(
    target: str, credentials: grpc.ChannelCredentials | None, token: str | None = None
) -> grpc.StatusCode:
    """The status of one CheckMedications over a channel with these credentials."""
    to_server = (
        grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    )
    with to_server:
        stub = pb_grpc.MedicinesOptimisationStub(to_server)
        try:
            stub.CheckMedications(REQUEST, timeout=10, metadata=bearer(token) if token else None)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def admin_call(
    running: RunningServer, pki: Pki, token: str | None, port: int | None = None
) -> grpc.StatusCode:
    target = f"127.0.0.1:{port or running.admin_port}"
    with grpc.secure_channel(target, pki.client_credentials()) as to_admin:
        admin = pb_grpc.RuleSetAdminStub(to_admin)
        try:
            admin.GetRuleSetStatus(
                pb.GetRuleSetStatusRequest(), timeout=10, metadata=bearer(token) if token else None
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def target(running: RunningServer) -> str:
    return f"127.0.0.1:{running.port}"


def test_a_client_with_a_certificate_and_the_patient_scope_is_answered(
    keys: tuple[Pki, Issuer, Path], target: str
) -> None:
    pki, issuer, _ = keys
    assert call(target, pki.client_credentials(), issuer.token(PATIENT_SCOPE)) is grpc.StatusCode.OK


def test_plaintext_certificate_less_and_other_ca_clients_are_refused(
    keys: tuple[Pki, Issuer, Path], target: str, tmp_path: Path
) -> None:
    pki, issuer, _ = keys
    token = issuer.token()
    other = Pki.create(tmp_path)
    assert call(target, None, token) is grpc.StatusCode.UNAVAILABLE
    assert call(target, pki.client_credentials(with_certificate=False), token) is (
        grpc.StatusCode.UNAVAILABLE
    )
    # A certificate from another CA, and a client that trusts only another CA.
    foreign_client = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert_pem.bytes(),
        private_key=other.client.private_key_pem.bytes(),
        certificate_chain=other.client.cert_chain_pems[0].bytes(),
    )
    assert call(target, foreign_client, token) is grpc.StatusCode.UNAVAILABLE
    assert call(target, other.client_credentials(), token) is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "not-a-token",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "other-key",
    ],
)
def test_missing_or_invalid_tokens_are_unauthenticated(
    keys: tuple[Pki, Issuer, Path], target: str, bad: str | None
) -> None:
    pki, issuer, directory = keys
    token = {
        None: None,
        "not-a-token": "not-a-token",
        "expired": issuer.token(expires_in=-120),
        "wrong-audience": issuer.token(audience="another-service"),
        "wrong-issuer": issuer.token(issuer="https://elsewhere.example"),
        "other-key": Issuer(directory, "stranger").token(),
    }[bad]
    assert call(target, pki.client_credentials(), token) is grpc.StatusCode.UNAUTHENTICATED


def test_the_admin_scope_does_not_open_the_patient_service(
    keys: tuple[Pki, Issuer, Path], target: str
) -> None:
    pki, issuer, _ = keys
    code = call(target, pki.client_credentials(), issuer.token(ADMIN_SCOPE))
    assert code is grpc.StatusCode.PERMISSION_DENIED


def test_administration_needs_the_admin_scope_on_its_own_port(
    keys: tuple[Pki, Issuer, Path], running: RunningServer
) -> None:
    pki, issuer, _ = keys
    assert running.admin_port != running.port
    assert admin_call(running, pki, issuer.token(ADMIN_SCOPE)) is grpc.StatusCode.OK
    assert admin_call(running, pki, issuer.token(PATIENT_SCOPE)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert admin_call(running, pki, None) is grpc.StatusCode.UNAUTHENTICATED
    # Never on the patient port, whatever the token.
    on_patient_port = admin_call(running, pki, issuer.token(ADMIN_SCOPE), running.port)
    assert on_patient_port is grpc.StatusCode.UNIMPLEMENTED


def test_health_needs_no_token(keys: tuple[Pki, Issuer, Path], target: str) -> None:
    pki, _, _ = keys
    with grpc.secure_channel(target, pki.client_credentials()) as to_server:
        stub = health_pb2_grpc.HealthStub(to_server)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )


def test_reflection_needs_a_token(keys: tuple[Pki, Issuer, Path], target: str) -> None:
    pki, issuer, _ = keys

    def services(token: str | None) -> set[str]:
        with grpc.secure_channel(target, pki.client_credentials()) as to_server:
            stub = reflection_pb2_grpc.ServerReflectionStub(to_server)
            answers = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                timeout=10,
                metadata=bearer(token) if token else None,
            )
            return {s.name for a in answers for s in a.list_services_response.service}

    with pytest.raises(grpc.RpcError) as refused:
        services(None)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    listed = services(issuer.token(PATIENT_SCOPE))
    assert "medsopt.v1.MedicinesOptimisation" in listed
    assert "medsopt.v1.RuleSetAdmin" not in listed  # administration is on the other port


def test_the_audit_names_the_token_subject_as_the_caller(
    keys: tuple[Pki, Issuer, Path], running: RunningServer, target: str
) -> None:
    pki, issuer, _ = keys
    token = issuer.token(PATIENT_SCOPE, sub="epr-ward-7")
    with grpc.secure_channel(target, pki.client_credentials()) as to_server:
        stub = pb_grpc.MedicinesOptimisationStub(to_server)
        stub.CheckMedications(
            REQUEST, timeout=10, metadata=(*bearer(token), ("x-request-id", "audited-1"))
        )
    assert running.records is not None
    running.records.audit.flush()
    (record,) = running.records.audit_log.find("audited-1")
    assert record.caller == "token:epr-ward-7"
