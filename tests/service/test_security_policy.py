"""The exposure policy: plaintext without tokens only on loopback, unless --insecure."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsopt.service.security import (
    ExposureRefusedError,
    SecurityConfig,
    check_exposure,
    is_loopback,
)
from medsopt.service.tls import TlsConfig
from medsopt.service.tokens import TokenConfig

TLS = TlsConfig(Path("server.pem"), Path("server-key.pem"), Path("ca.pem"))
TOKENS = TokenConfig("https://idp.example", "medsopt", public_key=Path("issuer.pem"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("medsopt.internal", False),  # a name may resolve anywhere
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_may_be_plaintext() -> None:
    assert check_exposure("127.0.0.1", SecurityConfig()) is None


@pytest.mark.parametrize(
    ("security", "missing"),
    [
        (SecurityConfig(), ["TLS", "tokens"]),
        (SecurityConfig(tls=TLS), ["tokens"]),
        (SecurityConfig(tokens=TOKENS), ["TLS"]),
    ],
)
def test_any_other_address_needs_tls_and_tokens(
    security: SecurityConfig, missing: list[str]
) -> None:
    with pytest.raises(ExposureRefusedError) as refused:
        check_exposure("0.0.0.0", security)
    message = str(refused.value)
    assert message.startswith("refusing to listen on 0.0.0.0 without")
    assert all(word in message for word in missing)
    assert "--insecure" in message


def test_tls_and_tokens_may_listen_anywhere() -> None:
    assert check_exposure("0.0.0.0", SecurityConfig(tls=TLS, tokens=TOKENS)) is None


def test_insecure_is_allowed_with_a_loud_warning() -> None:
    warning = check_exposure("0.0.0.0", SecurityConfig(insecure=True))
    assert warning is not None and warning.startswith("INSECURE: listening on 0.0.0.0")


def test_options_build_tls_and_tokens_and_refuse_half_settings(tmp_path: Path) -> None:
    pem = tmp_path / "x.pem"
    security = SecurityConfig.from_options(pem, pem, None, "iss", "aud", pem)
    assert security.tls is not None and not security.tls.mutual
    assert security.describe() == "TLS, tokens required"
    mutual = SecurityConfig.from_options(pem, pem, pem)
    assert mutual.describe() == "mutual TLS, no tokens"
    assert SecurityConfig().describe() == "plaintext, no tokens"
    with pytest.raises(ValueError, match="--tls-cert and --tls-key"):
        SecurityConfig.from_options(tls_cert=pem)
    with pytest.raises(ValueError, match="issuer and audience"):
        SecurityConfig.from_options(token_public_key=pem)
