"""The one place where domain outcomes become gRPC status codes."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from medsopt.engine.validation import FieldViolation


def abort_invalid(context: grpc.ServicerContext, violations: Iterable[FieldViolation]) -> None:
    """INVALID_ARGUMENT with a google.rpc.BadRequest listing every field violation."""
    violations = tuple(violations)
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
    if len(violations) > 3:
        summary += f"; and {len(violations) - 3} more"
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=f"invalid request: {summary}", details=[detail]
    )
    context.abort_with_status(rpc_status.to_status(status))


def abort_unavailable(context: grpc.ServicerContext) -> None:
    """No valid rule set is loaded: never answer OK with no findings."""
    context.abort(grpc.StatusCode.UNAVAILABLE, "no valid rule set is loaded; see server log")


def abort_internal(context: grpc.ServicerContext, incident: str) -> None:
    """An unexpected failure; the message names an incident id, never patient data."""
    context.abort(grpc.StatusCode.INTERNAL, f"internal error (incident {incident}); no result")
