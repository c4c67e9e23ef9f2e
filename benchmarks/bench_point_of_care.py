"""Point-of-care latency: in-process evaluation of 20-medicine patients on the bundled rules.

Reports p50/p95 next to baselines measured in the same run on the same machine, because this
machine is slow and noisy: a no-op gRPC round trip (health Check) and a full CheckMedications
round trip through a real server on 127.0.0.1. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import request_to_proto
from medsopt.service.server import ServerConfig, build_server
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

CONDITIONS = ("84114007", "195967001", "13200003", "49436004", "52448006")


def patients(ruleset: RuleSet, count: int, size: int, seed: int) -> list[CheckRequest]:
    """Seeded patients whose medicines are drawn from the rule set's own groups (so rules fire)."""
    rng = random.Random(seed)
    pool = sorted(
        {c for g in ruleset.groups.values() if g.kind == "medicine" for c in g.codes}
        & {c.code for c in ruleset.dmd.concepts()}
    )
    return [
        CheckRequest(
            medications=tuple(
                MedicationEntry(f"m{i}", code) for i, code in enumerate(rng.sample(pool, size))
            ),
            patient=PatientContext(
                age_years=rng.randint(40, 95),
                egfr=rng.uniform(15, 110),
                condition_codes=tuple(rng.sample(CONDITIONS, rng.randint(0, 2))),
            ),
        )
        for _ in range(count)
    ]


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1e3)
    return samples


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--medicines", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()

    started = time.perf_counter()
    ruleset = build(Locations()).ruleset
    load_ms = (time.perf_counter() - started) * 1000
    cohort = patients(ruleset, args.patients, args.medicines, args.seed)
    findings = [len(check(p, ruleset).findings) for p in cohort]
    cycle = iter(cohort * (args.repeats // len(cohort) + 1))
    for p in cohort:  # warm caches
        check(p, ruleset)
    engine = timings(lambda: check(next(cycle), ruleset), args.repeats)

    server = build_server(ServerConfig(port=0))
    server.load()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        messages = [request_to_proto(p) for p in cohort]
        wire = iter(messages * (args.repeats // len(messages) + 1))
        for m in messages[:50]:
            stub.CheckMedications(m)
        noop = timings(lambda: health.Check(health_pb2.HealthCheckRequest()), args.repeats)
        rpc = timings(lambda: stub.CheckMedications(next(wire)), args.repeats)
    server.stop()

    engine_p50, engine_p95 = quantiles(engine)
    noop_p50, noop_p95 = quantiles(noop)
    rpc_p50, rpc_p95 = quantiles(rpc)
    print(
        f"rule set {ruleset.identity.version}: {len(ruleset.rules)} active rules, "
        f"{len(ruleset.groups)} groups, {len(ruleset.membership)} indexed codes; "
        f"build incl. committee tests {load_ms:.0f} ms"
    )
    print(
        f"{args.patients} seeded patients x {args.medicines} medicines, "
        f"mean findings {statistics.mean(findings):.1f}, {args.repeats} timed calls each"
    )
    print(f"{'measure':<42}{'p50 us':>10}{'p95 us':>10}{'p50 / no-op RPC':>18}")
    for name, p50, p95 in (
        ("in-process check(), 20 medicines", engine_p50, engine_p95),
        ("baseline: no-op gRPC round trip (health)", noop_p50, noop_p95),
        ("CheckMedications gRPC round trip", rpc_p50, rpc_p95),
    ):
        print(f"{name:<42}{p50:>10.1f}{p95:>10.1f}{p50 / noop_p50:>18.2f}")


if __name__ == "__main__":
    main()
