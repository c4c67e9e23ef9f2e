"""Point-of-care latency: in-process evaluation of 20-medicine patients on the bundled rules.

Reports p50/p95 next to baselines measured in the same run on the same machine, because this
machine is slow and noisy: a no-op gRPC round trip (health Check) and full CheckMedications
round trips (default CARD view, and FULL) through a real server on 127.0.0.1; then the answer's
bytes in each view. Run with `make bench` (`--rules DIR --formulary DIR` for other content).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.ruleset import RuleSet
from medsopt.service.answers import response_to_proto
from medsopt.service.converters import request_to_proto
from medsopt.service.server import ServerConfig, build_server
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2 as pb
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


def answer_bytes(ruleset: RuleSet, request: CheckRequest, view: pb.AnswerView) -> int:
    """Bytes on the wire of the answer to `request` in `view`."""
    full = view == pb.ANSWER_VIEW_FULL
    result = check(request, ruleset, explain=full)
    return len(response_to_proto(result, view).SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--medicines", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--rules", type=Path, help="rules directory (default: the bundled one)")
    parser.add_argument("--formulary", type=Path, help="formulary directory (default: bundled)")
    args = parser.parse_args()
    defaults = Locations()
    locations = Locations(
        args.rules or defaults.rules_dir, args.formulary or defaults.formulary_dir
    )

    started = time.perf_counter()
    ruleset = build(locations).ruleset
    load_ms = (time.perf_counter() - started) * 1000
    cohort = patients(ruleset, args.patients, args.medicines, args.seed)
    findings = [len(check(p, ruleset).findings) for p in cohort]
    cycle = itertools.cycle(cohort)
    for p in cohort:  # warm caches
        check(p, ruleset)
    engine = timings(lambda: check(next(cycle), ruleset), args.repeats)

    def answer(view: pb.AnswerView) -> Callable[[], object]:
        full = view == pb.ANSWER_VIEW_FULL

        def one() -> bytes:
            result = check(next(cycle), ruleset, explain=full)
            return response_to_proto(result, view).SerializeToString()

        return one

    card = timings(answer(pb.ANSWER_VIEW_CARD), args.repeats)
    full = timings(answer(pb.ANSWER_VIEW_FULL), args.repeats)

    server = build_server(ServerConfig(port=0, locations=locations))
    server.load()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        messages = [request_to_proto(p) for p in cohort]
        wire = itertools.cycle(messages)
        full_messages = [pb.CheckMedicationsRequest(view=pb.ANSWER_VIEW_FULL) for _ in messages]
        for plain, with_view in zip(messages, full_messages, strict=True):
            with_view.MergeFrom(plain)
        full_wire = itertools.cycle(full_messages)
        for m in messages[:50]:
            stub.CheckMedications(m)
        noop = timings(lambda: health.Check(health_pb2.HealthCheckRequest()), args.repeats)
        rpc = timings(lambda: stub.CheckMedications(next(wire)), args.repeats)
        rpc_full = timings(lambda: stub.CheckMedications(next(full_wire)), args.repeats)
    server.stop()

    # The answer-size request: the first seeded list at age 78 with eGFR 40 (issue 14).
    older = dataclasses.replace(cohort[0], patient=PatientContext(age_years=78, egfr=40.0))
    noop_p50, _ = quantiles(noop)
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
    for name, samples in (
        ("in-process check(), 20 medicines", engine),
        ("in-process CARD answer (check+proto+bytes)", card),
        ("in-process FULL answer (check+proto+bytes)", full),
        ("baseline: no-op gRPC round trip (health)", noop),
        ("CheckMedications gRPC round trip", rpc),
        ("CheckMedications round trip, FULL view", rpc_full),
    ):
        p50, p95 = quantiles(samples)
        print(f"{name:<42}{p50:>10.1f}{p95:>10.1f}{p50 / noop_p50:>18.2f}")
    sizes = {
        view: [answer_bytes(ruleset, p, view) for p in cohort]
        for view in (pb.ANSWER_VIEW_CARD, pb.ANSWER_VIEW_FULL)
    }
    print(f"{'answer bytes':<42}{'CARD':>10}{'FULL':>10}")
    print(
        f"{'20 medicines, age 78, eGFR 40':<42}"
        f"{answer_bytes(ruleset, older, pb.ANSWER_VIEW_CARD):>10}"
        f"{answer_bytes(ruleset, older, pb.ANSWER_VIEW_FULL):>10}"
    )
    for name, pick in (("median of the seeded patients", statistics.median), ("largest", max)):
        print(
            f"{name:<42}{pick(sizes[pb.ANSWER_VIEW_CARD]):>10.0f}"
            f"{pick(sizes[pb.ANSWER_VIEW_FULL]):>10.0f}"
        )


if __name__ == "__main__":
    main()
