"""Evaluators for the match clauses: medicine count, scale total, duration, patient facts."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence

from medsopt.engine.findings import ResolvedMedication
from medsopt.engine.request import PatientContext, Sex
from medsopt.rules.models import Duration, MedicineCount, PatientCriteria
from medsopt.rules.ruleset import Membership, RuleSet, ScaleTable

GroupHits = Mapping[str, Sequence[tuple[ResolvedMedication, Membership]]]


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


def duration_clause(
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


def as_hits(
    medications: Iterable[ResolvedMedication],
) -> list[tuple[ResolvedMedication, Membership]]:
    """Medicines counted by a count or scale clause, labelled for the explanation."""
    return [(m, Membership("(counted)", m.resolved.concept.code)) for m in medications]


def patient_criteria(
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
