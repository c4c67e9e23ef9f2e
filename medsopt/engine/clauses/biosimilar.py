"""biosimilar: a biologic's brand choice (one finding per medicine), at brand (AMP) level.

MHRA: biological medicines are prescribed by brand; a switch between brands is the prescriber's
decision with the patient, never a pharmacy substitution. The choice itself is
`medsopt.engine.biosimilar_choice`; this module turns it into clause outcomes, one patient at a
time or for a population. A population's choices depend on the code alone unless a patient has
biologic exceptions, a proposed biologic or (with coded licence exclusions) recorded conditions:
those few patients are decided one by one with the same function, every other row is a join.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import polars as pl

from medsopt.dmd.concepts import Level, Resolved
from medsopt.engine.biosimilar_choice import VALUE_NAMES, Choice, choose, context_for
from medsopt.engine.clauses.base import PATIENT_ID, Lookups, Outcome, PatientView, Population
from medsopt.engine.clauses.formulary import status_text
from medsopt.engine.findings import ResolvedMedication
from medsopt.engine.population import requests_for
from medsopt.engine.request import MedicationEntry
from medsopt.engine.resolve import resolve_medications
from medsopt.rules.ir import BiosimilarChoice
from medsopt.rules.models import Citation
from medsopt.rules.ruleset import Membership, RuleSet

LOOKUP_SCHEMA = {
    "concept_code": pl.String,
    "outcome": pl.String,
    "declined": pl.Boolean,
    **dict.fromkeys(VALUE_NAMES, pl.String),
}


def check_each(clause: BiosimilarChoice, view: PatientView) -> tuple[tuple[str, Outcome], ...]:
    """(ref, outcome) for every medicine whose brand choice is the clause's outcome."""
    return tuple(
        (medication.entry.ref, _outcome(clause, medication, choice, view.ruleset))
        for medication, choice in _choices(view)
        if choice.outcome == clause.outcome
    )


def _choices(view: PatientView) -> list[tuple[ResolvedMedication, Choice]]:
    """Each biologic's choice on this request, made once for the three biosimilar rules."""
    cached = view.shared.get("biosimilar")
    if cached is not None:
        return cached  # type: ignore[return-value]
    table = view.ruleset.biosimilars
    choices: list[tuple[ResolvedMedication, Choice]] = []
    # Most lists hold no biologic: then no context is built at all.
    biologics = [
        m
        for m in view.medications
        if table is not None
        and (
            table.molecule_of(code := m.resolved.concept.code) is not None
            or (m.resolved.concept.vtm or code) in table.molecules
        )
    ]
    if table is not None and biologics:
        patient = view.patient
        context = context_for(
            table,
            view.ruleset.formulary,
            view.request.as_of,
            patient.condition_codes,
            patient.biologic_exceptions,
            view.medications,
        )
        for medication in biologics:
            choice = choose(medication, context)
            if choice is not None:
                choices.append((medication, choice))
    view.shared["biosimilar"] = choices
    return choices


def _outcome(
    clause: BiosimilarChoice, medication: ResolvedMedication, choice: Choice, ruleset: RuleSet
) -> Outcome:
    concept = medication.resolved.concept
    molecule = choice.molecule
    product = ruleset.biosimilars.products.get(concept.code) if ruleset.biosimilars else None
    role = f"{product.role} brand {product.entry.brand}" if product else "generic prescription"
    citations = [
        Citation(source=c.source, reference=c.reference, url=c.url)
        for c in molecule.molecule.citations
    ]
    formulary = ruleset.formulary
    if formulary is not None and molecule.code in formulary.biosimilars:
        citations.append(
            Citation(
                source=formulary.header.name,
                reference=f"version {formulary.header.version}, preferred {molecule.name} brands",
            )
        )
    entry = medication.formulary_entry
    group = f"biosimilar:{molecule.name.lower().replace(' ', '-')}"
    return Outcome(
        involved=((medication, Membership(group, concept.code)),),
        facts=tuple(f for f in choice.facts if f),
        values=choice.values,
        matched=(
            medication.matched(
                group=group,
                via=f"{concept.level.label} {concept.code} -> {role} of {molecule.name} in the "
                f"biosimilar table ({molecule.file})",
                formulary_status=status_text(entry) if formulary else "",
            ),
        ),
        suggestions=choice.suggestions,
        citations=tuple(citations),
        severity=clause.declined_severity if choice.declined else None,
    )


