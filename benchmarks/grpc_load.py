"""Point of care over the wire: medsopt against a no-op server on the same method, same bytes.

Starts `medsopt serve` (1 and 2 workers) and the no-op baseline (1 and 2 processes) itself on
127.0.0.1, then measures
- latency at one request in flight, over seeded realistic patients (5-25 real dm+d codes drawn
  from the rule set's own groups, age 40-95, eGFR 15-110), calls alternating between medsopt and
  the no-op so noise on this shared machine falls on both;
- throughput under h2load (installed with apt as nghttp2-client when missing), every call the
  same pre-serialised 20-medicine request (age 78, eGFR 40);
every request naming the rule content the client keeps (rule_content_hash), as medsopt.client
does after its first answer; and prints one table of ratios to the no-op, with every non-OK
status counted (the client's for one in flight; the server's metrics for h2load, whose HTTP 200
hides the gRPC status).

    .venv/bin/python -m benchmarks.grpc_load          # or: make bench-grpc
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import platform
import random
import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks.bench_point_of_care import patients
from benchmarks.grpc_harness import (
    Latencies,
    Launched,
    Throughput,
    grpc_frame,
    h2load,
    h2load_path,
    non_ok_calls,
    one_in_flight,
    start_medsopt,
    start_noop,
)
from medsopt.engine import CheckRequest
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import request_to_proto
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2 as pb


def realistic(ruleset: RuleSet, count: int, seed: int) -> list[CheckRequest]:
    """`count` seeded patients on 5 to 25 medicines each."""
    rng = random.Random(seed)
    return [patients(ruleset, 1, rng.randint(5, 25), seed + i)[0] for i in range(count)]


def wire(request: CheckRequest, rule_content_hash: str) -> bytes:
    """The request's bytes, naming the rule content the client keeps ("" none)."""
    message = request_to_proto(request)
    message.rule_content_hash = rule_content_hash
    return message.SerializeToString()


def card_patient(ruleset: RuleSet, seed: int) -> CheckRequest:
    """The issue's 20-medicine request: age 78, eGFR 40."""
    request = patients(ruleset, 1, 20, seed)[0]
    return dataclasses.replace(
        request, patient=dataclasses.replace(request.patient, age_years=78, egfr=40.0)
    )


