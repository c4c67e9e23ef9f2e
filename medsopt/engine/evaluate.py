"""Evaluate the candidate rules for one resolved patient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from medsopt.engine.clauses import (
    GroupHits,
    as_hits,
    counted_molecules,
    duration_clause,
    patient_criteria,
    scale_total,
)
from medsopt.engine.findings import (
    Finding,
    MatchedMedication,
    NotEvaluated,
    ResolvedMedication,
)
from medsopt.engine.request import CheckRequest, MedicationStatus, PatientContext
from medsopt.rules.ruleset import CompiledRule, Membership, RuleSet


def group_hits(
    medications: Iterable[ResolvedMedication],
) -> dict[str, list[tuple[ResolvedMedication, Membership]]]:
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


def evaluate_rule(
    compiled: CompiledRule,
    hits: GroupHits,
    request: CheckRequest,
    medications: Sequence[ResolvedMedication],
    ruleset: RuleSet,
) -> Finding | NotEvaluated | None:
    """A finding, a 'could not evaluate', or None when the rule does not apply."""
    rule = compiled.rule
    match = rule.match
    patient = request.patient
    involved: list[tuple[ResolvedMedication, Membership]] = []
    extra: dict[str, str] = {}
    missing: list[str] = []
    for group in match.all_of:
        present = hits.get(group)
        if not present:
            return None
        involved.extend(present)
    if match.duplicate is not None:
        present = hits.get(match.duplicate.group, ())
        if len({medication.molecule for medication, _ in present}) < match.duplicate.min_distinct:
            return None
        involved.extend(present)
    facts: list[str] = []
    if match.count is not None:
        counted = counted_molecules(match.count, medications, hits)
        if len(counted) < match.count.at_least:
            return None
        involved.extend(as_hits(m for group in counted.values() for m in group))
        extra["count"] = str(len(counted))
        facts.append(f"{len(counted)} distinct molecules >= {match.count.at_least}")
    if match.score is not None:
        table = ruleset.scales[match.score.scale]
        total, contributors, scoring = scale_total(table, medications)
        if total < match.score.at_least:
            return None
        involved.extend(as_hits(scoring))
        extra["total"] = str(total)
        extra["contributors"] = ", ".join(f"{name} {score}" for name, score in contributors)
        facts.append(f"{table.title} total {total} >= {match.score.at_least}")
    if match.duration is not None:
        outcome = duration_clause(match.duration, hits, request.as_of)
        if outcome is None:
            return None
        long_enough, duration_missing, duration_facts = outcome
        involved.extend(long_enough)
        missing.extend(duration_missing)
        facts.extend(duration_facts)
    for group in match.none_of:
        if hits.get(group):
            return None
        facts.append(f"no medicine in group {group}")
    refs = tuple(sorted({medication.entry.ref for medication, _ in involved}))
    if match.none_of and len(medications) < len(request.medications):
        # "No Y" cannot be confirmed while a code is unresolved: it may be the Y. Advising to
        # start Y (a laxative with an opioid, a PPI with an NSAID) then risks duplicating it.
        missing.append("resolvable codes for every medicine")
    if match.patient is not None:
        applies, patient_missing, patient_facts = patient_criteria(match.patient, patient, ruleset)
        if not applies:
            return None
        missing.extend(patient_missing)
        facts.extend(patient_facts)
    if missing:
        return NotEvaluated(rule.id, rule.title, tuple(missing), refs)
    values = {**_placeholders(involved, patient), **extra}
    return Finding(
        rule_id=rule.id,
        category=rule.category,
        severity=rule.severity,
        evidence=rule.evidence,
        title=rule.title,
        detail=rule.detail.format_map(values),
        recommendation=rule.recommendation.format_map(values),
        rationale=rule.rationale,
        citations=rule.citations,
        medication_refs=refs,
        matched=tuple(
            sorted(
                {_explain(m, membership, ruleset) for m, membership in involved},
                key=lambda x: (x.ref, x.group),
            )
        ),
        conditions=tuple(facts),
        involves_proposed=any(m.entry.status is MedicationStatus.PROPOSED for m, _ in involved),
    )


def _placeholders(
    involved: Sequence[tuple[ResolvedMedication, Membership]], patient: PatientContext
) -> dict[str, str]:
    """Values for the placeholders a rule's text may use (see models.PLACEHOLDERS)."""
    names = sorted({m.resolved.concept.name for m, _ in involved})
    return {
        "medicines": " + ".join(names) if names else "these medicines",
        "age": "unknown age" if patient.age_years is None else f"{patient.age_years} years",
        "egfr": "unknown" if patient.egfr is None else f"{patient.egfr:g}",
        # Overwritten by count and score clauses; defaults keep any rule's text renderable.
        "count": str(len({m.molecule for m, _ in involved})),
        "total": "not scored",
        "contributors": "none",
    }


def _explain(
    medication: ResolvedMedication, membership: Membership, ruleset: RuleSet
) -> MatchedMedication:
    concept = medication.resolved.concept
    if membership.via == concept.code:
        via = f"{concept.level.label} {concept.code} listed in group {membership.group}"
    else:
        listed = ruleset.dmd.concept(membership.via)
        listed_level = listed.level.label if listed else "code"
        via = (
            f"{concept.level.label} {concept.code} -> {listed_level} {membership.via}"
            f"{f' ({listed.name})' if listed else ''} listed in group {membership.group}"
        )
    return medication.matched(membership.group, via, medication.formulary_status)