def lookup_table(ruleset: RuleSet, as_of: datetime.date | None) -> pl.DataFrame:
    """For every biologic concept code, its choice (or null) for a patient with no exceptions,
    proposed biologics or recorded conditions, currently taking it."""
    table = ruleset.biosimilars
    if table is None:
        return pl.DataFrame(schema=LOOKUP_SCHEMA)
    codes = set(table.products) | set(table.generics) | set(table.molecules)
    for vtm in table.molecules:
        codes.update(
            child
            for child in ruleset.dmd.descendants(vtm)
            if (concept := ruleset.dmd.concept(child)) is not None and concept.level is Level.VMP
        )
    context = context_for(table, ruleset.formulary, as_of, (), (), ())
    rows = []
    for code in sorted(codes):
        resolved = ruleset.dmd.resolve(code)
        if not isinstance(resolved, Resolved) or resolved.concept.code != code:
            continue
        choice = choose(ResolvedMedication(MedicationEntry(code, code), resolved, ()), context)
        # Every biologic has a row (outcome null: nothing to say), so that a proposed one is
        # recognised as a biologic when deciding who is decided one by one.
        rows.append(
            {"concept_code": code, "outcome": None, "declined": False}
            if choice is None
            else {"concept_code": code, "outcome": choice.outcome, "declined": choice.declined}
            | dict(choice.values)
        )
    return pl.DataFrame(rows, schema=LOOKUP_SCHEMA)


def plan(
    clauses: Sequence[tuple[str, BiosimilarChoice]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule, medicine) for every medicine whose choice is a rule's outcome."""
    wanted = pl.DataFrame(
        [(rule_id, c.outcome, c.declined_severity) for rule_id, c in clauses],
        schema={
            "rule_id": population.rule_id_type,
            "outcome": pl.String,
            "declined_severity": pl.String,
        },
        orient="row",
    )
    if lookups.biosimilar.is_empty():  # no biosimilar table: no biologic to choose for
        return pl.LazyFrame(
            schema={
                PATIENT_ID: population.meds.schema[PATIENT_ID],
                "rule_id": population.rule_id_type,
                "subject": pl.String,
                "refs": pl.List(pl.String),
                "severity_override": pl.String,
                **dict.fromkeys(VALUE_NAMES, pl.String),
            }
        )
    special = _special_patients(population, lookups)
    plain = (
        population.meds.lazy()
        .select(PATIENT_ID, "ref", "concept_code")
        .join(special.lazy(), on=PATIENT_ID, how="anti")
        .join(lookups.biosimilar.lazy(), on="concept_code")
        .drop("concept_code")
    )
    decided = pl.concat([plain, _decide_one_by_one(special, population).lazy()], how="diagonal")
    return decided.join(wanted.lazy(), on="outcome").select(
        PATIENT_ID,
        "rule_id",
        pl.col("ref").alias("subject"),
        pl.concat_list("ref").alias("refs"),
        pl.when(pl.col("declined")).then(pl.col("declined_severity")).alias("severity_override"),
        *VALUE_NAMES,
    )


def _special_patients(population: Population, lookups: Lookups) -> pl.DataFrame:
    """Patients whose choices depend on more than the code (decided one by one)."""
    biologic = population.meds.join(lookups.biosimilar.select("concept_code"), on="concept_code")
    frames = [
        population.exceptions.select(PATIENT_ID),
        biologic.filter(pl.col("proposed")).select(PATIENT_ID),
    ]
    ruleset = population.ruleset
    table = ruleset.biosimilars if ruleset is not None else None
    coded = table is not None and any(
        exclusion.codes for p in table.products.values() for exclusion in p.not_licensed_for
    )
    if coded or (ruleset is None and lookups.coded_exclusions):
        frames.append(biologic.select(PATIENT_ID).join(population.condition_codes, on=PATIENT_ID))
    return pl.concat(frames).unique()


def _decide_one_by_one(special: pl.DataFrame, population: Population) -> pl.DataFrame:
    """The choices of the special patients, made by the one-patient check."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        PATIENT_ID: population.meds.schema[PATIENT_ID],
        "ref": pl.String,
        **LOOKUP_SCHEMA,
    }
    del schema["concept_code"]
    if special.is_empty():
        return pl.DataFrame(schema=schema)
    ruleset = population.ruleset
    if ruleset is None:
        raise ValueError(
            "biosimilar choices for patients with biologic exceptions, proposed biologics or "
            "licence-relevant conditions need the rule set (Population.ruleset)"
        )
    table = ruleset.biosimilars
    assert table is not None  # a lookup with rows needs the table
    rows = []
    for request in requests_for(population, special[PATIENT_ID].to_list()):
        medications = resolve_medications(request, ruleset).resolved
        patient = request.patient
        context = context_for(
            table,
            ruleset.formulary,
            request.as_of,
            patient.condition_codes,
            patient.biologic_exceptions,
            medications,
        )
        for medication in medications:
            choice = choose(medication, context)
            if choice is not None:
                rows.append(
                    {
                        PATIENT_ID: request.request_id,
                        "ref": medication.entry.ref,
                        "outcome": choice.outcome,
                        "declined": choice.declined,
                    }
                    | dict(choice.values)
                )
    return pl.DataFrame(rows, schema=schema)
