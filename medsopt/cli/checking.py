"""`medsopt check`: the same answer in-process or from a running server."""

from __future__ import annotations

import datetime
import sys

from medsopt.engine.request import CheckRequest, MedicationEntry, PatientContext, Sex
from medsopt.store.activate import Locations
from medsopt.v1 import medsopt_pb2 as pb


def _request(
    codes: list[str], age: int | None, sex: str | None, egfr: float | None, conditions: list[str]
) -> CheckRequest:
    return CheckRequest(
        request_id="cli",
        patient=PatientContext(
            age_years=age,
            sex=Sex(sex) if sex else Sex.UNKNOWN,
            egfr=egfr,
            condition_codes=tuple(conditions),
        ),
        medications=tuple(
            MedicationEntry(ref=f"m{i}", code=code) for i, code in enumerate(codes, start=1)
        ),
    )


def _in_process(
    message: pb.CheckMedicationsRequest, locations: Locations
) -> pb.CheckMedicationsResponse | str:
    from medsopt.authoring.diagnostics import RuleSetError
    from medsopt.dmd.release.files import DmdExtractError
    from medsopt.engine.point_of_care import check
    from medsopt.engine.validation import validate_request
    from medsopt.service.answers import explains, response_to_proto
    from medsopt.service.converters import request_from_proto
    from medsopt.store.activate import CommitteeTestsFailedError, build

    domain = request_from_proto(message, today=datetime.date.today())
    violations = validate_request(domain)
    if violations:
        return "\n".join(f"invalid {v.field}: {v.description}" for v in violations)
    try:
        ruleset = build(locations).ruleset
    except (RuleSetError, CommitteeTestsFailedError, DmdExtractError) as error:
        return f"no valid rule set, nothing checked:\n{error}"
    return response_to_proto(check(domain, ruleset, explain=explains(message.view)), message.view)


def _remote(message: pb.CheckMedicationsRequest, target: str) -> pb.CheckMedicationsResponse | str:
    import grpc
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

    with grpc.insecure_channel(target) as channel:
        try:
            response: pb.CheckMedicationsResponse = pb_grpc.MedicinesOptimisationStub(
                channel
            ).CheckMedications(message, timeout=10)
        except grpc.RpcError as error:
            lines = [f"{error.code().name}: {error.details()}"]
            status = rpc_status.from_call(error)
            for detail in status.details if status else []:
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad):
                    lines += [f"invalid {v.field}: {v.description}" for v in bad.field_violations]
            return "\n".join(lines)
    return response


def run_check(
    codes: list[str],
    age: int | None,
    sex: str | None,
    egfr: float | None,
    conditions: list[str],
    server: str | None,
    locations: Locations,
) -> int:
    """Print the answer; exit 0 COMPLETE, 3 INCOMPLETE, 1 invalid or failed."""
    from medsopt.cli.render import render_response
    from medsopt.service.converters import request_to_proto

    if sex not in (None, "female", "male", "other"):
        print(f"invalid --sex {sex!r}: use female, male or other", file=sys.stderr)
        return 1
    message = request_to_proto(_request(codes, age, sex, egfr, conditions))
    message.view = pb.ANSWER_VIEW_FULL  # the terminal shows how each medicine matched
    answer = _remote(message, server) if server else _in_process(message, locations)
    if isinstance(answer, str):
        print(answer, file=sys.stderr)
        return 1
    print(render_response(answer))
    return 0 if answer.check_status == pb.CHECK_STATUS_COMPLETE else 3
