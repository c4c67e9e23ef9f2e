"""Evaluate the candidate rules for one resolved patient."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence

from medsopt.engine.findings import (
    Finding,
    MatchedMedication,
    NotEvaluated,
    ResolvedMedication,
)
from medsopt.engine.formulary_checks import status_text
from medsopt.engine.request import CheckRequest, MedicationStatus, PatientContext, Sex
from medsopt.rules.models import Duration, MedicineCount, PatientCriteria
from medsopt.rules.ruleset import CompiledRule, Membership, RuleSet, ScaleTable

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
        involved.extend(_as_hits(m for group in counted.values() for m in group))
        extra["count"] = str(len(counted))
        facts.append(f"{len(counted)} distinct molecules >= {match.count.at_least}")
    if match.score is not None:
        table = ruleset.scales[match.score.scale]
        total, contributors = scale_total(table, medications)
        if total < match.score.at_least:
            return None
        involved.extend(_as_hits(m for m, _, _ in contributors))
        extra["total"] = str(total)
        extra["contributors"] = ", ".join(f"{name} {score}" for _, name, score in contributors)
        facts.append(f"{table.title} total {total} >= {match.score.at_least}")
    if match.duration is not None:
        outcome = _duration(match.duration, hits, request.as_of)
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
    if match.patient is not None:
        applies, patient_missing, patient_facts = _patient_criteria(match.patient, patient, ruleset)
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


def counted_molecules(
    count: MedicineCount, medications: Sequence[ResolvedMedication], hits: GroupHits
) -> dict[str, list[ResolvedMedication]]:
    """Distinct molecules (in the count's group, minus excluded groups) and their medicines."""
    if count.group is not None:
        pool = [m for m, _ in hits.get(count.group, ())]
    else:
        pool = list(medications)
    excluded = {m.entry.ref for g in count.exclude_groups for m, _ in hits.get(g, ())}
    molecules: dict[str, list[ResolvedMedication]] = {}
    for medication in pool:
        if medication.entry.ref not in excluded:
            molecules.setdefault(medication.molecule, []).append(medication)
    return molecules


def scale_total(
    table: ScaleTable, medications: Sequence[ResolvedMedication]
) -> tuple[int, list[tuple[ResolvedMedication, str, int]]]:
    """Sum of per-molecule scores (each molecule counted once), and the scoring medicines."""
    best: dict[str, tuple[ResolvedMedication, str, int]] = {}
    for medication in medications:
        for concept in medication.resolved.lineage:
            entry = table.scores.get(concept.code)
            if entry is None:
                continue
            score, name = entry
            current = best.get(medication.molecule)
            if current is None or score > current[2]:
                best[medication.molecule] = (medication, name, score)
            break
    contributors = sorted(
        (item for item in best.values() if item[2] > 0), key=lambda item: (-item[2], item[1])
    )
    return sum(score for _, _, score in contributors), contributors


def _duration(
    duration: Duration, hits: GroupHits, as_of: datetime.date | None
) -> tuple[list[tuple[ResolvedMedication, Membership]], list[str], list[str]] | None:
    """(medicines taken long enough, missing data, facts), or None when none qualifies."""
    present = hits.get(duration.group, ())
    long_enough: list[tuple[ResolvedMedication, Membership]] = []
    undated = False
    for medication, membership in present:
        start = medication.entry.start_date
        if start is None or as_of is None:
            undated = True
            continue
        days = (as_of - datetime.date.fromisoformat(start)).days
        if days >= duration.at_least_days:
            long_enough.append((medication, membership))
    if long_enough:
        days_text = f"taken for at least {duration.at_least_days} days"
        return long_enough, [], [f"{duration.group} {days_text}"]
    if undated:
        need = "as_of date" if as_of is None else "start_date"
        return [(m, ms) for m, ms in present], [need], []
    return None


def _as_hits(
    medications: Iterable[ResolvedMedication],
) -> list[tuple[ResolvedMedication, Membership]]:
    """Medicines counted by a count or scale clause, labelled for the explanation."""
    return [(m, Membership("(counted)", m.resolved.concept.code)) for m in medications]


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
