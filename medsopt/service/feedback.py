"""RecordFeedback on the wire: field violations, then the domain responses."""

from __future__ import annotations

import datetime

from medsopt.engine.validation import FieldViolation
from medsopt.feedback.desk import FindingResponse
from medsopt.feedback.identity import FINDING_ID
from medsopt.feedback.models import Coding, Outcome
from medsopt.v1 import medsopt_pb2 as pb

MAX_FEEDBACK = 100
MAX_ID = 128
MAX_CODE = 64
MAX_SYSTEM = 256
MAX_DISPLAY = 256
MAX_COMMENT = 1000
MAX_SUGGESTIONS = 20

_OUTCOME = {
    pb.FEEDBACK_OUTCOME_ACCEPTED: Outcome.ACCEPTED,
    pb.FEEDBACK_OUTCOME_OVERRIDDEN: Outcome.OVERRIDDEN,
}


def _text(field: str, value: str, limit: int, required: bool) -> list[FieldViolation]:
    if required and not value:
        return [FieldViolation(field, "required")]
    if len(value) > limit:
        return [FieldViolation(field, f"at most {limit} characters")]
    return []


def _timestamp(field: str, value: str) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(field, "required (RFC 3339, e.g. 2026-12-06T09:30:00Z)")]
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return [FieldViolation(field, "not an RFC 3339 date-time")]
    if "T" not in value or moment.tzinfo is None:
        return [FieldViolation(field, "needs a date, a time and a UTC offset (RFC 3339)")]
    return []


def patient_ref_violations(
    field: str, message: pb.CheckMedicationsRequest | pb.RecordFeedbackRequest
) -> list[FieldViolation]:
    """A patient_ref, when sent, is 1 to 128 characters."""
    if not message.HasField("patient_ref"):
        return []
    if not 1 <= len(message.patient_ref) <= MAX_ID:
        return [FieldViolation(field, f"1 to {MAX_ID} characters when sent")]
    return []


def _entry_violations(at: str, item: pb.FindingFeedback) -> list[FieldViolation]:
    found = []
    if not FINDING_ID.fullmatch(item.finding_id):
        found.append(FieldViolation(f"{at}.finding_id", "not a finding_id of an answer"))
    if item.outcome == pb.FEEDBACK_OUTCOME_UNSPECIFIED:
        found.append(FieldViolation(f"{at}.outcome", "required: ACCEPTED or OVERRIDDEN"))
    elif item.outcome not in _OUTCOME:
        found.append(
            FieldViolation(f"{at}.outcome", f"{item.outcome} is not a value this API defines")
        )
    if item.HasField("override_reason"):
        reason = f"{at}.override_reason"
        if item.outcome == pb.FEEDBACK_OUTCOME_ACCEPTED:
            found.append(FieldViolation(reason, "only an OVERRIDDEN outcome has a reason"))
        coding = item.override_reason.reason
        found += _text(f"{reason}.reason.code", coding.code, MAX_CODE, required=True)
        found += _text(f"{reason}.reason.system", coding.system, MAX_SYSTEM, required=True)
        found += _text(f"{reason}.reason.display", coding.display, MAX_DISPLAY, required=False)
        found += _text(
            f"{reason}.user_comment", item.override_reason.user_comment, MAX_COMMENT, False
        )
    found += _timestamp(f"{at}.outcome_timestamp", item.outcome_timestamp)
    if item.accepted_suggestions and item.outcome != pb.FEEDBACK_OUTCOME_ACCEPTED:
        found.append(FieldViolation(f"{at}.accepted_suggestions", "only for ACCEPTED"))
    if len(item.accepted_suggestions) > MAX_SUGGESTIONS:
        found.append(FieldViolation(f"{at}.accepted_suggestions", f"at most {MAX_SUGGESTIONS}"))
    for j, code in enumerate(item.accepted_suggestions):
        if not code.isdigit() or not 6 <= len(code) <= 18:
            found.append(FieldViolation(f"{at}.accepted_suggestions[{j}]", "not a dm+d code"))
    return found


def feedback_violations(message: pb.RecordFeedbackRequest) -> list[FieldViolation]:
    """Every problem in a RecordFeedback request, with its field path."""
    found = _text("request_id", message.request_id, MAX_ID, required=True)
    found += patient_ref_violations("patient_ref", message)
    if not 1 <= len(message.feedback) <= MAX_FEEDBACK:
        found.append(FieldViolation("feedback", f"1 to {MAX_FEEDBACK} entries"))
    seen: set[str] = set()
    for i, item in enumerate(message.feedback[:MAX_FEEDBACK]):
        found += _entry_violations(f"feedback[{i}]", item)
        if item.finding_id in seen:
            found.append(FieldViolation(f"feedback[{i}].finding_id", "sent twice"))
        seen.add(item.finding_id)
    return found


def responses_from_proto(message: pb.RecordFeedbackRequest) -> tuple[FindingResponse, ...]:
    """The responses of a request that has no violations."""
    return tuple(
        FindingResponse(
            finding_id=item.finding_id,
            outcome=_OUTCOME[item.outcome],
            reason=Coding(
                item.override_reason.reason.code,
                item.override_reason.reason.system,
                item.override_reason.reason.display,
            )
            if item.HasField("override_reason")
            else None,
            user_comment=item.override_reason.user_comment,
            outcome_timestamp=item.outcome_timestamp,
            accepted_suggestions=tuple(item.accepted_suggestions),
        )
        for item in message.feedback
    )
