"""TLS for a listener: the server's certificate, and optionally the CA its clients must hold
certificates from (mutual TLS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """PEM files: the server's certificate chain and key; `client_ca` turns on mutual TLS."""

    certificate: Path
    private_key: Path
    client_ca: Path | None = None  # when set, a client without a certificate it signed is refused

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None

    def server_credentials(self) -> grpc.ServerCredentials:
        """Credentials for `add_secure_port`; read once, at start-up (a missing file fails it)."""
        try:
            chain = self.certificate.read_bytes()
            key = self.private_key.read_bytes()
            client_ca = self.client_ca.read_bytes() if self.client_ca else None
        except OSError as error:
            raise ValueError(f"cannot read TLS files: {error}") from error
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca, require_client_auth=self.mutual
        )
