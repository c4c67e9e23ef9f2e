"""The point-of-care evaluator: one request, its candidate rules, their clauses composed.

Candidates come from the rule set's indexes (a present medicine group or a recorded condition
triggers a rule), so a request does lookups, not a scan over every rule.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

from medsopt.engine.clauses.base import GroupHits, Outcome, PatientView
from medsopt.engine.clauses.concerns import merge_concerns
from medsopt.engine.clauses.registry import DISPATCH
from medsopt.engine.clauses.supersedes import drop_superseded
from medsopt.engine.findings import (
    SEVERITY_ORDER,
    CheckResult,
    Finding,
    FindingSource,
    MatchedMedication,
    NotEvaluated,
    ResolvedMedication,
    Suggestion,
)
from medsopt.engine.request import CheckRequest, MedicationStatus
from medsopt.engine.resolve import resolve_medications
from medsopt.engine.text import age_text, egfr_text, medicines_text, render
from medsopt.rules.ir import RuleIR
from medsopt.rules.ruleset import CompiledRule, Membership, RuleSet


def check(request: CheckRequest, ruleset: RuleSet) -> CheckResult:
    """Findings for one validated request (see `validate_request`) against one rule set."""
    resolution = resolve_medications(request, ruleset)
    view = PatientView(
        request=request,
        medications=resolution.resolved,
        hits=group_hits(resolution.resolved),
        has_unresolved=bool(resolution.unresolved),
        ruleset=ruleset,
    )
    findings: list[Finding] = []
    not_evaluated: list[NotEvaluated] = []
    for compiled in candidate_rules(view.hits, ruleset, request.patient.condition_codes):
        for result in evaluate_rule(compiled.ir, view):
            if isinstance(result, Finding):
                findings.append(result)
            else:
                not_evaluated.append(result)
    kept = merge_concerns(drop_superseded(findings, ruleset.rules), ruleset.concerns)
    if request.proposed_only or request.minimum_severity is not None:
        kept, not_evaluated = _scoped(request, ruleset, kept, not_evaluated)
    return CheckResult(
        request_id=request.request_id,
        identity=ruleset.identity,
        resolved=resolution.resolved,
        unresolved=resolution.unresolved,
        superseded=resolution.superseded,
        # The order a prescriber reads: what is being prescribed now first, then by severity.
        findings=tuple(sorted(kept, key=lambda f: (not f.involves_proposed, *f.sort_key))),
        not_evaluated=tuple(sorted(not_evaluated, key=lambda n: n.rule_id)),
    )


def _scoped(
    request: CheckRequest,
    ruleset: RuleSet,
    findings: list[Finding],
    not_evaluated: list[NotEvaluated],
) -> tuple[list[Finding], list[NotEvaluated]]:
    """Only what the request asked for: the prescribing moment, a minimum severity."""
    proposed = {m.ref for m in request.medications if m.status is MedicationStatus.PROPOSED}
    return (
        [f for f in findings if _in_scope(request, f.severity, f.involves_proposed)],
        [
            n
            for n in not_evaluated
            if _in_scope(
                request,
                ruleset.rules[n.rule_id].ir.severity,
                any(r in proposed for r in n.medication_refs),
            )
        ],
    )


def _in_scope(request: CheckRequest, severity: str, involves_proposed: bool) -> bool:
    """Within what the request asked for (the prescribing moment, a minimum severity)."""
    if request.proposed_only and not involves_proposed:
        return False
    minimum = request.minimum_severity
    return minimum is None or SEVERITY_ORDER[severity] <= SEVERITY_ORDER[minimum]


def group_hits(medications: Iterable[ResolvedMedication]) -> GroupHits:
    """Medicine group -> the medicines in it (and why), built once per request."""
    hits: dict[str, list[tuple[ResolvedMedication, Membership]]] = {}
    for medication in medications:
        for membership in medication.groups:
            hits.setdefault(membership.group, []).append((medication, membership))
    return hits


def candidate_rules(
    hits: GroupHits, ruleset: RuleSet, condition_codes: Iterable[str]
) -> list[CompiledRule]:
    """Rules that could fire: those triggered by a present group or a recorded condition."""
    ids: set[str] = set(ruleset.untriggered)
    for group in hits:
        ids.update(ruleset.triggers.get(group, ()))
    for code in condition_codes:
        ids.update(ruleset.condition_triggers.get(code, ()))
    return [ruleset.rules[rule_id] for rule_id in sorted(ids)]


def evaluate_rule(rule: RuleIR, view: PatientView) -> list[Finding | NotEvaluated]:
    """The rule's findings (one, or one per medicine), not-evaluated notes, or nothing."""
    outcomes: list[Outcome] = []
    each: tuple[tuple[str, Outcome], ...] | None = None
    for clause in rule.clauses:
        per_medicine, check_clause = DISPATCH[type(clause)]
        if per_medicine:
            each = check_clause(clause, view)  # type: ignore[assignment]
            if not each:
                return []
            continue
        outcome = check_clause(clause, view)
        if outcome is None:
            return []
        outcomes.append(outcome)  # type: ignore[arg-type]
    if each is None:
        return [_result(rule, outcomes, view)]
    return [_result(rule, [*outcomes, outcome], view) for _, outcome in each]


