"""What the decision audit and feedback suppression cost a CheckMedications round trip.

Two real servers on 127.0.0.1 serve the same rule set: one without records (the baseline), one
writing the audit to a records database (a SQLite file, or PostgreSQL with --postgres DSN)
holding 10,000 earlier declines, with every request naming a patient (so each answer also
looks up that patient's declines). Calls alternate between the two; p50/p95 are reported as
ratios to the baseline measured in the same run. Run with
`.venv/bin/python benchmarks/bench_audit_overhead.py`.
"""

from __future__ import annotations

import argparse
import datetime
import random
import tempfile
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc

from benchmarks.bench_point_of_care import patients, quantiles
from medsopt.audit.records import DecisionRecords
from medsopt.feedback.desk import FindingResponse
from medsopt.feedback.models import Coding, Outcome
from medsopt.rules.holder import RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import request_to_proto
from medsopt.service.server import add_patient_service
from medsopt.service.servicer import MedicinesOptimisationServicer
from medsopt.store.activate import Locations, build
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

REASON = Coding("patient-aware", "https://example.org/override", "Patient aware")


@contextmanager
def served(ruleset: RuleSet, records: DecisionRecords | None) -> Iterator[str]:
    holder = RuleSetHolder()
    holder.activate(ruleset, 0.0)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add_patient_service(MedicinesOptimisationServicer(holder, records), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(1).wait()


def seed_declines(records: DecisionRecords, count: int, rng: random.Random) -> None:
    for start in range(0, count, 500):
        for n in range(start, min(start + 500, count)):
            records.feedback.record(
                f"seed-{n}",
                "bench",
                f"patient-{rng.randrange(5000)}",
                [
                    FindingResponse(
                        f"PINCER-D:{rng.getrandbits(64):016x}",
                        Outcome.OVERRIDDEN,
                        REASON,
                        "",
                        "2026-12-06T09:00:00Z",
                    )
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--medicines", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--declines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--postgres", help="a postgresql:// DSN instead of a SQLite file")
    parser.add_argument(
        "--no-patient-ref", action="store_true", help="requests name no patient: the audit only"
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    ruleset = build(Locations()).ruleset
    messages = [request_to_proto(p) for p in patients(ruleset, args.patients, args.medicines, 1)]
    for n, message in enumerate(messages):
        if not args.no_patient_ref:
            message.patient_ref = f"patient-{n}"
        message.as_of_date = datetime.date(2026, 12, 6).isoformat()
    with tempfile.TemporaryDirectory() as scratch:
        target = args.postgres or str(Path(scratch) / "records.sqlite3")
        records = DecisionRecords.open(target)
        seed_declines(records, args.declines, rng)
        with (
            served(ruleset, None) as plain,
            served(ruleset, records) as audited,
            grpc.insecure_channel(plain) as plain_channel,
            grpc.insecure_channel(audited) as audited_channel,
        ):
            stubs = [
                pb_grpc.MedicinesOptimisationStub(plain_channel),
                pb_grpc.MedicinesOptimisationStub(audited_channel),
            ]
            for message in messages[:50]:
                for stub in stubs:
                    stub.CheckMedications(message)
            samples: list[list[float]] = [[], []]
            for repeat in range(args.repeats):
                message = messages[repeat % len(messages)]
                order = (0, 1) if repeat % 2 else (1, 0)  # neither always goes first
                for which in order:
                    started = time.perf_counter_ns()
                    stubs[which].CheckMedications(message)
                    samples[which].append((time.perf_counter_ns() - started) / 1e3)
            records.audit.flush()
            written = records.audit_log.count()
        records.close()

    base_p50, base_p95 = quantiles(samples[0])
    p50, p95 = quantiles(samples[1])
    store = "PostgreSQL" if args.postgres else "SQLite file (WAL)"
    print(f"{args.repeats} alternating calls each; {args.patients} patients x {args.medicines}")
    looked_up = "no patient_ref (audit only)" if args.no_patient_ref else "patient_ref sent"
    print(f"records: {store}, {args.declines} earlier declines, {looked_up}")
    print(f"{written} audit records written")
    print(f"{'measure':<44}{'p50 us':>10}{'p95 us':>10}{'p50 ratio':>11}{'p95 ratio':>11}")
    print(f"{'baseline: CheckMedications, no records':<44}{base_p50:>10.1f}{base_p95:>10.1f}")
    print(
        f"{'with audit' + ('' if args.no_patient_ref else ' + suppression look-up'):<44}"
        f"{p50:>10.1f}{p95:>10.1f}"
        f"{p50 / base_p50:>11.2f}{p95 / base_p95:>11.2f}"
    )


if __name__ == "__main__":
    main()
