"""Transport security against a real `medsopt serve` process: mutual TLS and tokens, and the
refusal to listen beyond loopback without them."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from medsopt.service.tokens import ADMIN_SCOPE, PATIENT_SCOPE
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import WARFARIN_NAPROXEN, ServerProcess, channel, start_server
from tests.service.credentials import Issuer, Pki, bearer

pytestmark = pytest.mark.e2e
SERVE = [sys.executable, "-m", "medsopt", "serve", "--port", "0", "--no-watch"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, Issuer]:
    directory = tmp_path_factory.mktemp("keys")
    return Pki.create(directory), Issuer(directory)


@pytest.fixture(scope="module")
def secured(keys: tuple[Pki, Issuer]) -> Iterator[ServerProcess]:
    pki, issuer = keys
    running = start_server(
        "--no-watch",
        *pki.server_args(),
        *issuer.server_args(),
        credentials=pki.client_credentials(),
    )
    yield running
    assert running.stop() == 0


def code_of(target: str, credentials: grpc.ChannelCredentials | None, token: str | None) -> str:
    with channel(target, credentials) as to_server:
        try:
            pb_grpc.MedicinesOptimisationStub(to_server).CheckMedications(
                WARFARIN_NAPROXEN, timeout=10, metadata=bearer(token) if token else None
            )
        except grpc.RpcError as error:
            return str(error.code().name)
    return "OK"


def admin_code(target: str, pki: Pki, token: str) -> str:
    with channel(target, pki.client_credentials()) as to_admin:
        try:
            pb_grpc.RuleSetAdminStub(to_admin).GetRuleSetStatus(
                pb.GetRuleSetStatusRequest(), timeout=10, metadata=bearer(token)
            )
        except grpc.RpcError as error:
            return str(error.code().name)
    return "OK"


def test_the_startup_line_says_how_it_is_protected(secured: ServerProcess) -> None:
    assert any(
        line.startswith("medsopt listening on 127.0.0.1:")
        and "(mutual TLS, tokens required)" in line
        for line in secured.output
    ), secured.output


def test_only_a_certified_client_with_a_patient_token_is_answered(
    secured: ServerProcess, keys: tuple[Pki, Issuer], tmp_path: Path
) -> None:
    pki, issuer = keys
    token = issuer.token(PATIENT_SCOPE)
    target = secured.target
    assert code_of(target, pki.client_credentials(), token) == "OK"
    assert code_of(target, None, token) == "UNAVAILABLE"  # plaintext
    assert code_of(target, pki.client_credentials(with_certificate=False), token) == "UNAVAILABLE"
    assert code_of(target, Pki.create(tmp_path).client_credentials(), token) == "UNAVAILABLE"
    assert code_of(target, pki.client_credentials(), "forged") == "UNAUTHENTICATED"
    assert code_of(target, pki.client_credentials(), issuer.token(expires_in=-120)) == (
        "UNAUTHENTICATED"
    )
    assert code_of(target, pki.client_credentials(), issuer.token(ADMIN_SCOPE)) == (
        "PERMISSION_DENIED"
    )


def test_medsopt_check_reaches_a_secured_server_with_certificate_and_token(
    secured: ServerProcess, keys: tuple[Pki, Issuer], tmp_path: Path
) -> None:
    pki, issuer = keys
    cert, key, token = (tmp_path / name for name in ("client.pem", "client-key.pem", "token"))
    pki.client.cert_chain_pems[0].write_to_path(str(cert))
    pki.client.private_key_pem.write_to_path(str(key))
    token.write_text(issuer.token(PATIENT_SCOPE) + "\n")
    check = [sys.executable, "-m", "medsopt", "check", "319733000", "329806007", "--age", "78"]
    check += ["--server", secured.target]
    secure = ["--tls-ca", str(pki.ca_cert), "--tls-cert", str(cert), "--tls-key", str(key)]

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*check, *options], capture_output=True, text=True, timeout=60)

    answered = run(*secure, "--token-file", str(token))
    assert answered.returncode in (0, 3), answered.stderr
    assert "PINCER-D" in answered.stdout
    unauthenticated = run(*secure)
    assert unauthenticated.returncode == 1
    assert unauthenticated.stderr.startswith("UNAUTHENTICATED")
    half = run("--tls-ca", str(pki.ca_cert), "--tls-cert", str(cert), "--token-file", str(token))
    assert half.returncode == 1
    assert "give both --tls-cert and --tls-key" in half.stderr


def test_administration_is_on_its_own_port_with_its_own_scope(
    secured: ServerProcess, keys: tuple[Pki, Issuer]
) -> None:
    pki, issuer = keys
    assert secured.admin_target and secured.admin_target != secured.target
    assert admin_code(secured.admin_target, pki, issuer.token(ADMIN_SCOPE)) == "OK"
    assert admin_code(secured.admin_target, pki, issuer.token(PATIENT_SCOPE)) == (
        "PERMISSION_DENIED"
    )
    assert admin_code(secured.target, pki, issuer.token(ADMIN_SCOPE)) == "UNIMPLEMENTED"


@pytest.mark.parametrize("secure", ["nothing", "tls-only"])
def test_any_address_but_loopback_is_refused_without_tls_and_tokens(
    keys: tuple[Pki, Issuer], secure: str
) -> None:
    pki, _ = keys
    extra = pki.server_args() if secure == "tls-only" else []
    done = subprocess.run(
        [*SERVE, "--host", "0.0.0.0", *extra], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to listen on 0.0.0.0 without" in done.stderr
    assert "tokens" in done.stderr and "--insecure" in done.stderr
    assert "listening on" not in done.stdout


def test_insecure_listens_anywhere_but_warns_loudly() -> None:
    process = subprocess.Popen(
        [*SERVE, "--host", "0.0.0.0", "--insecure", "--drain-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("medsopt listening on"):
            break
    # Stopped during its first build: it still drains and exits cleanly.
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    shown = "".join(lines)
    assert "*** WARNING *** INSECURE: listening on 0.0.0.0" in shown
    assert "medsopt listening on 0.0.0.0:" in shown and "(plaintext, no tokens)" in shown
