"""Service tokens: signed JWTs (issuer, audience, expiry, scopes) checked against public keys
read from a PEM file or a JWKS file (no network fetch)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

PATIENT_SCOPE = "medsopt.patient"  # MedicinesOptimisation: what an EPR plugin is granted
ADMIN_SCOPE = "medsopt.admin"  # RuleSetAdmin: what an operator is granted

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

# The algorithms a key may verify follow from the key's own type, never from the token header:
# a token cannot talk us into HS256 with the public key as the secret, or into "none".
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC = ("ES256", "ES384", "ES512")
_EDDSA = ("EdDSA",)
_REQUIRED_CLAIMS = ["exp", "iss", "aud"]


class TokenRejectedError(Exception):
    """The token is missing or not valid; `reason` is safe to tell the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Who issues our tokens, for which audience, and where their public keys are."""

    issuer: str
    audience: str
    public_key: Path | None = None  # a PEM public key
    jwks: Path | None = None  # a JSON Web Key Set file: {"keys": [...]}
    leeway_seconds: float = 30.0  # clock skew allowed on exp/nbf/iat

    def __post_init__(self) -> None:
        if (self.public_key is None) == (self.jwks is None):
            raise ValueError("give exactly one of a token public key file or a JWKS file")
        if not self.issuer or not self.audience:
            raise ValueError("a token issuer and audience are both needed")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a verified token says is calling, and what they may do."""

    subject: str
    scopes: frozenset[str]


def algorithms_for(key: PublicKey) -> tuple[str, ...]:
    """The signature algorithms this public key can verify."""
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _EC
    return _EDDSA


def _pem_key(path: Path) -> PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, PublicKey):
        raise ValueError(f"{path}: not an RSA, EC or EdDSA public key")
    return key


def _jwks_keys(path: Path) -> dict[str | None, PublicKey]:
    document = json.loads(path.read_text())
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: a JWKS file holds a non-empty list under 'keys'")
    keys: dict[str | None, PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            # A symmetric ("oct") key would let anyone holding it mint tokens.
            raise ValueError(f"{path}: only RSA, EC and OKP public keys are accepted")
        key = jwt.PyJWK.from_dict(entry).key
        if not isinstance(key, PublicKey):  # a private JWK: use its public half only
            key = key.public_key()
        keys[entry.get("kid")] = key
    return keys


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from `scope` (space-separated, RFC 8693) or `scp` (a list or a string)."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return frozenset(found)


class TokenVerifier:
    """Verifies a bearer token's signature, issuer, audience and expiry; names the caller."""

    def __init__(self, config: TokenConfig) -> None:
        self._config = config
        self._keys: dict[str | None, PublicKey]
        try:
            if config.public_key is not None:
                self._keys = {None: _pem_key(config.public_key)}
            else:
                assert config.jwks is not None
                self._keys = _jwks_keys(config.jwks)
        except (OSError, ValueError, jwt.PyJWTError) as error:
            raise ValueError(f"cannot read token keys: {error}") from error

    def _key_for(self, token: str) -> PublicKey:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise TokenRejectedError("malformed token") from None
        if kid in self._keys:
            return self._keys[kid]
        if len(self._keys) == 1:  # one key: a token need not name it
            return next(iter(self._keys.values()))
        raise TokenRejectedError("token signed by an unknown key")

    def verify(self, token: str) -> Caller:
        """The caller a valid token names; TokenRejectedError with a short reason otherwise."""
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(algorithms_for(key)),
                audience=self._config.audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway_seconds,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejectedError("token expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRejectedError("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejectedError("token from an unknown issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejectedError("token signature does not verify") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejectedError("token signed with an algorithm not allowed") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejectedError(f"token lacks the {error.claim!r} claim") from None
        except jwt.PyJWTError:
            raise TokenRejectedError("invalid token") from None
        return Caller(subject=str(claims.get("sub", "")), scopes=scopes_of(claims))
