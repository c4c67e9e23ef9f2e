"""formulary: a medicine's local-formulary position (one finding per medicine).

Each medicine has at most one position, in this order: non-formulary, hospital-only,
specialist-initiation (a proposed medicine), second-line (a second- or third-line choice with no
first-line medicine of its therapeutic class on the list). The wording is committee data
(rules/formulary.yaml); this module decides the position and fills the entry's values.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from medsopt.dmd.concepts import Concept
from medsopt.engine.clauses.base import (
    PATIENT_ID,
    Lookups,
    Outcome,
    PatientView,
    Population,
)
from medsopt.engine.findings import ResolvedMedication, Suggestion
from medsopt.engine.prepared import prepared
from medsopt.engine.request import MedicationStatus
from medsopt.formulary.formulary import Formulary
from medsopt.formulary.models import Product
from medsopt.rules.ir import FormularyPosition
from medsopt.rules.models import Citation
from medsopt.rules.ruleset import Membership

NON_FORMULARY = "non-formulary"
HOSPITAL_ONLY = "hospital-only"
SPECIALIST_INITIATION = "specialist-initiation"
SECOND_LINE = "second-line"
LOOKUP_SCHEMA = {
    "concept_code": pl.String,
    "formulary_status": pl.String,
    "formulary_line": pl.String,
    "formulary_class": pl.String,
    "status_text": pl.String,
    "restrictions": pl.String,
    "formulary_version": pl.String,
}


def status_text(entry: Product | None) -> str:
    """How an entry reads in an explanation, e.g. 'formulary (first line)'."""
    if entry is None:
        return "not listed in the local formulary"
    line = f" ({entry.line} line)" if entry.line else ""
    return f"{entry.status}{line}"


def position(entry: Product, proposed: bool, first_line_classes: frozenset[str]) -> str | None:
    """The one formulary position of a medicine with this entry, or None."""
    if entry.status == NON_FORMULARY:
        return NON_FORMULARY
    if entry.status == HOSPITAL_ONLY:
        return HOSPITAL_ONLY
    if entry.status == SPECIALIST_INITIATION and proposed:
        return SPECIALIST_INITIATION
    if (
        entry.line in ("second", "third")
        and entry.therapeutic_class is not None
        and entry.therapeutic_class not in first_line_classes
    ):
        return SECOND_LINE
    return None


def check_each(clause: FormularyPosition, view: PatientView) -> tuple[tuple[str, Outcome], ...]:
    """(ref, outcome) for every medicine in this position."""
    formulary = view.ruleset.formulary
    if formulary is None:
        return ()
    pieces = prepared(view.ruleset).pieces
    return tuple(
        (medication.entry.ref, _outcome(clause, medication, entry, formulary, pieces))
        for medication, entry, where in _positions(view)
        if where == clause.position
    )


def _positions(view: PatientView) -> list[tuple[ResolvedMedication, Product, str]]:
    """Each listed medicine's position on this request, worked out once for the four rules."""
    cached = view.shared.get("formulary")
    if cached is not None:
        return cached  # type: ignore[return-value]
    listed = [(m, m.formulary_entry) for m in view.medications if m.formulary_entry is not None]
    first_line = frozenset(
        e.therapeutic_class
        for _, e in listed
        if e is not None and e.line == "first" and e.therapeutic_class is not None
    )
    placed = []
    for medication, entry in listed:
        assert entry is not None
        proposed = medication.entry.status is MedicationStatus.PROPOSED
        where = position(entry, proposed, first_line)
        if where is not None:
            placed.append((medication, entry, where))
    view.shared["formulary"] = placed
    return placed


@dataclass(frozen=True, slots=True)
class _Pieces:
    """What a formulary finding says about one concept, the same on every request."""

    membership: Membership
    via: str
    status: str
    values: Mapping[str, str]
    suggestions: tuple[Suggestion, ...]
    citations: tuple[Citation, ...]


