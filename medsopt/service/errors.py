"""The one place where domain outcomes become gRPC status codes."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from medsopt.engine.validation import FieldViolation

# A default client reads at most 8 KiB of trailing metadata: details are capped well below.
MAX_VIOLATIONS = 20
MAX_DESCRIPTION = 160


def abort_invalid(context: grpc.ServicerContext, violations: Iterable[FieldViolation]) -> None:
    """INVALID_ARGUMENT with a google.rpc.BadRequest of the field violations (the first
    MAX_VIOLATIONS, then one saying how many more), so every client can read it."""
    every = tuple(violations)
    violations = tuple(
        FieldViolation(v.field[:MAX_DESCRIPTION], v.description[:MAX_DESCRIPTION])
        for v in every[:MAX_VIOLATIONS]
    )
    if len(every) > MAX_VIOLATIONS:
        violations += (
            FieldViolation("", f"and {len(every) - MAX_VIOLATIONS} more violations not listed"),
        )
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in violations
            ]
        )
    )
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations[:3])
    if len(every) > 3:
        summary += f"; and {len(every) - 3} more"
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=f"invalid request: {summary}", details=[detail]
    )
    context.abort_with_status(rpc_status.to_status(status))


def abort_undecodable(context: grpc.ServicerContext) -> None:
    """The request bytes are not the method's message: the client's fault, not ours."""
    context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        "request bytes are not a medsopt.v1 message of this method's type",
    )


def abort_unavailable(context: grpc.ServicerContext) -> None:
    """No valid rule set is loaded: never answer OK with no findings."""
    context.abort(grpc.StatusCode.UNAVAILABLE, "no valid rule set is loaded; see server log")


def abort_not_found(context: grpc.ServicerContext, message: str) -> None:
    """What the request names (e.g. a rule set's content hash) is not here."""
    context.abort(grpc.StatusCode.NOT_FOUND, message)


def abort_internal(context: grpc.ServicerContext, incident: str) -> None:
    """An unexpected failure; the message names an incident id, never patient data."""
    context.abort(grpc.StatusCode.INTERNAL, f"internal error (incident {incident}); no result")
