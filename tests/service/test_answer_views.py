"""Answer views: FULL is today's answer, CARD is FULL less the long explanation."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks.bench_point_of_care import patients
from medsopt.committee.cases import parse_cases
from medsopt.engine import CheckRequest, PatientContext, check
from medsopt.rules.ruleset import RuleSet
from medsopt.rules.template import parse_template
from medsopt.service.answers import response_to_proto, static_recommendations
from medsopt.store.activate import BUNDLED_RULES
from medsopt.store.sources import read_sources
from medsopt.v1 import medsopt_pb2 as pb
from tests.engine.test_spec import CASES, request
from tests.service.todays_answer import todays_response


def committee_requests() -> list[CheckRequest]:
    cases, problems = parse_cases(read_sources(BUNDLED_RULES))
    assert cases and not problems
    return [case.request() for case in cases]


def point_of_care_requests(ruleset: RuleSet) -> list[CheckRequest]:
    """The benchmark's 20-medicine patients, as drawn and at age 78 with eGFR 40."""
    drawn = patients(ruleset, 30, 20, 20261124)
    older = PatientContext(age_years=78, egfr=40.0)
    return [*drawn, *(dataclasses.replace(p, patient=older) for p in drawn)]


def wire(message: pb.CheckMedicationsResponse) -> bytes:
    return message.SerializeToString(deterministic=True)


def card_of(full: pb.CheckMedicationsResponse) -> pb.CheckMedicationsResponse:
    """What a card answer must be: the FULL answer without rationale, citations, source titles
    and the long explanation, each match reduced to (ref, group)."""
    card = pb.CheckMedicationsResponse()
    card.CopyFrom(full)
    for finding in card.findings:
        finding.ClearField("rationale")
        finding.ClearField("citations")
        for source in finding.sources:
            source.ClearField("title")
        pairs = sorted({(m.ref, m.group) for m in finding.explanation.matched})
        finding.ClearField("explanation")
        for ref, group in pairs:
            finding.explanation.matched.add(ref=ref, group=group)
    return card


def test_full_view_is_todays_answer_for_every_committee_case(bundled: RuleSet) -> None:
    for case in committee_requests():
        result = check(case, bundled)
        assert wire(response_to_proto(result, pb.ANSWER_VIEW_FULL)) == wire(todays_response(result))


def test_full_view_is_todays_answer_for_the_spec_and_point_of_care_requests(
    spec: RuleSet, bundled: RuleSet
) -> None:
    requests = [(request(c.codes, c.patient), spec) for c in CASES]
    requests += [(r, bundled) for r in point_of_care_requests(bundled)]
    for case, ruleset in requests:
        result = check(case, ruleset)
        assert wire(response_to_proto(result, pb.ANSWER_VIEW_FULL)) == wire(todays_response(result))


@pytest.mark.parametrize("source", ["committee", "point of care"])
def test_card_view_is_the_full_answer_less_the_long_explanation(
    source: str, bundled: RuleSet
) -> None:
    requests = committee_requests() if source == "committee" else point_of_care_requests(bundled)
    for case in requests:
        full = response_to_proto(check(case, bundled), pb.ANSWER_VIEW_FULL)
        card = response_to_proto(check(case, bundled, explain=False), pb.ANSWER_VIEW_CARD)
        assert wire(card) == wire(card_of(full))


def test_a_card_answer_is_a_fraction_of_the_full_one(bundled: RuleSet) -> None:
    case = point_of_care_requests(bundled)[30]  # 20 medicines, age 78, eGFR 40
    full = response_to_proto(check(case, bundled), pb.ANSWER_VIEW_FULL)
    card = response_to_proto(check(case, bundled, explain=False), pb.ANSWER_VIEW_CARD)
    assert len(full.findings) >= 5
    assert card.ByteSize() * 3 < full.ByteSize()


def test_an_unexplained_result_has_no_long_explanation_and_cannot_be_full(
    bundled: RuleSet,
) -> None:
    result = check(point_of_care_requests(bundled)[30], bundled, explain=False)
    assert not result.explained
    assert result.findings
    for finding in result.findings:
        assert finding.matched == () and finding.conditions == () and finding.citations == ()
        assert finding.matched_groups
    assert response_to_proto(result).findings[0].rationale == ""  # unexplained: a card
    with pytest.raises(ValueError, match="FULL"):
        response_to_proto(result, pb.ANSWER_VIEW_FULL)


def with_templated_recommendation(ruleset: RuleSet, rule_id: str) -> RuleSet:
    """`ruleset` with one rule's recommendation naming the patient's medicines."""
    compiled = ruleset.rules[rule_id]
    ir = dataclasses.replace(
        compiled.ir, recommendation=parse_template("Review {medicines} at {age}.")
    )
    rules = {**ruleset.rules, rule_id: dataclasses.replace(compiled, ir=ir)}
    return dataclasses.replace(ruleset, rules=rules)


def test_a_card_leaves_out_only_the_recommendations_the_client_keeps(bundled: RuleSet) -> None:
    case = point_of_care_requests(bundled)[30]
    first = check(case, bundled, explain=False).findings[0].rule_id
    ruleset = with_templated_recommendation(bundled, first)
    result = check(case, ruleset, explain=False)
    kept = static_recommendations(ruleset)
    assert first not in kept and len(kept) == len(ruleset.rules) - 1

    plain = response_to_proto(result, pb.ANSWER_VIEW_CARD)
    lean = response_to_proto(result, pb.ANSWER_VIEW_CARD, kept)

    assert lean.static_text_omitted and not plain.static_text_omitted
    assert lean.findings[0].recommendation == plain.findings[0].recommendation
    assert "78 years" in lean.findings[0].recommendation  # this patient's values: always sent
    assert [f.recommendation for f in lean.findings[1:]] == [""] * (len(lean.findings) - 1)
    for finding in lean.findings:  # what the client shows: its kept text where none was sent
        finding.recommendation = finding.recommendation or kept[finding.rule_id]
    lean.static_text_omitted = False
    assert wire(lean) == wire(plain)


def test_a_full_answer_leaves_nothing_out(bundled: RuleSet) -> None:
    result = check(point_of_care_requests(bundled)[30], bundled)
    kept = static_recommendations(bundled)
    full = response_to_proto(result, pb.ANSWER_VIEW_FULL, kept)
    assert not full.static_text_omitted
    assert wire(full) == wire(response_to_proto(result, pb.ANSWER_VIEW_FULL))
