"""Answer views and rule content through a real gRPC server on 127.0.0.1:0."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator

import grpc
import pytest

from medsopt.engine import check
from medsopt.feedback.identity import finding_id
from medsopt.rules.holder import RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.service.answers import response_to_proto
from medsopt.service.converters import request_from_proto
from medsopt.service.server import ServerConfig, build_server
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.service.grpc_errors import bad_request

WARFARIN, NAPROXEN, OMEPRAZOLE = "319733000", "329806007", "317291008"


@pytest.fixture(scope="module")
def stub(bundled: RuleSet) -> Iterator[pb_grpc.MedicinesOptimisationStub]:
    holder = RuleSetHolder()
    holder.activate(bundled, load_millis=0.0)
    server = build_server(ServerConfig(port=0, max_workers=2, grace_seconds=1), holder)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield pb_grpc.MedicinesOptimisationStub(channel)
    finally:
        server.stop()


def older_patient(view: pb.AnswerView = pb.ANSWER_VIEW_UNSPECIFIED) -> pb.CheckMedicationsRequest:
    return pb.CheckMedicationsRequest(
        request_id="views-1",
        patient=pb.PatientContext(age_years=78, egfr=40),
        medications=[
            pb.Medication(ref="a", code=WARFARIN),
            pb.Medication(ref="b", code=NAPROXEN, status=pb.MEDICATION_STATUS_PROPOSED),
            pb.Medication(ref="c", code=OMEPRAZOLE),
        ],
        as_of_date="2026-12-01",
        view=view,
    )


def in_process(
    message: pb.CheckMedicationsRequest, ruleset: RuleSet, view: pb.AnswerView
) -> pb.CheckMedicationsResponse:
    domain = request_from_proto(message, today=datetime.date(2026, 12, 1))
    full = view == pb.ANSWER_VIEW_FULL
    result = check(domain, ruleset, explain=full)
    response = response_to_proto(result, view)
    # The service adds each finding's id (medsopt.service.decisions), the same in every view.
    for message_finding, finding in zip(response.findings, result.findings, strict=True):
        message_finding.finding_id = finding_id(finding)
    return response


@pytest.mark.parametrize(
    ("asked", "answered"),
    [
        (pb.ANSWER_VIEW_UNSPECIFIED, pb.ANSWER_VIEW_CARD),
        (pb.ANSWER_VIEW_CARD, pb.ANSWER_VIEW_CARD),
        (pb.ANSWER_VIEW_FULL, pb.ANSWER_VIEW_FULL),
    ],
)
def test_the_default_answer_is_a_card_and_full_is_on_request(
    stub: pb_grpc.MedicinesOptimisationStub,
    bundled: RuleSet,
    asked: pb.AnswerView,
    answered: pb.AnswerView,
) -> None:
    response = stub.CheckMedications(older_patient(asked), timeout=10)
    assert response.findings
    assert response == in_process(older_patient(asked), bundled, answered)
    carries_rationale = any(f.rationale for f in response.findings)
    assert carries_rationale is (answered == pb.ANSWER_VIEW_FULL)


def test_a_view_the_api_does_not_define_is_invalid(
    stub: pb_grpc.MedicinesOptimisationStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckMedications(older_patient(view=7), timeout=10)  # type: ignore[arg-type]
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "view" in bad_request(raised.value)


def test_rule_content_is_what_full_findings_repeat(
    stub: pb_grpc.MedicinesOptimisationStub, bundled: RuleSet
) -> None:
    full = stub.CheckMedications(older_patient(pb.ANSWER_VIEW_FULL), timeout=10)
    content = stub.GetRuleContent(
        pb.GetRuleContentRequest(content_hash=full.rule_set.content_hash), timeout=10
    )
    assert content.identity == full.rule_set
    rules = {r.rule_id: r for r in content.rules}
    assert set(rules) == set(bundled.rules)
    for finding in full.findings:
        for source in finding.sources:
            assert rules[source.rule_id].title == source.title
        assert rules[finding.rule_id].recommendation == finding.recommendation  # all static
        if len(finding.sources) == 1:
            rule = rules[finding.rule_id]
            assert (rule.title, rule.rationale) == (finding.title, finding.rationale)
            assert (rule.category, rule.evidence) == (finding.category, finding.evidence)
            assert list(finding.citations)[: len(rule.citations)] == list(rule.citations)
    assert stub.GetRuleContent(pb.GetRuleContentRequest(), timeout=10) == content


def test_a_client_keeping_the_rule_content_gets_a_card_without_its_static_text(
    stub: pb_grpc.MedicinesOptimisationStub,
) -> None:
    plain = stub.CheckMedications(older_patient(), timeout=10)
    content = stub.GetRuleContent(pb.GetRuleContentRequest(), timeout=10)
    kept = {r.rule_id: r.recommendation for r in content.rules if r.recommendation}
    asked = older_patient()
    asked.rule_content_hash = content.identity.content_hash

    lean = stub.CheckMedications(asked, timeout=10)

    assert lean.static_text_omitted and lean.ByteSize() < plain.ByteSize()
    assert [f.recommendation for f in lean.findings] == [""] * len(plain.findings)
    for finding in lean.findings:
        finding.recommendation = kept[finding.rule_id]
    lean.static_text_omitted = False
    assert lean == plain


@pytest.mark.parametrize(
    ("view", "content_hash"),
    [(pb.ANSWER_VIEW_CARD, "0" * 64), (pb.ANSWER_VIEW_CARD, "x"), (pb.ANSWER_VIEW_FULL, None)],
)
def test_a_stale_content_hash_or_a_full_answer_leaves_nothing_out(
    stub: pb_grpc.MedicinesOptimisationStub, view: pb.AnswerView, content_hash: str | None
) -> None:
    plain = stub.CheckMedications(older_patient(view), timeout=10)
    asked = older_patient(view)
    asked.rule_content_hash = content_hash or plain.rule_set.content_hash  # None: the active one
    answer = stub.CheckMedications(asked, timeout=10)
    assert not answer.static_text_omitted
    assert answer == plain


def test_rule_content_of_another_rule_set_is_not_found(
    stub: pb_grpc.MedicinesOptimisationStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetRuleContent(pb.GetRuleContentRequest(content_hash="0" * 64), timeout=10)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_without_the_access_log_an_answer_logs_nothing(
    stub: pb_grpc.MedicinesOptimisationStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.CheckMedications(older_patient(), timeout=10)
    assert [r for r in caplog.records if r.name.startswith("medsopt")] == []
