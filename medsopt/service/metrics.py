"""Prometheus metrics: calls by method and status, latency, findings per answer, the active rule
set and the last reload, summed over every worker process.

Each process writes its values to memory-mapped files in one directory (prometheus-client's
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` must be set before prometheus_client is first
imported, which `use_directory` does); whoever serves `/metrics` reads them all. Per call the
cost is a counter increment and a histogram observation (and a findings count for
CheckMedications): about 15 µs in multiprocess mode on the loaded benchmark machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import grpc

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.rules.holder import Activation, Cause, FailedAttempt, RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.v1 import medsopt_pb2 as pb

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


def use_directory(directory: str) -> None:
    """Put this process and the workers it starts into multiprocess mode over `directory`."""
    import sys

    if "prometheus_client" in sys.modules and os.environ.get(MULTIPROCESS_ENV) != directory:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory")
    os.environ[MULTIPROCESS_ENV] = directory


class ServiceMetrics:
    """The service's metrics, in a registry of their own (several servers may share a process)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        on = self.registry
        self.handled = Counter(
            "medsopt_grpc_server_handled",
            "RPCs completed, by method and gRPC status code.",
            ("grpc_service", "grpc_method", "grpc_code"),
            registry=on,
        )
        self.latency = Histogram(
            "medsopt_grpc_server_handling_seconds",
            "Time from handler start to answer, by method.",
            ("grpc_service", "grpc_method"),
            buckets=LATENCY_BUCKETS,
            registry=on,
        )
        # A counter, not a histogram: per call one more cheap increment; findings per answer
        # is this over handled{CheckMedications, OK}.
        self.findings = Counter(
            "medsopt_findings",
            "Findings in OK CheckMedications answers (per answer: divide by the OK calls).",
            registry=on,
        )
        self.active = Gauge(
            "medsopt_rule_set_active",
            "1 for the rule set each worker serves (label pid in multiprocess mode).",
            ("version", "content_hash"),
            multiprocess_mode="liveall",
            registry=on,
        )
        self.reload_success = Gauge(
            "medsopt_rule_set_last_reload_success",
            "1 if the last load or reload of the rule set was activated, 0 if rejected.",
            multiprocess_mode="liveall",
            registry=on,
        )
        self.reload_time = Gauge(
            "medsopt_rule_set_last_reload_timestamp_seconds",
            "Unix time of the last load or reload attempt.",
            multiprocess_mode="liveall",
            registry=on,
        )
        self.reloads = Counter(
            "medsopt_rule_set_reloads", "Rule-set loads by result.", ("result",), registry=on
        )
        self._serving: RuleSet | None = None

    def activated(self, ruleset: RuleSet) -> None:
        if self._serving is not None:
            old = self._serving.identity
            self.active.labels(old.version, old.content_hash).set(0)
        self._serving = ruleset
        self.active.labels(ruleset.identity.version, ruleset.identity.content_hash).set(1)
        self._reloaded("activated", 1)

    def rejected(self) -> None:
        self._reloaded("rejected", 0)

    def _reloaded(self, result: str, success: int) -> None:
        self.reloads.labels(result).inc()
        self.reload_success.set(success)
        self.reload_time.set(time.time())


class MeteredHolder(RuleSetHolder):
    """A rule-set holder that reports each activation and rejection to the metrics."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        super().__init__()
        self._metrics = metrics

    def activate(
        self, ruleset: RuleSet, load_millis: float, manifest_sha256: str = ""
    ) -> Activation:
        activation = super().activate(ruleset, load_millis, manifest_sha256)
        self._metrics.activated(ruleset)
        return activation

    def record_failure(
        self, diagnostics: tuple[Diagnostic, ...], message: str, cause: Cause = Cause.INVALID
    ) -> FailedAttempt:
        failed = super().record_failure(diagnostics, message, cause)
        self._metrics.rejected()
        return failed


Behaviour = Callable[[Any, grpc.ServicerContext], Any]


class MetricsInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Counts and times every unary call; wrapped handlers are made once per method."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        cached = self._wrapped.get(details.method)
        if cached is None or cached[0] is not handler:
            cached = (handler, handler._replace(unary_unary=self._wrap(details.method, handler)))
            self._wrapped[details.method] = cached
        return cached[1]

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour:
        service, _, name = method.lstrip("/").partition("/")
        latency = self._metrics.latency.labels(service, name)
        handled = self._metrics.handled
        by_code: dict[str, Any] = {}
        findings = self._metrics.findings if name == "CheckMedications" else None
        inner: Behaviour = handler.unary_unary

        def count(code: grpc.StatusCode | None) -> None:
            label = code.name if code is not None else "UNKNOWN"
            counter = by_code.get(label)
            if counter is None:
                counter = by_code[label] = handled.labels(service, name, label)
            counter.inc()

        def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = inner(request, context)
            except BaseException:
                count(context.code())
                latency.observe(time.perf_counter() - started)
                raise
            count(grpc.StatusCode.OK)
            latency.observe(time.perf_counter() - started)
            if findings is not None and isinstance(response, pb.CheckMedicationsResponse):
                findings.inc(len(response.findings))
            return response

        return behaviour


def serve_http(host: str, port: int) -> int:
    """Serve /metrics for every process writing to the multiprocess directory; the bound port."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    bound: int = server.server_port
    return bound


def forget_process(pid: int) -> None:
    """A worker died: drop its live gauges (its counters still count)."""
    from prometheus_client import multiprocess

    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)
