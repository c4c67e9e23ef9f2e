"""A real gRPC server on 127.0.0.1:0 serving a rule set, with its records database and a clock
the test moves."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from medsopt.audit.records import DecisionRecords
from medsopt.rules.holder import RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service.server import add_patient_service
from medsopt.service.servicer import MedicinesOptimisationServicer
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

START = datetime.datetime(2026, 12, 6, 9, 30, tzinfo=datetime.UTC)
OVERRIDE_SYSTEM = "https://example.org/fhir/CodeSystem/cds-override-reason"


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime.datetime:
        return self.now


@dataclass
class Served:
    stub: pb_grpc.MedicinesOptimisationStub
    records: DecisionRecords
    clock: Clock

    def check(
        self, request: pb.CheckMedicationsRequest, request_id: str | None = None
    ) -> tuple[pb.CheckMedicationsResponse, str]:
        """The answer and the x-request-id it came back with."""
        metadata = (("x-request-id", request_id),) if request_id else ()
        response, call = self.stub.CheckMedications.with_call(
            request, metadata=metadata, timeout=10
        )
        trailing = dict(call.trailing_metadata())
        return response, trailing["x-request-id"]


@contextmanager
def serving(ruleset: RuleSet, database: str, expiry_days: int = 365) -> Iterator[Served]:
    """Serve `ruleset` with feedback and audit kept in `database`."""
    holder = RuleSetHolder()
    holder.activate(ruleset, 0.0)
    clock = Clock()
    records = DecisionRecords.open(database, datetime.timedelta(days=expiry_days), clock)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add_patient_service(MedicinesOptimisationServicer(holder, records), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Served(pb_grpc.MedicinesOptimisationStub(channel), records, clock)
    finally:
        server.stop(1).wait()
        records.close()


def warfarin_naproxen(patient_ref: str | None = "patient-17") -> pb.CheckMedicationsRequest:
    """Warfarin 1mg + naproxen 250mg for a 78-year-old: PINCER-D fires."""
    request = pb.CheckMedicationsRequest(
        request_id="r-1",
        patient=pb.PatientContext(age_years=78),
        medications=[
            pb.Medication(ref="a", code="319733000"),
            pb.Medication(ref="b", code="329806007", status=pb.MEDICATION_STATUS_PROPOSED),
        ],
        as_of_date="2026-12-06",
    )
    if patient_ref is not None:
        request.patient_ref = patient_ref
    return request


def decline(finding_id: str, code: str = "patient-aware") -> pb.FindingFeedback:
    return pb.FindingFeedback(
        finding_id=finding_id,
        outcome=pb.FEEDBACK_OUTCOME_OVERRIDDEN,
        override_reason=pb.OverrideReason(
            reason=pb.Coding(code=code, system=OVERRIDE_SYSTEM, display="Patient aware"),
            user_comment="discussed; benefit outweighs",
        ),
        outcome_timestamp="2026-12-06T09:31:00Z",
    )


def accept(finding_id: str) -> pb.FindingFeedback:
    return pb.FindingFeedback(
        finding_id=finding_id,
        outcome=pb.FEEDBACK_OUTCOME_ACCEPTED,
        outcome_timestamp="2026-12-06T09:31:00Z",
    )
