"""The point-of-care evaluator: one request, its candidate rules, their clauses composed.

Candidates come from the rule set's indexes (a present medicine group or a recorded condition
triggers a rule), so a request does lookups, not a scan over every rule.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from medsopt.engine.cards import CardWriter, Fired, fired_or_missing
from medsopt.engine.clauses.base import GroupHits, Outcome, PatientView
from medsopt.engine.clauses.concerns import concern_cards
from medsopt.engine.clauses.registry import DISPATCH
from medsopt.engine.clauses.supersedes import drop_superseded
from medsopt.engine.findings import (
    SEVERITY_ORDER,
    CheckResult,
    NotEvaluated,
    ResolvedMedication,
)
from medsopt.engine.prepared import prepared
from medsopt.engine.request import CheckRequest, MedicationStatus
from medsopt.engine.resolve import resolve_medications
from medsopt.rules.ir import RuleIR
from medsopt.rules.ruleset import CompiledRule, Membership, RuleSet


def check(request: CheckRequest, ruleset: RuleSet, *, explain: bool = True) -> CheckResult:
    """Findings for one validated request (see `validate_request`) against one rule set.

    `explain=False` leaves out the long explanation (each finding's `matched`, `conditions` and
    `citations`): what a card does not show is never made.
    """
    tables = prepared(ruleset)
    resolution = resolve_medications(request, ruleset)
    view = PatientView(
        request=request,
        medications=resolution.resolved,
        hits=group_hits(resolution.resolved),
        has_unresolved=bool(resolution.unresolved),
        ruleset=ruleset,
    )
    fired: list[Fired] = []
    not_evaluated: list[NotEvaluated] = []
    for compiled in candidate_rules(view.hits, ruleset, request.patient.condition_codes):
        for result in evaluate_rule(compiled.ir, view):
            if isinstance(result, Fired):
                fired.append(result)
            else:
                not_evaluated.append(result)
    scoped = request.proposed_only or request.minimum_severity is not None
    if scoped:
        not_evaluated = _scoped_not_evaluated(request, ruleset, not_evaluated)
    writer = CardWriter.for_request(view, tables.via, explain)
    return CheckResult(
        request_id=request.request_id,
        identity=ruleset.identity,
        resolved=resolution.resolved,
        unresolved=resolution.unresolved,
        superseded=resolution.superseded,
        findings=tuple(
            writer.write(card, refs, proposed)
            for card, refs, proposed in _cards(fired, request, ruleset, scoped)
        ),
        not_evaluated=tuple(sorted(not_evaluated, key=_RULE_ID)),
        explained=explain,
    )


Card = tuple[list[Fired], tuple[str, ...], bool]  # its rules, its medicines, proposed involved


def _cards(fired: list[Fired], request: CheckRequest, ruleset: RuleSet, scoped: bool) -> list[Card]:
    """The cards the answer shows, in the order a prescriber reads them (what is being
    prescribed now first, then by severity): decided before any text is written, so a
    superseded, merged or out-of-scope finding is never built."""
    keyed: list[tuple[tuple[bool, int, str, tuple[str, ...]], Card]] = []
    for card in concern_cards(drop_superseded(fired, ruleset.rules)):
        primary = card[0]
        proposed = any(f.involves_proposed for f in card)
        if scoped and not _in_scope(request, primary.severity, proposed):
            continue
        refs = (
            primary.medication_refs
            if len(card) == 1
            else tuple(sorted({r for f in card for r in f.medication_refs}))
        )
        key = (not proposed, SEVERITY_ORDER[primary.severity], primary.rule_id, refs)
        keyed.append((key, (card, refs, proposed)))
    keyed.sort(key=_KEY)  # stable, and never compares the cards themselves
    return [card for _, card in keyed]


_KEY = operator.itemgetter(0)
_RULE_ID = operator.attrgetter("rule_id")


def _scoped_not_evaluated(
    request: CheckRequest, ruleset: RuleSet, not_evaluated: list[NotEvaluated]
) -> list[NotEvaluated]:
    """Only the rules not evaluated that the request asked about (the prescribing moment, a
    minimum severity)."""
    proposed = {m.ref for m in request.medications if m.status is MedicationStatus.PROPOSED}
    return [
        n
        for n in not_evaluated
        if _in_scope(
            request,
            ruleset.rules[n.rule_id].ir.severity,
            any(r in proposed for r in n.medication_refs),
        )
    ]


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


def evaluate_rule(rule: RuleIR, view: PatientView) -> list[Fired | NotEvaluated]:
    """The rule fired (once, or once per medicine), lacked data, or did not hold."""
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
        return [fired_or_missing(rule, outcomes)]
    return [fired_or_missing(rule, [*outcomes, outcome]) for _, outcome in each]
