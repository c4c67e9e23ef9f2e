"""Patient-call latency under a ReloadRuleSet flood, as a ratio to the same server unflooded.

    .venv/bin/python benchmarks/reload_flood.py [--seconds 20] [--flooders 16]
    .venv/bin/python benchmarks/reload_flood.py --source /path/to/an/older/checkout

One `medsopt serve` process (plaintext on loopback, no watcher). One client calls
CheckMedications back to back for --seconds (the baseline), then again while --flooders threads
in another process call ReloadRuleSet in a loop on the administration listener (or, for a
checkout from before it existed, on the patient port). Reports p50/p99 of both phases and the
ratio of the p99s; the goal is <= 2.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

REQUEST = pb.CheckMedicationsRequest(
    patient=pb.PatientContext(age_years=78, egfr=60),
    medications=[
        pb.Medication(ref="w", code="319733000"),
        pb.Medication(ref="n", code="329806007"),
    ],
)
CALL_TIMEOUT = 120.0


def start(source: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    """`medsopt serve` from `source`; its patient and administration targets once SERVING."""
    process = subprocess.Popen(
        [sys.executable, "-m", "medsopt", "serve", "--port", "0", "--no-watch", *extra],
        cwd=source,
        env={**os.environ, "PYTHONPATH": str(source), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    admin = ""
    for line in process.stdout:
        if found := re.search(r"medsopt admin listening on (\S+:\d+)", line):
            admin = found.group(1)
        elif found := re.search(r"medsopt listening on (\S+:\d+)", line):
            target = found.group(1)
            break
    else:
        raise RuntimeError("server did not start")
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                return process, target, admin or target  # no admin line: same port
            time.sleep(0.2)
    raise RuntimeError("server never became SERVING")


def patient_latencies(target: str, seconds: float) -> tuple[list[float], int]:
    """Milliseconds of each CheckMedications called back to back for `seconds`; failures."""
    latencies: list[float] = []
    failures = 0
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.perf_counter()
            try:
                stub.CheckMedications(REQUEST, timeout=CALL_TIMEOUT)
            except grpc.RpcError:
                failures += 1
                continue
            latencies.append((time.perf_counter() - began) * 1000)
    return latencies, failures


def flood(
    target: str,
    flooders: int,
    stop: Callable[[], bool],
    outcomes: Counter[str],
    rpc: str,
    timeout: float,
) -> None:
    """`flooders` threads calling `rpc` (ReloadRuleSet or GetRuleSetStatus) until `stop()`."""

    def one() -> None:
        with grpc.insecure_channel(target) as channel:
            admin = pb_grpc.RuleSetAdminStub(channel)
            call, request = (
                (admin.ReloadRuleSet, pb.ReloadRuleSetRequest())
                if rpc == "ReloadRuleSet"
                else (admin.GetRuleSetStatus, pb.GetRuleSetStatusRequest())
            )
            while not stop():
                try:
                    call(request, timeout=timeout)
                    outcomes["OK"] += 1
                except grpc.RpcError as error:
                    outcomes[error.code().name] += 1

    threads = [threading.Thread(target=one) for _ in range(flooders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def flood_process(
    target: str,
    flooders: int,
    seconds: float,
    rpc: str,
    results: multiprocessing.Queue[dict[str, int]],
) -> None:
    """Run `flood` in this (separate) process for `seconds`; put its outcome counts."""
    end = time.monotonic() + seconds
    outcomes: Counter[str] = Counter()
    # A call still waiting when the flood ends is cut off by its deadline then.
    flood(target, flooders, lambda: time.monotonic() > end, outcomes, rpc, seconds)
    results.put(dict(outcomes))


def summary(name: str, latencies: list[float], failures: int, seconds: float) -> float:
    """Print one phase; its p99 in milliseconds."""
    if len(latencies) < 2:
        took = ", ".join(f"{ms:.0f} ms" for ms in latencies)
        print(f"{name:>9}: {len(latencies)} calls completed ({took}), {failures} failed")
        return float("inf")
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"{name:>9}: {len(latencies)} calls ({len(latencies) / seconds:.1f}/s), "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies):.1f} ms, {failures} failed"
    )
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--flooders", type=int, default=16)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "--rpc",
        choices=("ReloadRuleSet", "GetRuleSetStatus"),
        default="ReloadRuleSet",
        help="GetRuleSetStatus floods without any rebuild: the cost of refusals alone.",
    )
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        help="An extra `medsopt serve` argument (repeat), e.g. --serve-arg=--workers=1.",
    )
    args = parser.parse_args()
    process, target, admin = start(args.source, args.serve_arg)
    try:
        print(f"server from {args.source}: patient {target}, administration {admin}")
        patient_latencies(target, 2)  # warm up
        quiet = summary("quiet", *patient_latencies(target, args.seconds), args.seconds)
        spawn = multiprocessing.get_context("spawn")  # no forking a process with grpc threads
        results: multiprocessing.Queue[dict[str, int]] = spawn.Queue()
        flooder = spawn.Process(
            target=flood_process, args=(admin, args.flooders, args.seconds + 1, args.rpc, results)
        )
        flooder.start()
        time.sleep(1)  # the flood is under way before the first measured call
        flooded = summary("flooded", *patient_latencies(target, args.seconds), args.seconds)
        outcomes = results.get(timeout=CALL_TIMEOUT * 2)
        flooder.join()
        print(f"    flood: {args.flooders} x {args.rpc}, outcomes {outcomes}")
        print(f"p99 ratio flooded/quiet: {flooded / quiet:.2f} (goal <= 2)")
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:  # a server from before draining may not stop
            process.kill()
            process.wait(10)


if __name__ == "__main__":
    main()