def _outcome(
    clause: FormularyPosition,
    medication: ResolvedMedication,
    entry: Product,
    formulary: Formulary,
    pieces: dict[Hashable, object],
) -> Outcome:
    concept = medication.resolved.concept
    key = ("formulary", clause.position, concept.code)
    said = pieces.get(key)
    if not isinstance(said, _Pieces):
        said = pieces[key] = _pieces(clause, concept, entry, formulary)
    return Outcome(
        involved=((medication, said.membership),),
        matched=(medication.matched(said.membership.group, said.via, said.status),),
        values=said.values,
        suggestions=said.suggestions,
        citations=said.citations,
    )


def _pieces(
    clause: FormularyPosition, concept: Concept, entry: Product, formulary: Formulary
) -> _Pieces:
    listed = f"{entry.name} ({entry.code})"
    suggestions = tuple(Suggestion(a.code, a.name, a.reason) for a in entry.alternatives)
    if clause.position == SECOND_LINE and not suggestions:
        assert entry.therapeutic_class is not None
        preferred = formulary.classes[entry.therapeutic_class].preferred_order
        suggestions = tuple(
            Suggestion(p.code, p.name, f"first choice in the formulary's {p.name} class")
            for p in preferred[:1]
        )
    return _Pieces(
        membership=Membership(f"formulary:{entry.status}", concept.code),
        via=f"{concept.level.label} {concept.code} -> formulary entry {listed}",
        status=status_text(entry),
        values=entry_values(entry, formulary),
        suggestions=suggestions,
        citations=(
            Citation(
                source=formulary.header.name,
                reference=f"version {formulary.header.version}, entry {listed}",
            ),
        ),
    )


def entry_values(entry: Product, formulary: Formulary) -> dict[str, str]:
    """The placeholders a formulary rule's text may use."""
    return {
        "formulary_status": status_text(entry),
        "formulary_version": formulary.version,
        "restrictions": f" Restrictions: {entry.restrictions}" if entry.restrictions else "",
    }


def lookup_rows(formulary: Formulary, code: str, entry: Product) -> dict[str, str | None]:
    """One row of the columnar lookup (`LOOKUP_SCHEMA`) for a concept with this entry."""
    values = entry_values(entry, formulary)
    return {
        "concept_code": code,
        "formulary_status": entry.status,
        "formulary_line": entry.line,
        "formulary_class": entry.therapeutic_class,
        "status_text": values["formulary_status"],
        "restrictions": values["restrictions"],
        "formulary_version": values["formulary_version"],
    }


def plan(
    clauses: Sequence[tuple[str, FormularyPosition]], population: Population, lookups: Lookups
) -> pl.LazyFrame:
    """(patient, rule, medicine) for every medicine in a rule's position, with its values."""
    wanted = pl.DataFrame(
        [(rule_id, c.position) for rule_id, c in clauses],
        schema={"rule_id": population.rule_id_type, "position": pl.String},
        orient="row",
    ).lazy()
    placed = (
        population.meds.lazy()
        .select(PATIENT_ID, "ref", "concept_code", "proposed")
        .join(lookups.formulary.lazy(), on="concept_code")
    )
    status, line = pl.col("formulary_status"), pl.col("formulary_line")
    # The first three positions depend on the entry alone; second-line on the list too.
    where = (
        pl.when(status == NON_FORMULARY)
        .then(pl.lit(NON_FORMULARY))
        .when(status == HOSPITAL_ONLY)
        .then(pl.lit(HOSPITAL_ONLY))
        .when((status == SPECIALIST_INITIATION) & pl.col("proposed"))
        .then(pl.lit(SPECIALIST_INITIATION))
    )
    first_line = placed.filter(line == "first").select(PATIENT_ID, "formulary_class")
    placed = placed.with_columns(position=where)
    second_line = (
        placed.filter(
            pl.col("position").is_null()
            & line.is_in(["second", "third"])
            & pl.col("formulary_class").is_not_null()
        )
        .join(first_line, on=[PATIENT_ID, "formulary_class"], how="anti")
        .with_columns(position=pl.lit(SECOND_LINE))
    )
    return (
        pl.concat([placed.filter(pl.col("position").is_not_null()), second_line])
        .join(wanted, on="position")
        .select(
            PATIENT_ID,
            "rule_id",
            pl.col("ref").alias("subject"),
            pl.concat_list("ref").alias("refs"),
            pl.col("status_text").alias("formulary_status"),
            "formulary_version",
            "restrictions",
        )
    )
