"""Biosimilar findings for the batch scan, computed by the point-of-care engine once per code.

A biosimilar finding depends on the product, the formulary's preferred brands on the as-of
date and the patient's biologic exceptions and licensed-indication exclusions. Dispensing data
carry no exceptions and every dispensed medicine is current, so for a table without coded
exclusions the finding is a function of the code alone: evaluate each biologic code once with
`medsopt.engine` and join the answers to every patient, instead of re-implementing the switching
logic in columns.
"""

from __future__ import annotations

import datetime

import polars as pl

from medsopt.dmd.concepts import Level, Resolved
from medsopt.engine.biosimilar_checks import biosimilar_findings
from medsopt.engine.findings import ResolvedMedication
from medsopt.engine.request import CheckRequest, MedicationEntry
from medsopt.rules.ruleset import RuleSet

SCHEMA = {
    "concept_code": pl.String,
    "rule_id": pl.String,
    "category": pl.String,
    "severity": pl.String,
    "title": pl.String,
}


class ConditionDependentTableError(ValueError):
    """The table has coded licensed-indication exclusions, which depend on the patient."""


def biosimilar_outcomes(ruleset: RuleSet, as_of: datetime.date) -> pl.DataFrame:
    """For every biologic concept code, the biosimilar findings a patient on it receives."""
    table = ruleset.biosimilars
    if table is None:
        return pl.DataFrame(schema=SCHEMA)
    if any(
        p.not_licensed_for and any(e.codes for e in p.not_licensed_for)
        for p in table.products.values()
    ):
        raise ConditionDependentTableError(
            "the biosimilar table has coded indication exclusions; the batch scan cannot "
            "precompute findings per code"
        )
    codes = set(table.products) | set(table.generics) | set(table.molecules)
    for vtm in table.molecules:
        codes.update(
            child
            for child in ruleset.dmd.descendants(vtm)
            if (concept := ruleset.dmd.concept(child)) is not None and concept.level is Level.VMP
        )
    rows = set()
    for code in codes:
        resolved = ruleset.dmd.resolve(code)
        if not isinstance(resolved, Resolved):
            continue
        entry = MedicationEntry(code, code)
        medication = ResolvedMedication(entry, resolved, ())
        request = CheckRequest((entry,), as_of=as_of)
        for finding in biosimilar_findings([medication], request, table, ruleset.formulary):
            rows.add(
                (
                    resolved.concept.code,
                    finding.rule_id,
                    finding.category,
                    finding.severity,
                    finding.title,
                )
            )
    return pl.DataFrame(sorted(rows), schema=SCHEMA, orient="row")
