"""The records side of an answer: its request id, the patient's declines, its audit record and
RecordFeedback (ADR 11)."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid

import grpc

from medsopt.audit import caller
from medsopt.audit.record import AuditRecord, digest
from medsopt.audit.records import DecisionRecords
from medsopt.engine.findings import CheckResult
from medsopt.feedback.identity import finding_id
from medsopt.service import errors
from medsopt.service.feedback import feedback_violations, responses_from_proto
from medsopt.v1 import medsopt_pb2 as pb

log = logging.getLogger(__name__)


def request_id_of(context: grpc.ServicerContext) -> str:
    """The caller's x-request-id when it is 1-128 printable ASCII characters, else a new one;
    returned in trailing metadata either way, so the decision can be found in the audit."""
    for key, value in context.invocation_metadata() or ():
        usable = isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()
        if key == errors.REQUEST_ID_KEY and usable and value.isascii():
            return str(value)
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True, slots=True)
class Shown:
    """What the answer shows after the patient's declines: the result and each finding's id."""

    result: CheckResult
    finding_ids: tuple[str, ...]  # of the findings shown, in answer order
    suppressed_ids: tuple[str, ...]
    decided_ids: tuple[str, ...]  # every finding the rules gave, before declines


class Decisions:
    """Declines, audit and feedback over one records database (None: neither, in-process)."""

    def __init__(self, records: DecisionRecords | None) -> None:
        self._records = records

    def shown(self, request: pb.CheckMedicationsRequest, result: CheckResult) -> Shown:
        """The result without the findings this patient declined (with a reason, in force)."""
        ids = tuple(finding_id(f) for f in result.findings)
        hidden = self._suppressed(request, ids)
        if not hidden:
            return Shown(result, ids, (), ids)
        kept = [(f, i) for f, i in zip(result.findings, ids, strict=True) if i not in hidden]
        return Shown(
            dataclasses.replace(result, findings=tuple(f for f, _ in kept)),
            tuple(i for _, i in kept),
            tuple(i for i in ids if i in hidden),
            ids,
        )

    def _suppressed(self, request: pb.CheckMedicationsRequest, ids: tuple[str, ...]) -> set[str]:
        # If the records cannot be read nothing is suppressed: showing a declined finding again
        # is the safe failure.
        if self._records is None or not ids or not request.HasField("patient_ref"):
            return set()
        try:
            return set(self._records.feedback.suppressed(request.patient_ref, ids))
        except Exception:
            log.exception("feedback unreadable: nothing suppressed in this answer")
            return set()

    def audit(
        self,
        request_id: str,
        context: grpc.ServicerContext,
        request: pb.CheckMedicationsRequest,
        as_of: datetime.date | None,
        shown: Shown,
    ) -> None:
        """Queue the decision's audit record (written off the request path)."""
        if self._records is None:
            return
        canonical = request.SerializeToString(deterministic=True)
        identity = shown.result.identity
        self._records.audit.submit(
            AuditRecord(
                request_id=request_id,
                caller=caller.caller(context.peer_identities()),
                decided_at=datetime.datetime.now(datetime.UTC),
                as_of=(as_of or datetime.date.today()).isoformat(),
                ruleset_version=identity.version,
                ruleset_hash=identity.content_hash,
                request_sha256=digest(canonical),
                request=canonical,
                finding_ids=shown.decided_ids,
                suppressed_ids=shown.suppressed_ids,
            )
        )

    def record_feedback(
        self, request: pb.RecordFeedbackRequest, context: grpc.ServicerContext
    ) -> pb.RecordFeedbackResponse:
        """Validate and store one RecordFeedback; the suppressions it starts."""
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
