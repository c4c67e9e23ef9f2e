"""`medsopt check`: the same answer in-process or from a running server."""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medsopt.engine.request import CheckRequest, MedicationEntry, PatientContext, Sex
from medsopt.store.activate import Locations
from medsopt.v1 import medsopt_pb2 as pb

if TYPE_CHECKING:
    import grpc


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


@dataclass(frozen=True)
class Connection:
    """How `medsopt check --server` reaches a server: plaintext (loopback), or TLS trusting
    `ca` (presenting `cert`/`key` when the server asks for a client certificate), with the
    bearer token read from `token_file` when one is given."""

    target: str
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    token_file: Path | None = None

    def channel(self) -> grpc.Channel:
        """The channel; OSError or ValueError when a file cannot be read or is incomplete."""
        import grpc

        if self.ca is None:
            if self.cert or self.key:
                raise ValueError("--tls-cert and --tls-key need --tls-ca (the server's CA)")
            return grpc.insecure_channel(self.target)
        if (self.cert is None) != (self.key is None):
            raise ValueError("give both --tls-cert and --tls-key, or neither")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )
        return grpc.secure_channel(self.target, credentials)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call's metadata: the bearer token, when one is given."""
        if self.token_file is None:
            return ()
        token = self.token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise ValueError(f"{self.token_file} holds no token")
        return (("authorization", f"Bearer {token}"),)


def _remote(
    message: pb.CheckMedicationsRequest, connection: Connection
) -> pb.CheckMedicationsResponse | str:
    import grpc
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

    try:
        channel, metadata = connection.channel(), connection.metadata()
    except (OSError, ValueError) as error:
        return f"cannot connect: {error}"
    with channel:
        try:
            response: pb.CheckMedicationsResponse = pb_grpc.MedicinesOptimisationStub(
                channel
            ).CheckMedications(message, timeout=10, metadata=metadata)
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
    server: Connection | None,
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
    answer = _remote(message, server) if server is not None else _in_process(message, locations)
    if isinstance(answer, str):
        print(answer, file=sys.stderr)
        return 1
    print(render_response(answer))
    return 0 if answer.check_status == pb.CHECK_STATUS_COMPLETE else 3
