"""Transport security settings and the exposure policy: plaintext without tokens only on
loopback, unless the operator says `--insecure` in so many words."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from medsopt.service.tls import TlsConfig
from medsopt.service.tokens import TokenConfig


class ExposureRefusedError(ValueError):
    """A listener would be reachable from other machines without TLS and tokens."""


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """TLS (optionally mutual) and token checking for every listener; none by default."""

    tls: TlsConfig | None = None
    tokens: TokenConfig | None = None
    insecure: bool = False  # allow a non-loopback listener without TLS or tokens

    @classmethod
    def from_options(
        cls,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        tls_client_ca: Path | None = None,
        token_issuer: str | None = None,
        token_audience: str | None = None,
        token_public_key: Path | None = None,
        token_jwks: Path | None = None,
        insecure: bool = False,
    ) -> SecurityConfig:
        """Security from command-line options; ValueError for a half-given setting."""
        tls = None
        if tls_cert or tls_key or tls_client_ca:
            if not (tls_cert and tls_key):
                raise ValueError("TLS needs both --tls-cert and --tls-key")
            tls = TlsConfig(tls_cert, tls_key, tls_client_ca)
        tokens = None
        if token_issuer or token_audience or token_public_key or token_jwks:
            tokens = TokenConfig(
                issuer=token_issuer or "",
                audience=token_audience or "",
                public_key=token_public_key,
                jwks=token_jwks,
            )
        return cls(tls=tls, tokens=tokens, insecure=insecure)

    def describe(self) -> str:
        """One phrase for the startup line, e.g. 'TLS with client certificates, tokens'."""
        transport = "plaintext"
        if self.tls is not None:
            transport = "mutual TLS" if self.tls.mutual else "TLS"
        return f"{transport}, {'tokens required' if self.tokens else 'no tokens'}"

    def missing(self) -> list[str]:
        """What a listener reachable from other machines lacks."""
        return [
            *(["TLS (--tls-cert, --tls-key)"] if self.tls is None else []),
            *(
                ["tokens (--token-issuer, --token-audience, --token-public-key or --token-jwks)"]
                if self.tokens is None
                else []
            ),
        ]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, security: SecurityConfig) -> str | None:
    """None when `host` may listen with `security`; a loud warning when only `--insecure`
    allows it; ExposureRefusedError when it may not."""
    missing = security.missing()
    if is_loopback(host) or not missing:
        return None
    if not security.insecure:
        raise ExposureRefusedError(
            f"refusing to listen on {host} without {' and '.join(missing)}; "
            "listen on 127.0.0.1, configure them, or pass --insecure"
        )
    return (
        f"INSECURE: listening on {host} without {' and '.join(missing)} (--insecure): "
        "any machine that reaches this port can read and send patient data"
    )
