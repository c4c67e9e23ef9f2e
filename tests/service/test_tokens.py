"""Token verification: signature, issuer, audience, expiry and algorithm, from a PEM or JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from medsopt.service.tokens import (
    ADMIN_SCOPE,
    PATIENT_SCOPE,
    TokenConfig,
    TokenRejectedError,
    TokenVerifier,
    scopes_of,
)
from tests.service.credentials import AUDIENCE, ISSUER, Issuer


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer(tmp_path)


@pytest.fixture
def verifier(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(TokenConfig(ISSUER, AUDIENCE, public_key=issuer.public_key))


def reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenRejectedError) as rejected:
        verifier.verify(token)
    return rejected.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, str], claims: dict[str, object], key: bytes = b"") -> str:
    """A token made by hand: `alg: none`, or HMAC with `key` as the secret."""
    body = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if header["alg"] == "none":
        return f"{body}."
    return f"{body}.{b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def test_a_valid_token_names_the_caller_and_scopes(issuer: Issuer, verifier: TokenVerifier) -> None:
    caller = verifier.verify(issuer.token(f"{PATIENT_SCOPE} openid"))
    assert caller.subject == "epr-plugin"
    assert caller.scopes == {PATIENT_SCOPE, "openid"}


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"expires_in": -120}, "token expired"),
        ({"audience": "another-service"}, "token is for another audience"),
        ({"issuer": "https://elsewhere.example"}, "token from an unknown issuer"),
    ],
)
def test_expired_wrong_audience_wrong_issuer_are_rejected(
    issuer: Issuer, verifier: TokenVerifier, claims: dict[str, object], expected: str
) -> None:
    assert reason(verifier, issuer.token(**claims)) == expected  # type: ignore[arg-type]


def test_a_token_signed_by_another_key_is_rejected(tmp_path: Path, verifier: TokenVerifier) -> None:
    stranger = Issuer(tmp_path, "stranger")
    assert reason(verifier, stranger.token()) == "token signature does not verify"


def test_a_token_without_expiry_is_rejected(issuer: Issuer, verifier: TokenVerifier) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "scope": PATIENT_SCOPE}
    token = jwt.encode(claims, issuer.key, algorithm="ES256")
    assert reason(verifier, token) == "token lacks the 'exp' claim"


def test_alg_none_and_the_public_key_as_an_hmac_secret_are_rejected(
    issuer: Issuer, verifier: TokenVerifier
) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    none = unsigned({"alg": "none", "typ": "JWT"}, claims)
    assert reason(verifier, none) == "token signed with an algorithm not allowed"
    confused = unsigned({"alg": "HS256", "typ": "JWT"}, claims, issuer.public_key.read_bytes())
    assert reason(verifier, confused) == "token signed with an algorithm not allowed"


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c"])
def test_garbage_is_rejected(verifier: TokenVerifier, garbage: str) -> None:
    assert reason(verifier, garbage) == "malformed token"


def test_jwks_keys_are_chosen_by_kid(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_issuer = Issuer(tmp_path)
    entries = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "r1"},
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_issuer.key.public_key())), "kid": "e1"},
    ]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": entries}))
    verifier = TokenVerifier(TokenConfig(ISSUER, AUDIENCE, jwks=jwks))
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "scp": [ADMIN_SCOPE]}
    by_rsa = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r1"})
    by_ec = jwt.encode(claims, ec_issuer.key, algorithm="ES256", headers={"kid": "e1"})
    assert verifier.verify(by_rsa).scopes == {ADMIN_SCOPE}
    assert verifier.verify(by_ec).scopes == {ADMIN_SCOPE}
    unknown = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r2"})
    assert reason(verifier, unknown) == "token signed by an unknown key"
    # The EC key named by an RSA token's kid: the key's own type decides the algorithm.
    swapped = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "e1"})
    assert reason(verifier, swapped) == "token signed with an algorithm not allowed"


def test_a_jwks_with_a_symmetric_key_is_refused(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "k": b64(b"shared-secret")}]}))
    with pytest.raises(ValueError, match="only RSA, EC and OKP public keys"):
        TokenVerifier(TokenConfig(ISSUER, AUDIENCE, jwks=jwks))


def test_an_unreadable_key_file_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read token keys"):
        TokenVerifier(TokenConfig(ISSUER, AUDIENCE, public_key=tmp_path / "missing.pem"))
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ValueError, match="cannot read token keys"):
        TokenVerifier(TokenConfig(ISSUER, AUDIENCE, public_key=tmp_path / "junk.pem"))


def test_exactly_one_key_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TokenConfig(ISSUER, AUDIENCE)
    with pytest.raises(ValueError, match="exactly one"):
        TokenConfig(ISSUER, AUDIENCE, public_key=tmp_path, jwks=tmp_path)
    with pytest.raises(ValueError, match="issuer and audience"):
        TokenConfig("", AUDIENCE, public_key=tmp_path)


def test_scopes_from_scope_or_scp() -> None:
    assert scopes_of({"scope": "a b"}) == {"a", "b"}
    assert scopes_of({"scp": ["a", 3]}) == {"a"}
    assert scopes_of({"scp": "a"}) == {"a"}
    assert scopes_of({}) == frozenset()
