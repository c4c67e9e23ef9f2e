"""The two listeners, each its own grpc.Server (thread pool, interceptors, port): patients'
(MedicinesOptimisation and health) and operators' (RuleSetAdmin), so administration can neither
be reached on the patient port nor take the threads that patient calls need."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health

from medsopt.service.auth import TokenAdmission
from medsopt.service.guard import GuardInterceptor
from medsopt.service.ratelimit import AdminLimits, RateAdmission
from medsopt.service.security import SecurityConfig
from medsopt.service.tokens import ADMIN_SCOPE, PATIENT_SCOPE, TokenVerifier
from medsopt.v1 import medsopt_pb2 as pb

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["MedicinesOptimisation"].full_name
ADMIN_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["RuleSetAdmin"].full_name
RELOAD_METHOD = f"/{ADMIN_SERVICE_NAME}/ReloadRuleSet"
SCOPES = {SERVICE_NAME: PATIENT_SCOPE, ADMIN_SERVICE_NAME: ADMIN_SCOPE}
# Load balancers probe health without credentials of ours.
OPEN_SERVICES = frozenset({health.SERVICE_NAME})
# Refused calls wait in the tarpit (ratelimit.RateAdmission) on these few threads; a flood
# beyond ADMIN_MAX_CONCURRENT calls at once is refused by grpc before any of our code runs.
ADMIN_WORKERS = 4
ADMIN_MAX_CONCURRENT = 256


def address(host: str, port: int) -> str:
    """host:port, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def bind(server: grpc.Server, host: str, port: int, security: SecurityConfig) -> int:
    """Listen on host:port, with TLS if configured; the port bound (port 0 picks one)."""
    where = address(host, port)
    if security.tls is not None:
        bound: int = server.add_secure_port(where, security.tls.server_credentials())
    else:
        bound = server.add_insecure_port(where)
    if bound == 0:
        raise OSError(f"cannot bind {where}")
    return bound


def _token_guard(verifier: TokenVerifier | None) -> list[Any]:
    if verifier is None:
        return []
    return [GuardInterceptor(TokenAdmission(verifier, SCOPES), open_services=OPEN_SERVICES)]


def patient_server(
    max_workers: int,
    verifier: TokenVerifier | None,
    options: Sequence[tuple[str, Any]] = (("grpc.so_reuseport", 0),),
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> grpc.Server:
    """The patient listener's server: tokens (if configured) with the patient scope, then the
    given interceptors (metrics)."""
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="patient"),
        interceptors=[*_token_guard(verifier), *interceptors],
        options=list(options),
    )


def admin_server(
    limits: AdminLimits, verifier: TokenVerifier | None, reuse_port: bool = False
) -> grpc.Server:
    """The administration listener's server: tokens with the admin scope, then rate limits
    (authentication first, so strangers cannot spend an operator's allowance)."""
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=ADMIN_WORKERS, thread_name_prefix="admin"),
        interceptors=[
            *_token_guard(verifier),
            GuardInterceptor(RateAdmission.for_admin(limits, RELOAD_METHOD)),
        ],
        options=[("grpc.so_reuseport", int(reuse_port))],
        maximum_concurrent_rpcs=ADMIN_MAX_CONCURRENT,
    )
