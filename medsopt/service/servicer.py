"""Thin gRPC servicer: convert, validate, call the engine, convert back."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
import uuid

import grpc

from medsopt.audit import caller
from medsopt.audit.record import AuditRecord, digest
from medsopt.audit.records import DecisionRecords
from medsopt.engine.findings import CheckResult
from medsopt.engine.point_of_care import check
from medsopt.engine.validation import validate_request
from medsopt.feedback.identity import finding_id
from medsopt.rules.holder import RuleSetHolder
from medsopt.service import converters, errors
from medsopt.service.feedback import (
    feedback_violations,
    patient_ref_violations,
    responses_from_proto,
)
from medsopt.store.reload import Reloader
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


class Undecodable:
    """What a request deserializer yields for bytes that are not the method's message."""


UNDECODABLE = Undecodable()
REQUEST_ID = "x-request-id"


def request_id_of(context: grpc.ServicerContext) -> str:
    """The caller's x-request-id when it is 1-128 printable ASCII characters, else a new one;
    returned in trailing metadata either way, so the decision can be found in the audit."""
    for key, value in context.invocation_metadata() or ():
        usable = isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()
        if key == REQUEST_ID and usable and value.isascii():
            return str(value)
    return uuid.uuid4().hex


class MedicinesOptimisationServicer(pb_grpc.MedicinesOptimisationServicer):
    """medsopt.v1.MedicinesOptimisation over the holder's active rule set."""

    def __init__(self, holder: RuleSetHolder, records: DecisionRecords | None = None) -> None:
        self._holder = holder
        self._records = records  # feedback and audit; None: neither (in-process tools)

    def CheckMedications(  # noqa: N802 - gRPC method name
        self, request: pb.CheckMedicationsRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.CheckMedicationsResponse:
        started = time.perf_counter()
        if isinstance(request, Undecodable):  # the bytes did not decode (server.lenient)
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        request_id = request_id_of(context)
        context.set_trailing_metadata(((REQUEST_ID, request_id),))
        domain = converters.request_from_proto(request, today=datetime.date.today())
        violations = [
            *converters.enum_violations(request),
            *validate_request(domain),
            *patient_ref_violations("patient_ref", request),
        ]
        if violations:
            log.info("CheckMedications rejected: %d field violation(s)", len(violations))
            errors.abort_invalid(context, violations)
        activation = self._holder.active  # one snapshot: a request never mixes versions
        if activation is None:
            errors.abort_unavailable(context)
            raise AssertionError("unreachable")  # abort raises; keeps type checkers honest
        try:
            result = check(domain, activation.ruleset)
            ids = tuple(finding_id(f) for f in result.findings)
            hidden = self._suppressed(request, ids)
            kept = [(f, i) for f, i in zip(result.findings, ids, strict=True) if i not in hidden]
            response = converters.response_to_proto(
                dataclasses.replace(result, findings=tuple(f for f, _ in kept))
            )
            for message, (_, shown_id) in zip(response.findings, kept, strict=True):
                message.finding_id = shown_id
            response.suppressed_findings = len(ids) - len(kept)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            # Log the incident and traceback but not the request: it holds patient data.
            log.exception("CheckMedications failed, incident %s", incident)
            errors.abort_internal(context, incident)
            raise
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
        self._audit(request_id, context, request, domain.as_of, result, ids, hidden)
        return response

    def _suppressed(self, request: pb.CheckMedicationsRequest, ids: tuple[str, ...]) -> set[str]:
        """Findings this patient declined (with a reason, still in force). If the records
        cannot be read, nothing is suppressed: showing a declined finding again is the safe
        failure."""
        if self._records is None or not ids or not request.HasField("patient_ref"):
            return set()
        try:
            return set(self._records.feedback.suppressed(request.patient_ref, ids))
        except Exception:
            log.exception("feedback unreadable: nothing suppressed in this answer")
            return set()

    def _audit(
        self,
        request_id: str,
        context: grpc.ServicerContext,
        request: pb.CheckMedicationsRequest,
        as_of: datetime.date | None,
        result: CheckResult,
        ids: tuple[str, ...],
        hidden: set[str],
    ) -> None:
        """Queue the decision's audit record (written off the request path)."""
        if self._records is None:
            return
        canonical = request.SerializeToString(deterministic=True)
        self._records.audit.submit(
            AuditRecord(
                request_id=request_id,
                caller=caller.caller(context.peer_identities()),
                decided_at=datetime.datetime.now(datetime.UTC),
                as_of=(as_of or datetime.date.today()).isoformat(),
                ruleset_version=result.identity.version,
                ruleset_hash=result.identity.content_hash,
                request_sha256=digest(canonical),
                request=canonical,
                finding_ids=ids,
                suppressed_ids=tuple(i for i in ids if i in hidden),
            )
        )

    def RecordFeedback(  # noqa: N802 - gRPC method name
        self, request: pb.RecordFeedbackRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RecordFeedbackResponse:
        if isinstance(request, Undecodable):
            errors.abort_undecodable(context)
            raise AssertionError("unreachable")
        violations = feedback_violations(request)
        if violations:
            log.info("RecordFeedback rejected: %d field violation(s)", len(violations))
            errors.abort_invalid(context, violations)
        if self._records is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "no feedback store is configured")
            raise AssertionError("unreachable")
        patient_ref = request.patient_ref if request.HasField("patient_ref") else None
        try:
            entries = self._records.feedback.record(
                request.request_id,
                caller.caller(context.peer_identities()),
                patient_ref,
                responses_from_proto(request),
            )
        except Exception:
            log.exception("RecordFeedback: feedback store unavailable")
            context.abort(grpc.StatusCode.UNAVAILABLE, "feedback store unavailable; not recorded")
            raise
        # Counts only: reasons and comments are the prescriber's words about a patient.
        log.info("RecordFeedback entries=%d", len(entries))
        return pb.RecordFeedbackResponse(
            recorded=len(entries),
            suppressions=[
                pb.Suppression(
                    finding_id=e.finding_id,
                    expires_at=e.expires_at.isoformat().replace("+00:00", "Z"),
                )
                for e in entries
                if e.expires_at is not None
            ],
        )

    def GetRuleSetInfo(  # noqa: N802 - gRPC method name
        self, request: pb.GetRuleSetInfoRequest | Undecodable, context: grpc.ServicerContext
    ) -> pb.RuleSetInfo:
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