def _result(rule: RuleIR, outcomes: Sequence[Outcome], view: PatientView) -> Finding | NotEvaluated:
    """All clauses held (or lacked data): a finding, or what is missing to decide."""
    missing = tuple(m for outcome in outcomes for m in outcome.missing)
    if missing:
        refs = {m.entry.ref for outcome in outcomes for m, _ in outcome.involved}
        return NotEvaluated(rule.id, rule.title, missing, tuple(sorted(refs)))
    # One pass over the clauses' outcomes: this runs for every finding of every request.
    names: set[str] = set()
    molecules: set[str] = set()
    ref_set: set[str] = set()
    proposed = False
    explained: set[MatchedMedication] = set()
    facts: list[str] = []
    citations = rule.citations
    severity = rule.severity
    suggestions: tuple[Suggestion, ...] = ()
    extra: dict[str, str] = {}
    for outcome in outcomes:
        for medication, membership in outcome.involved:
            names.add(medication.resolved.concept.name)
            molecules.add(medication.molecule)
            ref_set.add(medication.entry.ref)
            proposed = proposed or medication.entry.status is MedicationStatus.PROPOSED
            if not outcome.matched:
                explained.add(_explain(medication, membership, view))
        if outcome.matched:
            explained.update(outcome.matched)
        if outcome.values:
            extra.update(outcome.values)
        if outcome.facts:
            facts.extend(outcome.facts)
        if outcome.citations:
            citations += tuple(c for c in outcome.citations if c not in citations)
        if outcome.suggestions:
            suggestions += outcome.suggestions
        severity = outcome.severity or severity
    patient = view.patient
    values = {
        "medicines": medicines_text(names),
        "age": age_text(patient.age_years),
        "egfr": egfr_text(patient.egfr),
        # Overwritten by count and score clauses; defaults keep any rule's text renderable.
        "count": str(len(molecules)),
        "total": "not scored",
        "contributors": "none",
        **extra,
    }
    return Finding(
        rule_id=rule.id,
        category=rule.category,
        severity=severity,
        evidence=rule.evidence,
        title=rule.title,
        detail=render(rule.detail, values),
        recommendation=render(rule.recommendation, values),
        rationale=rule.rationale,
        citations=citations,
        medication_refs=tuple(sorted(ref_set)),
        matched=tuple(sorted(explained, key=_BY_REF_AND_GROUP)),
        conditions=tuple(facts),
        involves_proposed=proposed,
        suggestions=suggestions,
        concern=rule.concern or "",
        sources=(FindingSource(rule.id, rule.title, severity),),
    )


_BY_REF_AND_GROUP = operator.attrgetter("ref", "group")


def _explain(
    medication: ResolvedMedication, membership: Membership, view: PatientView
) -> MatchedMedication:
    key = (medication.entry.ref, membership.group, membership.via)
    known = view.explained.get(key)
    if known is not None:
        return known
    concept = medication.resolved.concept
    if membership.via == concept.code:
        via = f"{concept.level.label} {concept.code} listed in group {membership.group}"
    else:
        listed = view.ruleset.dmd.concept(membership.via)
        listed_level = listed.level.label if listed else "code"
        via = (
            f"{concept.level.label} {concept.code} -> {listed_level} {membership.via}"
            f"{f' ({listed.name})' if listed else ''} listed in group {membership.group}"
        )
    step = medication.matched(membership.group, via, medication.formulary_status)
    view.explained[key] = step
    return step
