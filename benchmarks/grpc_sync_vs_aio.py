"""Sync gRPC (a thread pool) or grpc.aio (one event loop) for a worker process? Measured.

Starts, each in its own process on loopback: `medsopt serve --workers 1` as it is, two
prototypes running one CheckMedications path (decode, validate, check, encode; no logging) in a
sync server's thread pool and inline in a grpc.aio event loop, and the no-op baseline. Latency
at one request in flight alternates between the four; throughput is h2load on the 20-medicine
request, one process each (ADR 15).

    .venv/bin/python -m benchmarks.grpc_sync_vs_aio
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime
import shutil
import tempfile
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc

from benchmarks.grpc_harness import (
    METHOD,
    grpc_frame,
    h2load,
    h2load_path,
    launch,
    one_in_flight,
    start_medsopt,
    start_noop,
)
from benchmarks.grpc_load import card_patient, realistic
from medsopt.engine import CheckRequest
from medsopt.engine.point_of_care import check
from medsopt.engine.validation import validate_request
from medsopt.rules.ruleset import RuleSet
from medsopt.service import answers, converters
from medsopt.service.connection import ConnectionSettings
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2 as pb


def handler_for(ruleset: RuleSet) -> Callable[..., pb.CheckMedicationsResponse]:
    """The servicer's OK path (decode, validate, check, encode), no logging: the same code for
    both prototypes."""

    def check_medications(request: pb.CheckMedicationsRequest) -> pb.CheckMedicationsResponse:
        domain = converters.request_from_proto(request, today=datetime.date.today())
        if [*converters.enum_violations(request), *validate_request(domain)]:
            raise ValueError("invalid request in the benchmark cohort")
        return answers.response_to_proto(check(domain, ruleset), request.view)

    return check_medications


def registered(behaviour: Callable[..., object]) -> tuple[grpc.GenericRpcHandler]:
    handler = grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=pb.CheckMedicationsRequest.FromString,
        response_serializer=pb.CheckMedicationsResponse.SerializeToString,
    )
    service, _, method = METHOD.lstrip("/").partition("/")
    return (grpc.method_handlers_generic_handler(service, {method: handler}),)


async def serve_aio(port: int) -> None:
    """Prototype: the OK path as a coroutine in the event loop, no thread pool."""
    evaluate = handler_for(build(Locations()).ruleset)

    async def check_medications(
        request: pb.CheckMedicationsRequest, _context: grpc.aio.ServicerContext
    ) -> pb.CheckMedicationsResponse:
        return evaluate(request)

    server = grpc.aio.server(options=ConnectionSettings().options())
    server.add_generic_rpc_handlers(registered(check_medications))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"aio listening on 127.0.0.1:{bound}", flush=True)
    await server.wait_for_termination()


def serve_sync(port: int) -> None:
    """Prototype: the same OK path in a sync server's thread pool (8 threads, as medsopt)."""
    evaluate = handler_for(build(Locations()).ruleset)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8), options=ConnectionSettings().options()
    )
    server.add_generic_rpc_handlers(registered(lambda request, _context: evaluate(request)))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"sync listening on 127.0.0.1:{bound}", flush=True)
    server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["compare", "aio", "sync"], default="compare")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    if args.mode == "aio":
        asyncio.run(serve_aio(args.port))
        return
    if args.mode == "sync":
        serve_sync(args.port)
        return

    ruleset = build(Locations()).ruleset
    cohort = [request_to_bytes(p) for p in realistic(ruleset, 200, args.seed)]
    card = request_to_bytes(card_patient(ruleset, args.seed))
    work = Path(tempfile.mkdtemp(prefix="medsopt-sync-aio-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    (work / "request.grpc").write_bytes(grpc_frame(card))
    medsopt = start_medsopt(1, metrics=False)
    sync, aio = (
        launch(
            ["-m", "benchmarks.grpc_sync_vs_aio", kind], {"target": rf"{kind} listening on (\S+)"}
        )
        for kind in ("sync", "aio")
    )
    try:
        with grpc.insecure_channel(medsopt.found["target"]) as channel:
            answer = channel.unary_unary(METHOD)(card, timeout=30)
        (work / "answer.bin").write_bytes(answer)
        [noop] = start_noop(1, work / "answer.bin")
        try:
            targets = [
                medsopt.found["target"],
                sync.found["target"],
                aio.found["target"],
                noop.found["target"],
            ]
            one_in_flight(targets, cohort, 200)  # warm up
            latencies = one_in_flight(targets, cohort, args.calls)
            h2 = h2load_path()
            rates = [
                h2load(h2, t, work / "request.grpc", args.seconds, 16).per_second if h2 else 0.0
                for t in targets
            ]
        finally:
            noop.stop()
    finally:
        for server in (medsopt, sync, aio):
            server.stop()
    print(f"{'server':<8}{'p50 µs':>9}{'p99 µs':>9}{'p50/no-op':>11}{'req/s':>8}  statuses")
    names = ("medsopt", "sync", "aio", "no-op")
    for name, found, rate in zip(names, latencies, rates, strict=True):
        p50 = found.quantile(0.5)
        print(
            f"{name:<8}{p50:>9.0f}{found.quantile(0.99):>9.0f}"
            f"{p50 / latencies[3].quantile(0.5):>11.2f}{rate:>8.0f}  {dict(found.statuses)}"
        )


def request_to_bytes(request: CheckRequest) -> bytes:
    return converters.request_to_proto(request).SerializeToString()


if __name__ == "__main__":
    main()
