"""What the gRPC load benchmarks share: servers started on loopback, a no-op baseline answering
pre-serialised bytes, a one-in-flight driver and h2load.

The no-op server (`python -m benchmarks.grpc_harness noop ...`) registers the same method as
medsopt and answers every call with the same answer bytes, without decoding the request: the
floor that gRPC, HTTP/2 and Python impose on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from medsopt.service.connection import ConnectionSettings

METHOD = "/medsopt.v1.MedicinesOptimisation/CheckMedications"
STARTUP_SECONDS = 120


@dataclass
class Launched:
    """A server subprocess, the lines it printed, and what they told us."""

    process: subprocess.Popen[str]
    found: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def pids(self) -> list[int]:
        """The process and any workers it said it started."""
        workers = re.findall(r"worker \d+ started \(pid (\d+)\)", "".join(self.lines))
        return [self.process.pid, *(int(p) for p in workers)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def launch(args: Sequence[str], wanted: dict[str, str]) -> Launched:
    """Start `python args...`; wait until each pattern in `wanted` (name -> regex with one group)
    has matched a printed line."""
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    launched = Launched(process, {})
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while set(launched.found) != set(wanted) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        launched.lines.append(line)
        for name, pattern in wanted.items():
            if name not in launched.found and (match := re.search(pattern, line)):
                launched.found[name] = match.group(1)
    if set(launched.found) != set(wanted):
        process.kill()
        raise RuntimeError("server did not start:\n" + "".join(launched.lines[-30:]))

    def drain() -> None:  # a full pipe would block the server's logging
        for line in process.stdout or ():
            launched.lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return launched


def start_medsopt(workers: int, metrics: bool = True) -> Launched:
    """`medsopt serve` with `workers` processes on a free loopback port, rules loaded."""
    args = ["-m", "medsopt", "serve", "--port", "0", "--no-watch", "--workers", str(workers)]
    wanted = {"target": r"medsopt listening on (\S+:\d+)"}
    if metrics:
        args += ["--metrics-port", "0"]
        wanted["metrics"] = r"medsopt metrics on (\S+)"
    if workers > 1:
        wanted["serving"] = r"medsopt: (\d+) workers serving"
    launched = launch(args, wanted)
    if workers == 1:
        wait_until_answering(launched.found["target"])
    return launched


def start_noop(processes: int, answer: Path) -> list[Launched]:
    """`processes` no-op servers sharing one free loopback port (SO_REUSEPORT)."""
    from medsopt.service.workers import reserve_port

    held = reserve_port("127.0.0.1", 0)
    port = held.getsockname()[1]
    try:
        return [
            launch(
                ["-m", "benchmarks.grpc_harness", "noop", "--port", str(port), str(answer)],
                {"target": r"noop listening on (\S+:\d+)"},
            )
            for _ in range(processes)
        ]
    finally:
        held.close()


def wait_until_answering(target: str) -> None:
    """Until health says SERVING (a rule set is loaded)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + STARTUP_SECONDS
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError("no rule set loaded in time")


@dataclass(frozen=True, slots=True)
class Latencies:
    """Round trips at one request in flight, in microseconds, and every status seen."""

    samples: tuple[float, ...]
    statuses: Counter[str]

    def quantile(self, q: float) -> float:
        return statistics.quantiles(self.samples, n=100)[round(q * 100) - 1]


def one_in_flight(targets: Sequence[str], bodies: Sequence[bytes], calls: int) -> list[Latencies]:
    """`calls` calls to each target, alternating between targets call by call so that noise on
    a shared machine falls on all of them alike."""
    channels = [grpc.insecure_channel(t) for t in targets]
    stubs = [c.unary_unary(METHOD) for c in channels]
    samples: list[list[float]] = [[] for _ in targets]
    statuses: list[Counter[str]] = [Counter() for _ in targets]
    try:
        for i in range(calls):
            body = bodies[i % len(bodies)]
            for stub, seen, found in zip(stubs, samples, statuses, strict=True):
                started = time.perf_counter_ns()
                try:
                    stub(body, timeout=10)
                    found["OK"] += 1
                except grpc.RpcError as error:
                    found[error.code().name] += 1
                seen.append((time.perf_counter_ns() - started) / 1e3)
    finally:
        for channel in channels:
            channel.close()
    return [Latencies(tuple(s), c) for s, c in zip(samples, statuses, strict=True)]


def h2load_path() -> str | None:
    """h2load, installed with apt (nghttp2-client) when missing and we may; None if it cannot be."""
    found = shutil.which("h2load")
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    print("h2load missing: apt-get install -y nghttp2-client", file=sys.stderr)
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "nghttp2-client"],
    ):
        subprocess.run(command, check=False, capture_output=True)
    return shutil.which("h2load")


@dataclass(frozen=True, slots=True)
class Throughput:
    """One h2load run: completed requests per second, HTTP-level failures, and the CPU cores
    the servers got meanwhile (on a shared machine, what limits the rate)."""

    per_second: float
    done: int
    failed: int
    cores: float


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time used so far by `pids` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        used += int(fields[11]) + int(fields[12])
    return used / ticks


def h2load(
    h2load_bin: str, target: str, body: Path, seconds: int, clients: int, pids: Sequence[int] = ()
) -> Throughput:
    """Drive `target` for `seconds` (after 2 s of warm-up) with `clients` connections of 8
    concurrent streams each, every call the same pre-serialised gRPC body."""
    started, cpu_before = time.monotonic(), cpu_seconds(pids)
    result = subprocess.run(
        [
            h2load_bin,
            *("-D", str(seconds), "--warm-up-time", "2"),
            *("-c", str(clients), "-m", "8", "-t", "1"),
            *("-H", "content-type: application/grpc", "-H", "te: trailers"),
            *("-d", str(body)),
            f"http://{target}{METHOD}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", result.stdout)
    counts = re.search(
        r"requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, "
        r"(\d+) failed, (\d+) errored, (\d+) timeout",
        result.stdout,
    )
    if not rate or not counts:
        raise RuntimeError("unexpected h2load output:\n" + result.stdout + result.stderr)
    failed = int(counts.group(2)) + int(counts.group(3)) + int(counts.group(4))
    cores = (cpu_seconds(pids) - cpu_before) / (time.monotonic() - started)
    return Throughput(float(rate.group(1)), int(counts.group(1)), failed, cores)


def grpc_frame(message: bytes) -> bytes:
    """A message as a gRPC length-prefixed frame (uncompressed): what h2load sends as the body."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def non_ok_calls(metrics_url: str) -> int:
    """CheckMedications calls the server answered with a status other than OK, so far."""
    import urllib.request

    with urllib.request.urlopen(metrics_url, timeout=10) as page:
        text = page.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("medsopt_grpc_server_handled_total{") and (
            'grpc_method="CheckMedications"' in line and 'grpc_code="OK"' not in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def serve_noop(port: int, answer: bytes) -> None:
    """The baseline: the method registered, every call answered with `answer`, nothing decoded."""
    options = [("grpc.so_reuseport", 1), *ConnectionSettings().options()]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    handler = grpc.unary_unary_rpc_method_handler(lambda _request, _context: answer)
    service, _, method = METHOD.lstrip("/").partition("/")
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"noop listening on 127.0.0.1:{bound}", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()
    server.stop(1).wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the no-op baseline server.")
    parser.add_argument("mode", choices=["noop"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("answer", type=Path, help="File holding the serialised answer.")
    args = parser.parse_args()
    serve_noop(args.port, args.answer.read_bytes())


if __name__ == "__main__":
    main()
