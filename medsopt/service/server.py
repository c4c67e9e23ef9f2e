"""Server factory and lifecycle: two listeners, health, reflection, draining on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from medsopt.audit.records import DecisionRecords
from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.service.connection import ConnectionSettings
from medsopt.service.listeners import (
    ADMIN_SERVICE_NAME,
    SERVICE_NAME,
    address,
    admin_server,
    bind,
    patient_server,
)
from medsopt.service.metrics import MeteredHolder, MetricsInterceptor, ServiceMetrics
from medsopt.service.ratelimit import AdminLimits
from medsopt.service.reflection import enable_reflection
from medsopt.service.security import SecurityConfig, check_exposure, is_loopback
from medsopt.service.servicer import (
    UNDECODABLE,
    MedicinesOptimisationServicer,
    RuleSetAdminServicer,
    Undecodable,
)
from medsopt.service.tokens import TokenVerifier
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations
from medsopt.store.reload import Reloader
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

__all__ = ["ADMIN_SERVICE_NAME", "SERVICE_NAME", "RunningServer", "ServerConfig", "build_server"]

T = TypeVar("T")

log = logging.getLogger(__name__)

DEFAULT_PORT = 50051


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How to run the server; `from_env` reads MEDSOPT_PORT / _RULES_DIR / _FORMULARY_DIR."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    locations: Locations = field(default_factory=Locations)
    max_workers: int = 8
    grace_seconds: float = 10.0
    watch: bool = True  # rebuild when rule or formulary files change
    poll_seconds: float = 1.0
    # Feedback and audit records: a SQLite path or a postgresql:// DSN (ADR 11); None: a
    # throwaway in-memory database (in-process tests). `medsopt serve` always names one.
    database: str | None = None
    admin_host: str = "127.0.0.1"
    admin_port: int | None = None  # None: the patient port + 1, or any free port for port 0
    admin_limits: AdminLimits = field(default_factory=AdminLimits)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    reflection: bool = True  # with tokens configured, reflection needs a token too
    drain_seconds: float = 5.0  # NOT_SERVING but still answering, before the graceful stop
    # Share the ports with the other worker processes (medsopt.service.workers); off alone, so
    # a port already in use fails loudly instead of splitting calls with a stranger.
    reuse_port: bool = False
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    metrics: bool = False  # count calls into prometheus-client (medsopt.service.metrics)

    @property
    def admin_port_to_bind(self) -> int:
        if self.admin_port is not None:
            return self.admin_port
        return self.port + 1 if self.port else 0

    @classmethod
    def from_env(
        cls,
        port: int | None = None,
        rules_dir: Path | None = None,
        formulary_dir: Path | None = None,
        host: str | None = None,
    ) -> ServerConfig:
        """Explicit arguments win over environment variables, which win over defaults."""
        env = os.environ
        return cls(
            host=host or env.get("MEDSOPT_HOST", "127.0.0.1"),
            port=port if port is not None else int(env.get("MEDSOPT_PORT", DEFAULT_PORT)),
            locations=Locations(
                rules_dir=rules_dir or Path(env.get("MEDSOPT_RULES_DIR", BUNDLED_RULES)),
                formulary_dir=formulary_dir
                or Path(env.get("MEDSOPT_FORMULARY_DIR", BUNDLED_FORMULARY)),
            ),
        )


@dataclass
class RunningServer:
    """A started server and the handles needed to load rules and stop it."""

    server: grpc.Server
    port: int
    holder: RuleSetHolder
    health: health.HealthServicer
    reloader: Reloader
    config: ServerConfig
    admin: grpc.Server
    admin_port: int
    records: DecisionRecords | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. what --insecure let through

    def load(self) -> bool:
        """Load the configured rule set now; True once a rule set is active (SERVING)."""
        self.reloader.reload_now()
        return self.holder.active is not None

    def stop(self) -> None:
        """NOT_SERVING, then finish in-flight calls (up to grace_seconds) and close both
        listeners."""
        self.health.enter_graceful_shutdown()
        self.reloader.stop()
        stopped = [s.stop(self.config.grace_seconds) for s in (self.admin, self.server)]
        for event in stopped:
            event.wait()
        if self.records is not None:
            self.records.close()  # after the last call: its audit record is written too

    def drain(self, hurry: threading.Event | None = None) -> None:
        """NOT_SERVING first, keep answering for drain_seconds so load balancers see it and
        send no more, then stop; `hurry` (a second signal) cuts the delay short."""
        self.health.enter_graceful_shutdown()
        log.info("draining: NOT_SERVING, still answering for %.1f s", self.config.drain_seconds)
        (hurry or threading.Event()).wait(self.config.drain_seconds)
        self.stop()


def lenient(parse: Callable[[bytes], T]) -> Callable[[bytes], T | Undecodable]:
    """A request deserializer that yields UNDECODABLE for bytes that do not decode, so the
    servicer answers INVALID_ARGUMENT (grpc answers INTERNAL for a deserializer's exception or
    None)."""

    def deserialize(data: bytes) -> T | Undecodable:
        try:
            return parse(data)
        except DecodeError:
            return UNDECODABLE

    return deserialize


def add_patient_service(servicer: MedicinesOptimisationServicer, server: grpc.Server) -> None:
    """The generated registration, with request bytes decoded leniently."""
    handlers = {
        "CheckMedications": grpc.unary_unary_rpc_method_handler(
            servicer.CheckMedications,
            request_deserializer=lenient(pb.CheckMedicationsRequest.FromString),
            response_serializer=pb.CheckMedicationsResponse.SerializeToString,
        ),
        "GetRuleSetInfo": grpc.unary_unary_rpc_method_handler(
            servicer.GetRuleSetInfo,
            request_deserializer=lenient(pb.GetRuleSetInfoRequest.FromString),
            response_serializer=pb.RuleSetInfo.SerializeToString,
        ),
        "RecordFeedback": grpc.unary_unary_rpc_method_handler(
            servicer.RecordFeedback,
            request_deserializer=lenient(pb.RecordFeedbackRequest.FromString),
            response_serializer=pb.RecordFeedbackResponse.SerializeToString,
        ),
        "GetRuleContent": grpc.unary_unary_rpc_method_handler(
            servicer.GetRuleContent,
            request_deserializer=lenient(pb.GetRuleContentRequest.FromString),
            response_serializer=pb.RuleSetContent.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


def build_server(config: ServerConfig, holder: RuleSetHolder | None = None) -> RunningServer:
    """Create and start both listeners (not yet SERVING); port 0 picks a free port.

    ExposureRefusedError if a listener would be reachable from other machines without TLS and
    tokens (and no --insecure); ValueError if a TLS or token file cannot be read."""
    security = config.security
    warnings = [
        warning
        for host in dict.fromkeys((config.host, config.admin_host))
        if (warning := check_exposure(host, security))
    ]
    verifier = TokenVerifier(security.tokens) if security.tokens else None
    metrics = ServiceMetrics() if config.metrics else None
    holder = holder or (MeteredHolder(metrics) if metrics else RuleSetHolder())
    server = patient_server(
        config.max_workers,
        verifier,
        options=[("grpc.so_reuseport", int(config.reuse_port)), *config.connection.options()],
        interceptors=[MetricsInterceptor(metrics)] if metrics else [],
    )
    records = DecisionRecords.open(config.database or ":memory:")
    add_patient_service(MedicinesOptimisationServicer(holder, records), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    def serving(_: Activation) -> None:
        for name in ("", SERVICE_NAME):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    reloader = Reloader(
        holder,
        config.locations,
        on_activate=serving,
        poll_seconds=config.poll_seconds,
        quiet_seconds=config.poll_seconds / 2,
    )
    # With several workers each one answers administration for itself on the shared admin
    # port; every worker watches the files, so a published change reaches all of them.
    admin = admin_server(config.admin_limits, verifier, reuse_port=config.reuse_port)
    pb_grpc.add_RuleSetAdminServicer_to_server(RuleSetAdminServicer(holder, reloader), admin)
    if config.reflection:
        enable_reflection((SERVICE_NAME, health.SERVICE_NAME), server)
        enable_reflection((ADMIN_SERVICE_NAME,), admin)
    port = bind(server, config.host, config.port, security)
    admin_port = bind(admin, config.admin_host, config.admin_port_to_bind, security)
    server.start()
    admin.start()
    return RunningServer(
        server,
        port,
        holder,
        health_servicer,
        reloader,
        config,
        admin,
        admin_port,
        records=records,
        warnings=warnings,
    )


def serve(config: ServerConfig, on_ready: Callable[[RunningServer], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT, then drain and shut down gracefully; exit 2 if the
    configuration is unsafe (ExposureRefusedError) or a TLS or token file cannot be read.
    `on_ready` is called once the first load has been tried."""
    # Handlers first: a SIGTERM from the moment we listen drains and exits 0.
    stopping = threading.Event()
    hurry = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: draining", signum)
        if stopping.is_set():  # a second signal: skip the rest of the drain delay
            hurry.set()
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        running = build_server(config)
    except ValueError as error:
        print(f"medsopt serve: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    for warning in running.warnings:
        log.warning("%s", warning)
        print(f"\n*** WARNING *** {warning}\n", file=sys.stderr, flush=True)
    security = config.security.describe()
    if is_loopback(config.host) and config.security.tls is None:
        security += "; loopback only"
    log.info("listening on %s (NOT_SERVING until a rule set loads)", config.host)
    # The port lines are machine-readable: tests and scripts wait for them (admin first).
    where = address(config.admin_host, running.admin_port)
    print(f"medsopt admin listening on {where} ({security})", flush=True)
    print(f"medsopt listening on {address(config.host, running.port)} ({security})", flush=True)

    def start() -> None:
        try:
            running.load()
        except Exception:  # a file that makes the build raise: NOT_SERVING, keep watching
            log.exception("first load failed unexpectedly; NOT_SERVING")
        if on_ready is not None:
            on_ready(running)
        if config.watch:
            running.reloader.start()

    # The first build takes seconds; a SIGTERM meanwhile must still drain and stop at once.
    threading.Thread(target=start, name="first-load", daemon=True).start()
    stopping.wait()
    running.drain(hurry)
    log.info("stopped")
