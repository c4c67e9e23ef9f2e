"""Server factory and lifecycle: health, reflection, graceful shutdown."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.service.connection import ConnectionSettings
from medsopt.service.metrics import MeteredHolder, MetricsInterceptor, ServiceMetrics
from medsopt.service.reflection import enable_reflection
from medsopt.service.servicer import (
    UNDECODABLE,
    MedicinesOptimisationServicer,
    RuleSetAdminServicer,
    Undecodable,
)
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations
from medsopt.store.reload import Reloader
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

T = TypeVar("T")

log = logging.getLogger(__name__)

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["MedicinesOptimisation"].full_name
ADMIN_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["RuleSetAdmin"].full_name
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
    # Share the port with the other worker processes (medsopt.service.workers); off alone, so
    # a port already in use fails loudly instead of splitting calls with a stranger.
    reuse_port: bool = False
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    metrics: bool = False  # count calls into prometheus-client (medsopt.service.metrics)

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

    def load(self) -> bool:
        """Load the configured rule set now; True once a rule set is active (SERVING)."""
        self.reloader.reload_now()
        return self.holder.active is not None

    def stop(self) -> None:
        """NOT_SERVING first so load balancers drain us, then finish in-flight calls."""
        self.reloader.stop()
        self.health.enter_graceful_shutdown()
        self.server.stop(self.config.grace_seconds).wait()


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
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


def build_server(config: ServerConfig, holder: RuleSetHolder | None = None) -> RunningServer:
    """Create and start a server (not yet SERVING); port 0 picks a free port."""
    metrics = ServiceMetrics() if config.metrics else None
    holder = holder or (MeteredHolder(metrics) if metrics else RuleSetHolder())
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers),
        options=[("grpc.so_reuseport", int(config.reuse_port)), *config.connection.options()],
        interceptors=[MetricsInterceptor(metrics)] if metrics else None,
    )
    add_patient_service(MedicinesOptimisationServicer(holder), server)
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
    pb_grpc.add_RuleSetAdminServicer_to_server(RuleSetAdminServicer(holder, reloader), server)
    enable_reflection((SERVICE_NAME, ADMIN_SERVICE_NAME, health.SERVICE_NAME), server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"cannot bind {config.host}:{config.port}")
    server.start()
    return RunningServer(server, port, holder, health_servicer, reloader, config)


def serve(config: ServerConfig, on_ready: Callable[[RunningServer], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully; `on_ready` once rules are loaded."""
    running = build_server(config)
    log.info("listening on %s:%d (NOT_SERVING until a rule set loads)", config.host, running.port)
    # The port line is machine-readable: tests and scripts wait for it.
    print(f"medsopt listening on {config.host}:{running.port}", flush=True)
    running.load()
    if on_ready is not None:
        on_ready(running)
    if config.watch:
        running.reloader.start()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: draining", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stopping.wait()
    running.stop()
    log.info("stopped")
