"""The answer as every request got it before answer views existed (main at 1a94244), kept
verbatim as the reference the FULL view must equal."""

from __future__ import annotations

from medsopt.engine.findings import CheckResult, Finding, NotEvaluated
from medsopt.engine.text import question
from medsopt.service.converters import CATEGORY, EVIDENCE, SEVERITY, UNRESOLVED, identity_to_proto
from medsopt.v1 import medsopt_pb2 as pb


def finding_to_proto(finding: Finding) -> pb.Finding:
    return pb.Finding(
        rule_id=finding.rule_id,
        concern=finding.concern,
        sources=[
            pb.FindingSource(rule_id=s.rule_id, title=s.title, severity=SEVERITY[s.severity])
            for s in finding.sources
        ],
        category=CATEGORY[finding.category],
        severity=SEVERITY[finding.severity],
        evidence=EVIDENCE[finding.evidence],
        title=finding.title,
        detail=finding.detail,
        recommendation=finding.recommendation,
        rationale=finding.rationale,
        medication_refs=finding.medication_refs,
        citations=[
            pb.Citation(source=c.source, reference=c.reference, url=c.url or "")
            for c in finding.citations
        ],
        explanation=pb.Explanation(
            matched=[
                pb.MatchedMedication(
                    ref=m.ref,
                    code=m.code,
                    concept_code=m.concept_code,
                    concept_name=m.concept_name,
                    level=m.level,
                    group=m.group,
                    via=m.via,
                    formulary_status=m.formulary_status,
                )
                for m in finding.matched
            ],
            conditions=finding.conditions,
        ),
        suggestions=[
            pb.Suggestion(code=s.code, name=s.name, reason=s.reason) for s in finding.suggestions
        ],
        involves_proposed=finding.involves_proposed,
    )


def _not_evaluated_to_proto(item: NotEvaluated) -> pb.RuleNotEvaluated:
    return pb.RuleNotEvaluated(
        rule_id=item.rule_id,
        title=item.title,
        missing=item.missing,
        medication_refs=item.medication_refs,
        questions=[question(m) for m in item.missing],
    )


def todays_response(result: CheckResult) -> pb.CheckMedicationsResponse:
    """The wire answer for one check, as 1a94244 wrote it."""
    return pb.CheckMedicationsResponse(
        request_id=result.request_id,
        check_status=pb.CHECK_STATUS_COMPLETE if result.complete else pb.CHECK_STATUS_INCOMPLETE,
        unresolved_codes=[
            pb.UnresolvedCode(
                ref=u.entry.ref,
                code=u.entry.code,
                reason=UNRESOLVED[u.reason],
                message=u.message,
                display=u.entry.display,
            )
            for u in result.unresolved
        ],
        rule_set=identity_to_proto(result.identity),
        findings=[finding_to_proto(f) for f in result.findings],
        rules_not_evaluated=[_not_evaluated_to_proto(n) for n in result.not_evaluated],
        superseded_codes=[
            pb.SupersededCode(
                ref=ref,
                code=s.previous_code,
                current_code=s.current_code,
                changed_on=s.changed_on or "",
            )
            for ref, s in result.superseded
        ],
    )
