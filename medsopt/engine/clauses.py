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
) -> tuple[int, list[tuple[str, int]], list[ResolvedMedication]]:
    """Total of per-molecule scores, each molecule once at its highest score.

    Returns the total, the (name, score) of each scoring molecule (highest first, then by name)
    and every medicine of those molecules, so neither order nor extra packs change the answer.
    """
    scored: dict[str, list[tuple[int, str, ResolvedMedication]]] = {}
    for medication in medications:
        for concept in medication.resolved.lineage:
            entry = table.scores.get(concept.code)
            if entry is not None:
                score, name = entry
                scored.setdefault(medication.molecule, []).append((score, name, medication))
                break
    contributors: list[tuple[str, int]] = []
    involved: list[ResolvedMedication] = []
    for entries in scored.values():
        score = max(e[0] for e in entries)
        if score <= 0:
            continue
        name = min(e[1] for e in entries if e[0] == score)
        contributors.append((name, score))
        involved.extend(e[2] for e in entries)
    contributors.sort(key=lambda item: (-item[1], item[0]))
    return sum(score for _, score in contributors), contributors, involved


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
    for group in criteria.conditions_all:
        present = sorted(recorded & ruleset.groups[group].codes)
        if not present:
            return False, (), ()
        facts.append(f"condition {group} recorded ({', '.join(present)})")
    if criteria.conditions_any:
        found = {
            group: sorted(recorded & ruleset.groups[group].codes)
            for group in criteria.conditions_any
        }
        if not any(found.values()):
            return False, (), ()
        facts.extend(
            f"condition {group} recorded ({', '.join(codes)})"
            for group, codes in found.items()
            if codes
        )
    for group in criteria.conditions_none:
        if recorded & ruleset.groups[group].codes:
            return False, (), ()
        facts.append(f"no condition {group} recorded")
    return True, tuple(missing), tuple(facts)
