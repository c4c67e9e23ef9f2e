"""Evaluate the candidate rules for one resolved patient."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from medsopt.engine.findings import (
    Finding,
    MatchedMedication,
    NotEvaluated,
    ResolvedMedication,
)
from medsopt.engine.formulary_checks import status_text
from medsopt.engine.request import MedicationStatus, PatientContext, Sex
from medsopt.rules.models import PatientCriteria
from medsopt.rules.ruleset import CompiledRule, Membership, RuleSet

GroupHits = Mapping[str, Sequence[tuple[ResolvedMedication, Membership]]]


def group_hits(
    medications: Iterable[ResolvedMedication],
) -> dict[str, list[tuple[ResolvedMedication, Membership]]]:
    """Medicine group -> the medicines in it (and why), built once per request."""
    hits: dict[str, list[tuple[ResolvedMedication, Membership]]] = {}
    for medication in medications:
        for membership in medication.groups:
            hits.setdefault(membership.group, []).append((medication, membership))
    return hits


def candidate_rules(hits: GroupHits, ruleset: RuleSet) -> list[CompiledRule]:
    """Rules that could fire: those triggered by a present group, plus omission rules."""
    ids: set[str] = set(ruleset.untriggered)
    for group in hits:
        ids.update(ruleset.triggers.get(group, ()))
    return [ruleset.rules[rule_id] for rule_id in sorted(ids)]


def evaluate_rule(
    compiled: CompiledRule, hits: GroupHits, patient: PatientContext, ruleset: RuleSet
) -> Finding | NotEvaluated | None:
    """A finding, a 'could not evaluate', or None when the rule does not apply."""
    rule = compiled.rule
    match = rule.match
    involved: list[tuple[ResolvedMedication, Membership]] = []
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
    for group in match.none_of:
        if hits.get(group):
            return None
        facts.append(f"no medicine in group {group}")
    refs = tuple(sorted({medication.entry.ref for medication, _ in involved}))
    if match.patient is not None:
        applies, missing, patient_facts = _patient_criteria(match.patient, patient, ruleset)
        if not applies:
            return None
        if missing:
            return NotEvaluated(rule.id, rule.title, missing, refs)
        facts.extend(patient_facts)
    values = _placeholders(involved, patient)
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
    }


def _patient_criteria(
    criteria: PatientCriteria, patient: PatientContext, ruleset: RuleSet
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(applies, missing data, facts tested). A known fact that fails wins over missing data."""
    missing: list[str] = []
    facts: list[str] = []
    age = patient.age_years
    if criteria.age_at_least is not None or criteria.age_below is not None:
        if age is None:
            missing.append("age_years")
        else:
            if criteria.age_at_least is not None:
                if age < criteria.age_at_least:
                    return False, (), ()
                facts.append(f"age {age} >= {criteria.age_at_least}")
            if criteria.age_below is not None:
                if age >= criteria.age_below:
                    return False, (), ()
                facts.append(f"age {age} < {criteria.age_below}")
    egfr = patient.egfr
    if criteria.egfr_below is not None or criteria.egfr_at_least is not None:
        if egfr is None:
            missing.append("egfr")
        else:
            if criteria.egfr_below is not None:
                if egfr >= criteria.egfr_below:
                    return False, (), ()
                facts.append(f"eGFR {egfr:g} < {criteria.egfr_below:g}")
            if criteria.egfr_at_least is not None:
                if egfr < criteria.egfr_at_least:
                    return False, (), ()
                facts.append(f"eGFR {egfr:g} >= {criteria.egfr_at_least:g}")
    if criteria.sex is not None:
        if patient.sex is Sex.UNKNOWN:
            missing.append("sex")
        elif patient.sex.value != criteria.sex:
            return False, (), ()
        else:
            facts.append(f"sex {criteria.sex}")
    if criteria.pregnant is not None:
        if patient.pregnant is None:
            missing.append("pregnancy")
        elif patient.pregnant != criteria.pregnant:
            return False, (), ()
        else:
            facts.append("pregnant" if criteria.pregnant else "not pregnant")
    recorded = set(patient.condition_codes)
    for group in criteria.conditions_any:
        present = sorted(recorded & ruleset.groups[group].codes)
        if not present:
            return False, (), ()
        facts.append(f"condition {group} recorded ({', '.join(present)})")
    for group in criteria.conditions_none:
        if recorded & ruleset.groups[group].codes:
            return False, (), ()
        facts.append(f"no condition {group} recorded")
    return True, tuple(missing), tuple(facts)


def _explain(
    medication: ResolvedMedication, membership: Membership, ruleset: RuleSet
) -> MatchedMedication:
    concept = medication.resolved.concept
    if membership.via == concept.code:
        via = f"{concept.level.value} {concept.code} listed in group {membership.group}"
    else:
        listed = ruleset.dmd.concept(membership.via)
        listed_level = listed.level.value if listed else "code"
        via = (
            f"{concept.level.value} {concept.code} -> {listed_level} {membership.via}"
            f"{f' ({listed.name})' if listed else ''} listed in group {membership.group}"
        )
    formulary = ruleset.formulary
    return MatchedMedication(
        ref=medication.entry.ref,
        code=medication.entry.code,
        concept_code=concept.code,
        concept_name=concept.name,
        level=concept.level.value,
        group=membership.group,
        via=via,
        formulary_status=(
            status_text(formulary.entry_for(medication.resolved.lineage)) if formulary else ""
        ),
    )
