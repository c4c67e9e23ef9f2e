"""The wire answer of a check, in the view the request asked for (CARD or FULL).

Each message is built once, in place (`add()` on its parent's repeated field): nothing is built
and then copied into the answer. A CARD answer carries what a card shows; FULL adds what the
long explanation holds (rationale, citations, how each medicine matched) and is exactly the
answer every request got before views existed.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

from medsopt.engine.findings import CheckResult, Finding, NotEvaluated
from medsopt.engine.text import question, render_text
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import (
    CATEGORY,
    EVIDENCE,
    SEVERITY,
    UNRESOLVED,
    identity_into,
)
from medsopt.v1 import medsopt_pb2 as pb


def _full(view: pb.AnswerView | None, result: CheckResult) -> bool:
    """Whether the answer is the FULL view (None: as much as the result holds)."""
    if view is None:
        return result.explained
    full = view == pb.ANSWER_VIEW_FULL
    if full and not result.explained:
        raise ValueError("a FULL answer needs a result checked with explain=True")
    return full


def explains(view: pb.AnswerView) -> bool:
    """Whether a check answered in this view must make the long explanation."""
    full: bool = view == pb.ANSWER_VIEW_FULL
    return full


def static_recommendations(ruleset: RuleSet) -> dict[str, str]:
    """Rule id -> the recommendation the rule shows every patient (rules with no placeholder
    in it); a rule that fills in patient values is not listed."""
    return {
        rule_id: render_text(compiled.ir.recommendation, {})
        for rule_id, compiled in ruleset.rules.items()
        if not compiled.ir.recommendation.placeholders
    }


def _card_finding(message: pb.Finding, finding: Finding, client_has: Container[str]) -> None:
    """What a card shows, written into `message` (a finding just added to an answer); the
    recommendation is left out when its rule is in `client_has` (the client keeps it)."""
    message.rule_id = finding.rule_id
    message.category = CATEGORY[finding.category]
    message.severity = SEVERITY[finding.severity]
    message.evidence = EVIDENCE[finding.evidence]
    message.title = finding.title
    message.detail = finding.detail
    if finding.rule_id not in client_has:
        message.recommendation = finding.recommendation
    message.medication_refs.extend(finding.medication_refs)
    add_match = message.explanation.matched.add
    for ref, group in finding.matched_groups:
        add_match(ref=ref, group=group)
    if finding.suggestions:
        add_suggestion = message.suggestions.add
        for s in finding.suggestions:
            add_suggestion(code=s.code, name=s.name, reason=s.reason)
    message.involves_proposed = finding.involves_proposed
    if finding.concern:
        message.concern = finding.concern
    add_source = message.sources.add
    for source in finding.sources:
        add_source(rule_id=source.rule_id, severity=SEVERITY[source.severity])


def _full_finding(message: pb.Finding, finding: Finding, client_has: Container[str] = ()) -> None:
    """Every field of a finding, written into `message` (a finding just added to an answer)."""
    message.rule_id = finding.rule_id
    message.concern = finding.concern
    add_source = message.sources.add
    for source in finding.sources:
        add_source(rule_id=source.rule_id, title=source.title, severity=SEVERITY[source.severity])
    message.category = CATEGORY[finding.category]
    message.severity = SEVERITY[finding.severity]
    message.evidence = EVIDENCE[finding.evidence]
    message.title = finding.title
    message.detail = finding.detail
    message.recommendation = finding.recommendation
    message.rationale = finding.rationale
    message.medication_refs.extend(finding.medication_refs)
    add_citation = message.citations.add
    for c in finding.citations:
        add_citation(source=c.source, reference=c.reference, url=c.url or "")
    explanation = message.explanation
    add_match = explanation.matched.add
    for m in finding.matched:
        add_match(
            ref=m.ref,
            code=m.code,
            concept_code=m.concept_code,
            concept_name=m.concept_name,
            level=m.level,
            group=m.group,
            via=m.via,
            formulary_status=m.formulary_status,
        )
    explanation.conditions.extend(finding.conditions)
    add_suggestion = message.suggestions.add
    for s in finding.suggestions:
        add_suggestion(code=s.code, name=s.name, reason=s.reason)
    message.involves_proposed = finding.involves_proposed


def finding_to_proto(finding: Finding, view: pb.AnswerView = pb.ANSWER_VIEW_FULL) -> pb.Finding:
    """One finding on its own (an answer writes its findings in place: response_to_proto)."""
    message = pb.Finding()
    (_full_finding if view == pb.ANSWER_VIEW_FULL else _card_finding)(message, finding, ())
    return message


def _not_evaluated_to_proto(message: pb.RuleNotEvaluated, item: NotEvaluated) -> None:
    message.rule_id = item.rule_id
    message.title = item.title
    message.missing.extend(item.missing)
    message.medication_refs.extend(item.medication_refs)
    message.questions.extend(question(m) for m in item.missing)


def response_to_proto(
    result: CheckResult,
    view: pb.AnswerView | None = None,
    client_has: Mapping[str, str] | None = None,
) -> pb.CheckMedicationsResponse:
    """The wire answer for one check, in `view` (None: FULL when the result was explained).

    `client_has`: the static recommendations of the rule content the client keeps (None: it
    keeps none); a card leaves them out and says so. Each message is built once, in place:
    nothing is built and then copied into the answer.
    """
    response = pb.CheckMedicationsResponse(
        request_id=result.request_id,
        check_status=pb.CHECK_STATUS_COMPLETE if result.complete else pb.CHECK_STATUS_INCOMPLETE,
    )
    for u in result.unresolved:
        response.unresolved_codes.add(
            ref=u.entry.ref,
            code=u.entry.code,
            reason=UNRESOLVED[u.reason],
            message=u.message,
            display=u.entry.display,
        )
    identity_into(response.rule_set, result.identity)
    full = _full(view, result)
    write = _full_finding if full else _card_finding
    omitted: Container[str] = client_has if client_has is not None and not full else ()
    response.static_text_omitted = client_has is not None and not full
    add_finding = response.findings.add
    for finding in result.findings:
        write(add_finding(), finding, omitted)
    add_not_evaluated = response.rules_not_evaluated.add
    for item in result.not_evaluated:
        _not_evaluated_to_proto(add_not_evaluated(), item)
    for ref, s in result.superseded:
        changed_on = s.changed_on or ""
        response.superseded_codes.add(
            ref=ref, code=s.previous_code, current_code=s.current_code, changed_on=changed_on
        )
    return response


def rule_content_to_proto(ruleset: RuleSet) -> pb.RuleSetContent:
    """Every active rule's static content (what FULL findings repeat), by rule id."""
    content = pb.RuleSetContent()
    identity_into(content.identity, ruleset.identity)
    static = static_recommendations(ruleset)
    for rule_id, compiled in sorted(ruleset.rules.items()):
        rule = compiled.ir
        content.rules.add(
            rule_id=rule_id,
            title=rule.title,
            category=CATEGORY[rule.category],
            severity=SEVERITY[rule.severity],
            evidence=EVIDENCE[rule.evidence],
            rationale=rule.rationale,
            citations=[
                pb.Citation(source=c.source, reference=c.reference, url=c.url or "")
                for c in rule.citations
            ],
            concern=rule.concern or "",
            recommendation=static.get(rule_id, ""),
        )
    return content
