"""The one place where domain outcomes become gRPC status codes.

Every error carries a `google.rpc.ErrorInfo` (domain `medsopt.v1`, a stable UPPER_SNAKE reason)
so a client can branch without parsing messages; INVALID_ARGUMENT adds `google.rpc.BadRequest`,
UNAVAILABLE adds `google.rpc.RetryInfo` and gRPC's own retry pushback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from medsopt.engine.validation import FieldViolation

# A default client reads at most 8 KiB of trailing metadata: details are capped well below.
MAX_VIOLATIONS = 20
MAX_DESCRIPTION = 160
DOMAIN = "medsopt.v1"
# How long a client should wait before retrying while no rule set is loaded (a build takes
# seconds); sent as RetryInfo and as gRPC core's own pushback, which its retry policy obeys.
RETRY_AFTER_MILLIS = 1000
REQUEST_ID_KEY = "x-request-id"

# ErrorInfo reasons: a public contract, like the proto's names.
INVALID_REQUEST = "INVALID_REQUEST"
UNDECODABLE_REQUEST = "UNDECODABLE_REQUEST"
NO_RULE_SET_LOADED = "NO_RULE_SET_LOADED"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
INTERNAL_ERROR = "INTERNAL_ERROR"


def echo_request_id(context: grpc.ServicerContext) -> None:
    """Send the caller's `x-request-id` back in the trailers (OK or not), so a client can tell
    the answer belongs to its request; `abort` below keeps it."""
    for key, value in context.invocation_metadata():
        if key == REQUEST_ID_KEY:
            context.set_trailing_metadata(((REQUEST_ID_KEY, value),))
            return


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)


def abort(
    context: grpc.ServicerContext,
    code: int,
    message: str,
    details: Sequence[Message],
    extra_trailers: tuple[tuple[str, str], ...] = (),
) -> None:
    """Abort with a google.rpc.Status of `details`, keeping trailers already set (request id)."""
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    status = rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))
    kept = tuple(context.trailing_metadata() or ())
    # grpc_status gives a namedtuple: add the kept and extra trailers to its own.
    trailers = (*kept, *extra_trailers, *status.trailing_metadata)
    context.abort_with_status(status._replace(trailing_metadata=trailers))


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
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in violations
        ]
    )
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations[:3])
    if len(every) > 3:
        summary += f"; and {len(every) - 3} more"
    info = error_info(INVALID_REQUEST, violations=str(len(every)))
    abort(context, code_pb2.INVALID_ARGUMENT, f"invalid request: {summary}", (info, bad_request))


def abort_undecodable(context: grpc.ServicerContext) -> None:
    """The request bytes are not the method's message: the client's fault, not ours."""
    abort(
        context,
        code_pb2.INVALID_ARGUMENT,
        "request bytes are not a medsopt.v1 message of this method's type",
        (error_info(UNDECODABLE_REQUEST),),
    )


def abort_unavailable(context: grpc.ServicerContext) -> None:
    """No valid rule set is loaded: never answer OK with no findings; ask to retry later."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(RETRY_AFTER_MILLIS)
    abort(
        context,
        code_pb2.UNAVAILABLE,
        "no valid rule set is loaded; see server log",
        (error_info(NO_RULE_SET_LOADED), error_details_pb2.RetryInfo(retry_delay=delay)),
        (("grpc-retry-pushback-ms", str(RETRY_AFTER_MILLIS)),),
    )


def abort_deadline_exceeded(context: grpc.ServicerContext, stage: str) -> None:
    """The caller's deadline passed: stop working, say so (the caller may never read it)."""
    abort(
        context,
        code_pb2.DEADLINE_EXCEEDED,
        f"deadline exceeded {stage}; no result",
        (error_info(DEADLINE_EXCEEDED, stage=stage),),
    )


def abort_not_found(context: grpc.ServicerContext, message: str) -> None:
    """What the request names (e.g. a rule set's content hash) is not here."""
    context.abort(grpc.StatusCode.NOT_FOUND, message)


def abort_internal(context: grpc.ServicerContext, incident: str) -> None:
    """An unexpected failure; the message names an incident id, never patient data."""
    abort(
        context,
        code_pb2.INTERNAL,
        f"internal error (incident {incident}); no result",
        (error_info(INTERNAL_ERROR, incident=incident),),
    )
