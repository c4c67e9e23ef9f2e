"""Run committee cases (or any requests) through the columnar evaluator too, and say where it
disagrees.

All cases become one population per as-of date (each case one patient), so the whole suite is
a few columnar evaluations. A case passes when both evaluators give the same findings (rule,
medicines, severity, detail, recommendation) and the same rules not evaluated (and why).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.committee.cases import LocatedCase
from medsopt.engine.clauses.base import Lookups, Population
from medsopt.engine.clauses.biosimilar import lookup_table
from medsopt.engine.columnar import evaluate
from medsopt.engine.findings import CheckResult
from medsopt.engine.population import (
    CONDITIONS_SCHEMA,
    EXCEPTIONS_SCHEMA,
    FACTS_SCHEMA,
    MEDS_SCHEMA,
    RESULTS_SCHEMA,
    build_population,
)
from medsopt.engine.request import CheckRequest, MedicationStatus
from medsopt.engine.resolve import resolve_medications
from medsopt.rules.ruleset import RuleSet

Answer = tuple[frozenset[tuple[object, ...]], frozenset[tuple[object, ...]]]


def point_of_care_answer(result: CheckResult) -> Answer:
    """What both evaluators must agree on, from a point-of-care result."""
    return (
        frozenset(
            (
                f.rule_id,
                f.medication_refs,
                f.severity,
                f.title,
                f.detail,
                f.recommendation,
                tuple(s.rule_id for s in f.sources),
            )
            for f in result.findings
        ),
        frozenset((n.rule_id, n.medication_refs, n.missing) for n in result.not_evaluated),
    )


def columnar_answers(
    cases: Sequence[LocatedCase], ruleset: RuleSet, lookups: Lookups
) -> dict[int, Answer]:
    """Each case's answer (by index in `cases`) from the columnar evaluator."""
    return columnar_answers_for([c.request() for c in cases], ruleset, lookups)


def columnar_answers_for(
    requests: Sequence[CheckRequest], ruleset: RuleSet, lookups: Lookups
) -> dict[int, Answer]:
    """Each request's answer (by index) from the columnar evaluator, as one population per
    as-of date (each request one patient)."""
    by_date: dict[datetime.date | None, list[int]] = {}
    for index, request in enumerate(requests):
        by_date.setdefault(request.as_of, []).append(index)
    answers: dict[int, Answer] = {i: (frozenset(), frozenset()) for i in range(len(requests))}
    rules = tuple(compiled.ir for _, compiled in sorted(ruleset.rules.items()))
    for as_of, indexes in by_date.items():
        dated = dataclasses.replace(lookups, biosimilar=lookup_table(ruleset, as_of))
        population = _population([requests[i] for i in indexes], indexes, ruleset, dated, as_of)
        evaluated = evaluate(population, rules, dated)
        found: dict[int, set[tuple[object, ...]]] = {}
        columns = ("rule_id", "refs", "severity", "title", "detail", "recommendation", "sources")
        for pid, *row in evaluated.findings.select("patient_id", *columns).iter_rows():
            rule_id, refs, severity, title, detail, advice, sources = row
            found.setdefault(int(pid), set()).add(
                (rule_id, tuple(refs), severity, title, detail, advice, tuple(sources))
            )
        waiting: dict[int, set[tuple[object, ...]]] = {}
        for pid, rule_id, refs, missing in evaluated.not_evaluated.select(
            "patient_id", "rule_id", "refs", "missing"
        ).iter_rows():
            waiting.setdefault(int(pid), set()).add((rule_id, tuple(refs), tuple(missing)))
        for index in indexes:
            answers[index] = (
                frozenset(found.get(index, ())),
                frozenset(waiting.get(index, ())),
            )
    return answers


def _population(
    requests: Sequence[CheckRequest],
    indexes: Sequence[int],
    ruleset: RuleSet,
    lookups: Lookups,
    as_of: datetime.date | None,
) -> Population:
    """The requests as one population (patient id = the request's index)."""
    meds, facts, conditions, exceptions, unresolved, results = [], [], [], [], [], []
    for index, request in zip(indexes, requests, strict=True):
        pid = str(index)
        resolution = resolve_medications(request, ruleset)
        for medication in resolution.resolved:
            concept = medication.resolved.concept
            entry = medication.entry
            meds.append(
                {
                    "patient_id": pid,
                    "ref": entry.ref,
                    "code": entry.code,
                    "concept_code": concept.code,
                    "molecule": medication.molecule,
                    "name": concept.name,
                    "start_date": datetime.date.fromisoformat(entry.start_date)
                    if entry.start_date
                    else None,
                    "proposed": entry.status is MedicationStatus.PROPOSED,
                }
            )
        if resolution.unresolved:
            unresolved.append({"patient_id": pid})
        patient = request.patient
        facts.append(
            {
                "patient_id": pid,
                "age": patient.age_years,
                "sex": patient.sex.value,
                "egfr": patient.egfr,
                "pregnant": patient.pregnant,
                "monitoring_from": datetime.date.fromisoformat(patient.monitoring_from)
                if patient.monitoring_from
                else None,
            }
        )
        results += [
            {"patient_id": pid, "code": r.code, "date": datetime.date.fromisoformat(r.date)}
            for r in patient.monitoring
        ]
        conditions += [{"patient_id": pid, "condition_code": c} for c in patient.condition_codes]
        exceptions += [
            {
                "patient_id": pid,
                "molecule_code": x.molecule_code,
                "kind": x.kind.value,
                "expires_on": x.expires_on,
            }
            for x in patient.biologic_exceptions
        ]
    return build_population(
        pl.DataFrame(meds, schema=MEDS_SCHEMA),
        lookups,
        as_of,
        facts=pl.DataFrame(facts, schema=FACTS_SCHEMA),
        condition_codes=pl.DataFrame(conditions, schema=CONDITIONS_SCHEMA),
        unresolved=pl.DataFrame(unresolved, schema={"patient_id": pl.String}),
        exceptions=pl.DataFrame(exceptions, schema=EXCEPTIONS_SCHEMA),
        ruleset=ruleset,
        results=pl.DataFrame(results, schema=RESULTS_SCHEMA),
    )
