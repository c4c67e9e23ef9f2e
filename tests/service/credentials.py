"""Throwaway credentials for the transport tests: a CA (trustme) with server and client
certificates on disk, and a token issuer whose public key is on disk."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from medsopt.service.tokens import PATIENT_SCOPE

ISSUER = "https://idp.example.nhs.uk"
AUDIENCE = "medsopt"


@dataclass
class Pki:
    """A CA, the server's certificate files, and a client certificate it signed."""

    ca: trustme.CA
    server_cert: Path
    server_key: Path
    ca_cert: Path
    client: trustme.LeafCert

    @classmethod
    def create(cls, directory: Path) -> Pki:
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        files = {name: directory / f"{name}.pem" for name in ("server", "server-key", "ca")}
        server.cert_chain_pems[0].write_to_path(str(files["server"]))
        server.private_key_pem.write_to_path(str(files["server-key"]))
        ca.cert_pem.write_to_path(str(files["ca"]))
        client = ca.issue_cert("epr-plugin@example.nhs.uk")
        return cls(ca, files["server"], files["server-key"], files["ca"], client)

    def server_args(self, mutual: bool = True) -> list[str]:
        """`medsopt serve` options for this server certificate (and client CA)."""
        args = ["--tls-cert", str(self.server_cert), "--tls-key", str(self.server_key)]
        return [*args, "--tls-client-ca", str(self.ca_cert)] if mutual else args

    def client_credentials(self, with_certificate: bool = True) -> grpc.ChannelCredentials:
        """Trusting this CA, presenting the client certificate (or none)."""
        if not with_certificate:
            return grpc.ssl_channel_credentials(root_certificates=self.ca.cert_pem.bytes())
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.cert_pem.bytes(),
            private_key=self.client.private_key_pem.bytes(),
            certificate_chain=self.client.cert_chain_pems[0].bytes(),
        )


class Issuer:
    """Signs ES256 tokens; its public key is written to `directory/name.pem`."""

    def __init__(self, directory: Path, name: str = "issuer") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = directory / f"{name}.pem"
        self.public_key.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def server_args(self) -> list[str]:
        """`medsopt serve` options trusting this issuer."""
        return [
            *("--token-issuer", ISSUER, "--token-audience", AUDIENCE),
            *("--token-public-key", str(self.public_key)),
        ]

    def token(
        self,
        scope: str = PATIENT_SCOPE,
        *,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
        expires_in: float = 300,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer,
            "aud": audience,
            "sub": "epr-plugin",
            "scope": scope,
            "iat": now,
            "exp": now + int(expires_in),
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="ES256")


def bearer(token: str) -> tuple[tuple[str, str]]:
    """Call metadata carrying `token`."""
    return (("authorization", f"Bearer {token}"),)
