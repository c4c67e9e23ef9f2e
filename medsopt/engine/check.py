"""check(): resolve a request's codes, evaluate the candidate rules, consolidate the answer."""

from __future__ import annotations

from medsopt.dmd.concepts import Resolved, Supersession
from medsopt.engine.biosimilar_checks import biosimilar_findings
from medsopt.engine.evaluate import candidate_rules, evaluate_rule, group_hits
from medsopt.engine.findings import (
    CheckResult,
    Finding,
    NotEvaluated,
    ResolvedMedication,
    UnresolvedMedication,
)
from medsopt.engine.formulary_checks import formulary_findings, status_text
from medsopt.engine.request import CheckRequest
from medsopt.rules.ruleset import RuleSet


def check(request: CheckRequest, ruleset: RuleSet) -> CheckResult:
    """Findings for one validated request (see `validate_request`) against one rule set."""
    resolved: list[ResolvedMedication] = []
    unresolved: list[UnresolvedMedication] = []
    superseded: list[tuple[str, Supersession]] = []
    for entry in request.medications:
        outcome = ruleset.dmd.resolve(entry.code)
        if isinstance(outcome, Resolved):
            groups = ruleset.groups_of(outcome.concept.code)
            status = (
                status_text(ruleset.formulary.entry_for(outcome.lineage))
                if ruleset.formulary is not None
                else ""
            )
            resolved.append(ResolvedMedication(entry, outcome, groups, status))
            if outcome.superseded is not None:
                superseded.append((entry.ref, outcome.superseded))
        else:
            unresolved.append(UnresolvedMedication(entry, outcome.reason, outcome.message))

    hits = group_hits(resolved)
    findings: list[Finding] = []
    not_evaluated: list[NotEvaluated] = []
    for compiled in candidate_rules(hits, ruleset, request.patient.condition_codes):
        outcome_ = evaluate_rule(compiled, hits, request, resolved, ruleset)
        if isinstance(outcome_, Finding):
            findings.append(outcome_)
        elif isinstance(outcome_, NotEvaluated):
            not_evaluated.append(outcome_)
    if ruleset.formulary is not None:
        findings.extend(formulary_findings(resolved, ruleset.formulary))
    if ruleset.biosimilars is not None:
        findings.extend(
            biosimilar_findings(resolved, request, ruleset.biosimilars, ruleset.formulary)
        )
    return CheckResult(
        request_id=request.request_id,
        identity=ruleset.identity,
        resolved=tuple(resolved),
        unresolved=tuple(unresolved),
        superseded=tuple(superseded),
        findings=tuple(sorted(_drop_superseded(findings, ruleset), key=lambda f: f.sort_key)),
        not_evaluated=tuple(sorted(not_evaluated, key=lambda n: n.rule_id)),
    )


def _drop_superseded(findings: list[Finding], ruleset: RuleSet) -> list[Finding]:
    """Drop a finding when a more specific rule that supersedes it fired on the same medicines."""
    by_rule = {f.rule_id: f for f in findings}
    dropped: set[str] = set()
    for finding in findings:
        compiled = ruleset.rules.get(finding.rule_id)  # formulary findings have no rule entry
        for target in compiled.rule.supersedes if compiled else ():
            other = by_rule.get(target)
            if other is not None and set(other.medication_refs) <= set(finding.medication_refs):
                dropped.add(target)
    return [f for f in findings if f.rule_id not in dropped]
