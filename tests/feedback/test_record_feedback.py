"""RecordFeedback through a real gRPC server: validation, storage, suppression in the answer."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from medsopt.rules.ruleset import RuleSet
from medsopt.v1 import medsopt_pb2 as pb
from tests.feedback.serving import (
    OVERRIDE_SYSTEM,
    Served,
    accept,
    decline,
    serving,
    warfarin_naproxen,
)
from tests.service.grpc_errors import bad_request


@pytest.fixture
def served(bundled: RuleSet, tmp_path: Path) -> Iterator[Served]:
    with serving(bundled, str(tmp_path / "records.sqlite3"), expiry_days=365) as running:
        yield running


def pincer_d(response: pb.CheckMedicationsResponse) -> str:
    (identity,) = [f.finding_id for f in response.findings if f.rule_id == "PINCER-D"]
    return identity


def test_every_finding_has_an_id_and_the_answer_a_request_id(served: Served) -> None:
    response, request_id = served.check(warfarin_naproxen())
    assert len(request_id) == 32  # generated: the caller sent none
    assert all(f.finding_id.startswith(f"{f.rule_id}:") for f in response.findings)
    again, echoed = served.check(warfarin_naproxen(), request_id="epr-4711")
    assert echoed == "epr-4711"
    assert [f.finding_id for f in again.findings] == [f.finding_id for f in response.findings]
    full = warfarin_naproxen()
    full.view = pb.ANSWER_VIEW_FULL  # a card and the full answer name a finding alike
    in_full, _ = served.check(full)
    assert [f.finding_id for f in in_full.findings] == [f.finding_id for f in response.findings]


def test_a_reasoned_decline_suppresses_the_finding_for_that_patient_only(served: Served) -> None:
    response, request_id = served.check(warfarin_naproxen())
    identity = pincer_d(response)
    recorded = served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-17", feedback=[decline(identity)]
        ),
        timeout=10,
    )
    assert recorded.recorded == 1
    assert [s.finding_id for s in recorded.suppressions] == [identity]
    assert recorded.suppressions[0].expires_at == "2027-12-06T09:30:00Z"

    again, _ = served.check(warfarin_naproxen())
    assert identity not in [f.finding_id for f in again.findings]
    assert again.suppressed_findings == 1
    assert len(again.findings) == len(response.findings) - 1
    other, _ = served.check(warfarin_naproxen("patient-18"))
    assert pincer_d(other) == identity and other.suppressed_findings == 0
    unnamed, _ = served.check(warfarin_naproxen(None))
    assert pincer_d(unnamed) == identity and unnamed.suppressed_findings == 0


def test_the_decline_expires_and_changed_facts_show_the_finding(served: Served) -> None:
    response, request_id = served.check(warfarin_naproxen())
    served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-17", feedback=[decline(pincer_d(response))]
        ),
        timeout=10,
    )
    older = warfarin_naproxen()
    older.patient.age_years = 79  # a fact the rule tested changed: a new finding id
    changed, _ = served.check(older)
    assert changed.suppressed_findings == 0 and pincer_d(changed) != pincer_d(response)

    served.clock.now += datetime.timedelta(days=366)
    expired, _ = served.check(warfarin_naproxen())
    assert expired.suppressed_findings == 0 and pincer_d(expired) == pincer_d(response)


def test_an_acceptance_suppresses_nothing(served: Served) -> None:
    response, request_id = served.check(warfarin_naproxen())
    recorded = served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-17", feedback=[accept(pincer_d(response))]
        ),
        timeout=10,
    )
    assert recorded.recorded == 1 and not recorded.suppressions
    again, _ = served.check(warfarin_naproxen())
    assert again.suppressed_findings == 0


def rejected(served: Served, request: pb.RecordFeedbackRequest) -> dict[str, str]:
    with pytest.raises(grpc.RpcError) as raised:
        served.stub.RecordFeedback(request, timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    return bad_request(raised.value)


def test_malformed_feedback_gets_field_violations(served: Served) -> None:
    assert set(rejected(served, pb.RecordFeedbackRequest())) == {"request_id", "feedback"}
    bad = pb.FindingFeedback(
        finding_id="PINCER-D",
        outcome=pb.FEEDBACK_OUTCOME_ACCEPTED,
        override_reason=pb.OverrideReason(reason=pb.Coding(display="no code")),
        outcome_timestamp="2026-12-06",
        accepted_suggestions=["=HYPERLINK()"],
    )
    unknown = pb.FindingFeedback(
        finding_id="PINCER-D:0123456789abcdef", outcome_timestamp="yesterday"
    )
    unknown.outcome = 77  # type: ignore[assignment]  # not a defined number
    violations = rejected(
        served,
        pb.RecordFeedbackRequest(request_id="r", patient_ref="", feedback=[bad, unknown]),
    )
    assert set(violations) == {
        "patient_ref",
        "feedback[0].finding_id",
        "feedback[0].override_reason",
        "feedback[0].override_reason.reason.code",
        "feedback[0].override_reason.reason.system",
        "feedback[0].outcome_timestamp",
        "feedback[0].accepted_suggestions[0]",
        "feedback[1].outcome",
        "feedback[1].outcome_timestamp",
    }
    assert "77" in violations["feedback[1].outcome"]


def test_a_too_long_patient_ref_is_rejected_on_check(served: Served) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        served.check(warfarin_naproxen("p" * 129))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(bad_request(raised.value)) == {"patient_ref"}


def test_no_patient_reference_or_comment_reaches_the_log(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response, request_id = served.check(warfarin_naproxen("patient-SECRET-REF"))
    feedback = decline(pincer_d(response))
    feedback.override_reason.user_comment = "COMMENT-SECRET"
    feedback.override_reason.reason.system = OVERRIDE_SYSTEM
    served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-SECRET-REF", feedback=[feedback]
        ),
        timeout=10,
    )
    served.records.audit.flush()
    assert "SECRET" not in caplog.text
    assert "319733000" not in caplog.text


def test_unreadable_records_suppress_nothing_and_feedback_is_unavailable(served: Served) -> None:
    response, request_id = served.check(warfarin_naproxen())
    served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-17", feedback=[decline(pincer_d(response))]
        ),
        timeout=10,
    )
    served.records.database.close()  # the records database is gone
    again, _ = served.check(warfarin_naproxen())
    assert again.suppressed_findings == 0  # the declined finding is shown: the safe failure
    assert pincer_d(again) == pincer_d(response)
    with pytest.raises(grpc.RpcError) as raised:
        served.stub.RecordFeedback(
            pb.RecordFeedbackRequest(request_id=request_id, feedback=[accept(pincer_d(response))]),
            timeout=10,
        )
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
