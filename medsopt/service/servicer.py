"""Thin gRPC servicer: convert, validate, call the engine, convert back."""

from __future__ import annotations

import datetime
import logging
import time
import uuid

import grpc

from medsopt.engine.point_of_care import check
from medsopt.engine.validation import validate_request
from medsopt.rules.holder import RuleSetHolder
from medsopt.service import converters, errors
from medsopt.store.reload import Reloader
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


class Undecodable:
    """What a request deserializer yields for bytes that are not the method's message."""


UNDECODABLE = Undecodable()


def deadline_passed(context: grpc.ServicerContext) -> bool:
    """True once the caller's deadline has passed: no one will read an answer, so stop."""
    remaining = context.time_remaining()  # None (aio) or infinite without a deadline
    return remaining is not None and remaining <= 0


class MedicinesOptimisationServicer(pb_grpc.MedicinesOptimisationServicer):
    """medsopt.v1.MedicinesOptimisation over the holder's active rule set."""

    def __init__(self, holder: RuleSetHolder) -> None:
        self._holder = holder

    def CheckMedications(  # noqa: N802 - gRPC method name
        self, request: pb.CheckMedicationsRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.CheckMedicationsResponse:
        started = time.perf_counter()
        errors.echo_request_id(context)
        if isinstance(request, Undecodable):  # the bytes did not decode (server.lenient)
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        domain = converters.request_from_proto(request, today=datetime.date.today())
        violations = [*converters.enum_violations(request), *validate_request(domain)]
        if violations:
            log.info("CheckMedications rejected: %d field violation(s)", len(violations))
            errors.abort_invalid(context, violations)
        activation = self._holder.active  # one snapshot: a request never mixes versions
        if activation is None:
            errors.abort_unavailable(context)
            raise AssertionError("unreachable")  # abort raises; keeps type checkers honest
        if deadline_passed(context):  # e.g. it expired while the call waited for a thread
            errors.abort_deadline_exceeded(context, "before evaluation")
        try:
            result = check(domain, activation.ruleset)
            # Building the answer costs as much as evaluating: skip it if no one will read it.
            response = None if deadline_passed(context) else converters.response_to_proto(result)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            # Log the incident and traceback but not the request: it holds patient data.
            log.exception("CheckMedications failed, incident %s", incident)
            errors.abort_internal(context, incident)
            raise
        if response is None:
            errors.abort_deadline_exceeded(context, "after evaluation")
            raise AssertionError("unreachable")
        # Counts and timings only: no codes, refs or patient facts in logs.
        log.info(
            "CheckMedications medications=%d findings=%d unresolved=%d status=%s ruleset=%s %.2fms",
            len(domain.medications),
            len(result.findings),
            len(result.unresolved),
            "COMPLETE" if result.complete else "INCOMPLETE",
            result.identity.version,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def GetRuleSetInfo(  # noqa: N802 - gRPC method name
        self, request: pb.GetRuleSetInfoRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RuleSetInfo:
        errors.echo_request_id(context)
        if isinstance(request, Undecodable):
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        activation = self._holder.active
        if activation is None:
            errors.abort_unavailable(context)
            raise AssertionError("unreachable")
        return converters.ruleset_info_to_proto(activation)


class RuleSetAdminServicer(pb_grpc.RuleSetAdminServicer):
    """medsopt.v1.RuleSetAdmin: status of the holder and explicit reloads."""

    def __init__(self, holder: RuleSetHolder, reloader: Reloader) -> None:
        self._holder = holder
        self._reloader = reloader

    def GetRuleSetStatus(  # noqa: N802 - gRPC method name
        self, request: pb.GetRuleSetStatusRequest, context: grpc.ServicerContext
    ) -> pb.RuleSetStatus:
        return converters.status_to_proto(self._holder)

    def ReloadRuleSet(  # noqa: N802 - gRPC method name
        self, request: pb.ReloadRuleSetRequest, context: grpc.ServicerContext
    ) -> pb.RuleSetStatus:
        log.info("explicit reload requested")
        self._reloader.reload_now()
        return converters.status_to_proto(self._holder)