def answer_bytes(target: str, body: bytes) -> bytes:
    import grpc

    from benchmarks.grpc_harness import METHOD

    with grpc.insecure_channel(target) as channel:
        answer: bytes = channel.unary_unary(METHOD)(body, timeout=30)
    return answer


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = len(os.sched_getaffinity(0))
    python = platform.python_version()
    return f"{cpu}, {cores} cores usable, Linux {platform.release()}, Python {python}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--calls", type=int, default=3000, help="Calls at one in flight, each.")
    parser.add_argument("--seconds", type=int, default=10, help="h2load duration per run.")
    parser.add_argument("--clients", type=int, default=16, help="h2load connections.")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()

    ruleset = build(Locations()).ruleset
    kept = ruleset.identity.content_hash  # as medsopt.client sends after its first answer
    cohort = [wire(p, kept) for p in realistic(ruleset, args.patients, args.seed)]
    card = wire(card_patient(ruleset, args.seed), kept)
    card_sending_all = wire(card_patient(ruleset, args.seed), "")
    h2load_bin = h2load_path()
    work = Path(tempfile.mkdtemp(prefix="medsopt-grpc-load-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    body = work / "request.grpc"
    body.write_bytes(grpc_frame(card))

    def drive(servers: list[Launched]) -> Throughput:
        assert h2load_bin is not None
        pids = [pid for server in servers for pid in server.pids()]
        target = servers[0].found["target"]
        return h2load(h2load_bin, target, body, args.seconds, args.clients, pids)

    rates: dict[str, Throughput] = {}
    h2load_non_ok = 0
    medsopt = start_medsopt(1)
    try:
        target = medsopt.found["target"]
        answer = answer_bytes(target, card)
        if not pb.CheckMedicationsResponse.FromString(answer).static_text_omitted:
            raise SystemExit("the server does not have the rule content this benchmark built")
        all_text = len(answer_bytes(target, card_sending_all))
        sizes = [len(answer_bytes(target, b)) for b in cohort[:50]]
        (work / "answer.bin").write_bytes(answer)
        noop = start_noop(1, work / "answer.bin")
        try:
            one_in_flight([target, noop[0].found["target"]], cohort, 200)  # warm up
            served, floor = one_in_flight([target, noop[0].found["target"]], cohort, args.calls)
            if h2load_bin:
                rates["noop1"] = drive(noop)
        finally:
            for server in noop:
                server.stop()
        if h2load_bin:
            before = non_ok_calls(medsopt.found["metrics"])
            rates["medsopt1"] = drive([medsopt])
            h2load_non_ok += non_ok_calls(medsopt.found["metrics"]) - before
    finally:
        medsopt.stop()
    if h2load_bin:
        noop = start_noop(2, work / "answer.bin")
        try:
            rates["noop2"] = drive(noop)
        finally:
            for server in noop:
                server.stop()
        medsopt = start_medsopt(2)
        try:
            before = non_ok_calls(medsopt.found["metrics"])
            rates["medsopt2"] = drive([medsopt])
            h2load_non_ok += non_ok_calls(medsopt.found["metrics"]) - before
        finally:
            medsopt.stop()
    report(
        args,
        served,
        floor,
        rates,
        h2load_non_ok,
        (len(answer), all_text),
        sizes,
        pb.CheckMedicationsResponse.FromString(answer),
    )


def report(
    args: argparse.Namespace,
    served: Latencies,
    floor: Latencies,
    rates: dict[str, Throughput],
    h2load_non_ok: int,
    card_bytes: tuple[int, int],
    sizes: list[int],
    card_answer: pb.CheckMedicationsResponse,
) -> None:
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f} (other sessions)")
    print(
        f"one in flight: {args.calls} calls each over {args.patients} seeded patients (5-25 "
        f"medicines); h2load: {args.seconds} s, {args.clients} connections x 8 streams, the "
        f"20-medicine request ({len(card_answer.findings)} findings)"
    )
    rows: list[tuple[str, str, str, str, str]] = [
        ("measure", "medsopt", "no-op", "ratio", "goal"),
        (
            "p50 µs, one in flight",
            f"{served.quantile(0.5):.0f}",
            f"{floor.quantile(0.5):.0f}",
            f"{served.quantile(0.5) / floor.quantile(0.5):.2f}",
            "<= 1.3",
        ),
        (
            "p99 µs, one in flight",
            f"{served.quantile(0.99):.0f}",
            f"{floor.quantile(0.99):.0f}",
            f"{served.quantile(0.99) / floor.quantile(0.99):.2f}",
            "<= 2",
        ),
    ]
    if rates:
        m1, m2, n1, n2 = (rates[k] for k in ("medsopt1", "medsopt2", "noop1", "noop2"))
        rows += [
            (
                "req/s, 1 worker vs 1 no-op process",
                f"{m1.per_second:.0f}",
                f"{n1.per_second:.0f}",
                f"{m1.per_second / n1.per_second:.2f}",
                "",
            ),
            (
                "req/s, 2 workers vs 2 no-op processes",
                f"{m2.per_second:.0f}",
                f"{n2.per_second:.0f}",
                f"{m2.per_second / n2.per_second:.2f}",
                ">= 0.5",
            ),
            (
                "CPU cores the servers got, 1 / 2 processes",
                f"{m1.cores:.2f} / {m2.cores:.2f}",
                f"{n1.cores:.2f} / {n2.cores:.2f}",
                "",
                "",
            ),
            (
                "req/s, 2 workers / 1 worker",
                f"{m2.per_second / m1.per_second:.2f}",
                f"{n2.per_second / n1.per_second:.2f}",
                "",
                ">= 1.8",
            ),
        ]
    rows += [
        ("answer bytes, 20-medicine request", str(card_bytes[0]), "", "", "<= 8000"),
        ("  the same, client keeping no rule content", str(card_bytes[1]), "", "", ""),
        (
            f"answer bytes, mean of {len(sizes)} patients",
            f"{statistics.mean(sizes):.0f}",
            "",
            "",
            "",
        ),
        (
            "non-OK, one in flight",
            str(sum(v for k, v in served.statuses.items() if k != "OK")),
            str(sum(v for k, v in floor.statuses.items() if k != "OK")),
            "",
            "0",
        ),
    ]
    if rates:
        failed = sum(r.failed for k, r in rates.items() if k.startswith("medsopt"))
        noop_failed = sum(r.failed for k, r in rates.items() if k.startswith("noop"))
        rows.append(
            (
                "non-OK under h2load (gRPC + HTTP)",
                str(h2load_non_ok + failed),
                str(noop_failed),
                "",
                "0",
            )
        )
    else:
        rows.append(
            ("throughput", "h2load unavailable (apt-get install nghttp2-client)", "", "", "")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )


if __name__ == "__main__":
    main()
