"""Thin gRPC servicers: convert, validate, call the engine, convert back."""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Mapping
from typing import TypeVar

import grpc

from medsopt.audit.records import DecisionRecords
from medsopt.engine.point_of_care import check
from medsopt.engine.validation import validate_request
from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service import answers, converters, errors
from medsopt.service.access_log import AccessLog
from medsopt.service.decisions import Decisions, request_id_of
from medsopt.service.feedback import patient_ref_violations
from medsopt.store.reload import Reloader
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


class Undecodable:
    """What a request deserializer yields for bytes that are not the method's message."""


UNDECODABLE = Undecodable()
Request = TypeVar("Request", pb.GetRuleSetInfoRequest, pb.GetRuleContentRequest)


def deadline_passed(context: grpc.ServicerContext) -> bool:
    """True once the caller's deadline has passed: no one will read an answer, so stop."""
    remaining = context.time_remaining()  # None (aio) or infinite without a deadline
    return remaining is not None and remaining <= 0


class MedicinesOptimisationServicer(pb_grpc.MedicinesOptimisationServicer):
    """medsopt.v1.MedicinesOptimisation over the holder's active rule set."""

    def __init__(
        self,
        holder: RuleSetHolder,
        records: DecisionRecords | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self._holder = holder
        self._decisions = Decisions(records)  # feedback and audit; None: neither (in-process)
        # Off unless MEDSOPT_ACCESS_LOG is set: then an answer costs no logging work at all.
        self._access = access_log if access_log is not None else AccessLog.from_env()
        self._content = _RuleContentCache()

    def CheckMedications(  # noqa: N802 - gRPC method name
        self, request: pb.CheckMedicationsRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.CheckMedicationsResponse:
        started = time.perf_counter()
        request_id = request_id_of(context)
        context.set_trailing_metadata(((errors.REQUEST_ID_KEY, request_id),))
        if isinstance(request, Undecodable):  # the bytes did not decode (server.lenient)
            self._log(request_id, "INVALID_ARGUMENT", started)
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        domain = converters.request_from_proto(request, today=datetime.date.today())
        violations = [
            *converters.enum_violations(request),
            *validate_request(domain),
            *patient_ref_violations("patient_ref", request),
        ]
        if violations:
            self._log(request_id, "INVALID_ARGUMENT", started, violations=len(violations))
            errors.abort_invalid(context, violations)
        activation = self._holder.active  # one snapshot: a request never mixes versions
        if activation is None:
            self._log(request_id, "UNAVAILABLE", started)
            errors.abort_unavailable(context)
            raise AssertionError("unreachable")  # abort raises; keeps type checkers honest
        if deadline_passed(context):  # e.g. it expired while the call waited for a thread
            self._log(request_id, "DEADLINE_EXCEEDED", started)
            errors.abort_deadline_exceeded(context, "before evaluation")
        try:
            # Only what the requested view shows is made (no long explanation for a card).
            result = check(domain, activation.ruleset, explain=answers.explains(request.view))
            # Building the answer costs as much as evaluating: skip it if no one will read it.
            late = deadline_passed(context)
            if not late:
                shown = self._decisions.shown(request, result)
                client_has = self._content.kept_by_client(request, activation.ruleset)
                response = answers.response_to_proto(shown.result, request.view, client_has)
                for message, shown_id in zip(response.findings, shown.finding_ids, strict=True):
                    message.finding_id = shown_id
                response.suppressed_findings = len(shown.suppressed_ids)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            # Log the incident and traceback but not the request: it holds patient data.
            log.exception("CheckMedications failed, incident %s", incident)
            errors.abort_internal(context, incident)
            raise
        if late:  # outside the try: an abort raises, and is not an internal failure
            self._log(request_id, "DEADLINE_EXCEEDED", started)
            errors.abort_deadline_exceeded(context, "after evaluation")
        if self._access is not None:
            # Counts and timings only: no codes, refs or patient facts in logs.
            self._log(
                request_id,
                "OK",
                started,
                medications=len(domain.medications),
                findings=len(result.findings),
                unresolved=len(result.unresolved),
                check_status="COMPLETE" if result.complete else "INCOMPLETE",
                view=pb.AnswerView.Name(request.view),
                ruleset=result.identity.version,
            )
        self._decisions.audit(request_id, context, request, domain.as_of, shown)
        return response

    def _log(self, request_id: str, status: str, started: float, **counts: object) -> None:
        """One access line for this CheckMedications call, when the access log is on."""
        if self._access is not None:
            self._access.call(
                "CheckMedications",
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
                **counts,
            )

    def RecordFeedback(  # noqa: N802 - gRPC method name
        self, request: pb.RecordFeedbackRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RecordFeedbackResponse:
        if isinstance(request, Undecodable):
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        return self._decisions.record_feedback(request, context)

    def _active(
        self, request: Request | Undecodable, context: grpc.ServicerContext
    ) -> tuple[Request, Activation]:
        """A read-only call's request and the active rule set; aborts on undecodable bytes or
        while no rule set is loaded."""
        errors.echo_request_id(context)
        if isinstance(request, Undecodable):
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        activation = self._holder.active
        if activation is None:
            errors.abort_unavailable(context)
            raise AssertionError("unreachable")
        return request, activation

    def GetRuleSetInfo(  # noqa: N802 - gRPC method name
        self, request: pb.GetRuleSetInfoRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RuleSetInfo:
        return converters.ruleset_info_to_proto(self._active(request, context)[1])

    def GetRuleContent(  # noqa: N802 - gRPC method name
        self, request: pb.GetRuleContentRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RuleSetContent:
        request, activation = self._active(request, context)
        ruleset = activation.ruleset
        active_hash = ruleset.identity.content_hash
        if request.content_hash not in ("", active_hash):
            errors.abort_not_found(
                context,
                f"rule set content {request.content_hash[:16]!r} is not the active one "
                f"({active_hash[:16]}...); ask with the content_hash of a current answer",
            )
        return self._content.get(ruleset)


class _RuleContentCache:
    """GetRuleContent's answer and its static recommendations, built once per rule set (they
    are static for its content hash)."""

    def __init__(self) -> None:
        self._built: tuple[RuleSet, bytes, Mapping[str, str]] | None = None

    def _for(self, ruleset: RuleSet) -> tuple[RuleSet, bytes, Mapping[str, str]]:
        built = self._built  # one read: another thread may replace it meanwhile
        if built is None or built[0] is not ruleset:
            content = answers.rule_content_to_proto(ruleset).SerializeToString()
            built = (ruleset, content, answers.static_recommendations(ruleset))
            self._built = built
        return built

    def get(self, ruleset: RuleSet) -> pb.RuleSetContent:
        # A fresh message per call: a cached one would be shared by concurrent serialisations.
        return pb.RuleSetContent.FromString(self._for(ruleset)[1])

    def kept_by_client(
        self, request: pb.CheckMedicationsRequest, ruleset: RuleSet
    ) -> Mapping[str, str] | None:
        """The static recommendations the client keeps: those of `ruleset` when the request
        names its content hash; None otherwise (a stale or absent hash: send every text)."""
        wanted = request.rule_content_hash
        if not wanted or wanted != ruleset.identity.content_hash:
            return None
        return self._for(ruleset)[2]


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
