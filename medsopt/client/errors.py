"""Typed errors: what went wrong, read from the gRPC status and its google.rpc details."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field, named as in the API (`medications[2].code`)."""

    field: str
    description: str


class MedsoptError(Exception):
    """A call that gave no answer. `reason` is the server's google.rpc.ErrorInfo reason
    (e.g. NO_RULE_SET_LOADED), empty when the error did not come from a medsopt server."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "", request_id: str = ""):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.request_id = request_id


class InvalidRequestError(MedsoptError):
    """The request was malformed; `violations` say which fields and why (fix and resend)."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        request_id: str = "",
        violations: tuple[FieldViolation, ...] = (),
    ):
        super().__init__(code, message, reason, request_id)
        self.violations = violations


class UnavailableError(MedsoptError):
    """No server answered, or none had a rule set loaded, within the retries allowed."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        request_id: str = "",
        retry_after_seconds: float | None = None,
    ):
        super().__init__(code, message, reason, request_id)
        self.retry_after_seconds = retry_after_seconds


class DeadlineExceededError(MedsoptError):
    """No answer within the deadline: screen by other means, never read it as 'no problem'."""


class ServerError(MedsoptError):
    """Any other failure (INTERNAL names an incident id the operators can look up)."""


class RequestIdMismatchError(MedsoptError):
    """The answer does not carry the request id that was sent: it may not be this patient's."""

    def __init__(self, sent: str, received: str | None):
        super().__init__(
            grpc.StatusCode.OK,
            f"sent x-request-id {sent!r}, answer carries {received!r}",
            request_id=sent,
        )
        self.sent = sent
        self.received = received


_KINDS: dict[grpc.StatusCode, type[MedsoptError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def from_rpc_error(error: grpc.RpcError, request_id: str) -> MedsoptError:
    """The typed error for a failed call, with what its status details say."""
    code: grpc.StatusCode = error.code()
    message: str = error.details() or ""
    reason = ""
    violations: list[FieldViolation] = []
    retry_after: float | None = None
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
        elif detail.Unpack(retry):
            retry_after = retry.retry_delay.ToMilliseconds() / 1000
    kind = _KINDS.get(code, ServerError)
    if kind is InvalidRequestError:
        return InvalidRequestError(
            code, message, reason=reason, request_id=request_id, violations=tuple(violations)
        )
    if kind is UnavailableError:
        return UnavailableError(
            code, message, reason=reason, request_id=request_id, retry_after_seconds=retry_after
        )
    return kind(code, message, reason, request_id)
