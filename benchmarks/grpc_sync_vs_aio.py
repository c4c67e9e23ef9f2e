"""Sync gRPC (a thread pool) or grpc.aio (one event loop) for a worker process? Measured.

Starts, each in its own process on loopback: `medsopt serve --workers 1` (sync), a grpc.aio
prototype running the same CheckMedications path (decode, validate, check, encode) inline in
the event loop, and the no-op baseline. Latency at one request in flight alternates between the
three; throughput is h2load on the 20-medicine request, one process each (ADR 11).

    .venv/bin/python -m benchmarks.grpc_sync_vs_aio
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import tempfile
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
from medsopt.service import answers, converters
from medsopt.service.connection import ConnectionSettings
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2 as pb


async def serve_aio(port: int) -> None:
    """The prototype: the servicer's OK path as a coroutine, no thread pool."""
    ruleset = build(Locations()).ruleset

    async def check_medications(
        request: pb.CheckMedicationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckMedicationsResponse:
        domain = converters.request_from_proto(request, today=datetime.date.today())
        if [*converters.enum_violations(request), *validate_request(domain)]:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid")
        return answers.response_to_proto(check(domain, ruleset), request.view)

    server = grpc.aio.server(options=ConnectionSettings().options())
    handler = grpc.unary_unary_rpc_method_handler(
        check_medications,
        request_deserializer=pb.CheckMedicationsRequest.FromString,
        response_serializer=pb.CheckMedicationsResponse.SerializeToString,
    )
    service, _, method = METHOD.lstrip("/").partition("/")
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"aio listening on 127.0.0.1:{bound}", flush=True)
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["compare", "aio"], default="compare")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    if args.mode == "aio":
        asyncio.run(serve_aio(args.port))
        return

    ruleset = build(Locations()).ruleset
    cohort = [request_to_bytes(p) for p in realistic(ruleset, 200, args.seed)]
    card = request_to_bytes(card_patient(ruleset, args.seed))
    work = Path(tempfile.mkdtemp(prefix="medsopt-sync-aio-"))
    (work / "request.grpc").write_bytes(grpc_frame(card))
    sync = start_medsopt(1, metrics=False)
    aio = launch(
        ["-m", "benchmarks.grpc_sync_vs_aio", "aio"], {"target": r"aio listening on (\S+)"}
    )
    try:
        with grpc.insecure_channel(sync.found["target"]) as channel:
            answer = channel.unary_unary(METHOD)(card, timeout=30)
        (work / "answer.bin").write_bytes(answer)
        [noop] = start_noop(1, work / "answer.bin")
        try:
            targets = [sync.found["target"], aio.found["target"], noop.found["target"]]
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
        sync.stop()
        aio.stop()
    print(f"{'server':<8}{'p50 µs':>9}{'p99 µs':>9}{'p50/no-op':>11}{'req/s':>8}  statuses")
    for name, found, rate in zip(("sync", "aio", "no-op"), latencies, rates, strict=True):
        p50 = found.quantile(0.5)
        print(
            f"{name:<8}{p50:>9.0f}{found.quantile(0.99):>9.0f}"
            f"{p50 / latencies[2].quantile(0.5):>11.2f}{rate:>8.0f}  {dict(found.statuses)}"
        )


def request_to_bytes(request: CheckRequest) -> bytes:
    return converters.request_to_proto(request).SerializeToString()


if __name__ == "__main__":
    main()
