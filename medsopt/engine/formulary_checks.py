"""Formulary findings: non-formulary, hospital-only and specialist-initiation products, and a
second-line choice without the class's first line, each with preferred alternatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from medsopt.engine.findings import Finding, ResolvedMedication, Suggestion
from medsopt.engine.request import MedicationStatus
from medsopt.formulary.formulary import Formulary
from medsopt.formulary.models import Product
from medsopt.rules.models import Citation


@dataclass(frozen=True, slots=True)
class FormularyRule:
    """The fixed wording of one kind of formulary finding."""

    rule_id: str
    title: str
    severity: str
    recommendation: str


NON_FORMULARY = FormularyRule(
    "FORMULARY-NON-FORMULARY",
    "Non-formulary product",
    "mild",
    "Prescribe a formulary alternative unless there is a documented reason not to.",
)
HOSPITAL_ONLY = FormularyRule(
    "FORMULARY-HOSPITAL-ONLY",
    "Hospital-only (red) medicine prescribed",
    "moderate",
    "Red medicines are prescribed and supplied by the specialist service; do not prescribe in "
    "primary care. Record the hospital supply on the medication list instead.",
)
SPECIALIST_INITIATION = FormularyRule(
    "FORMULARY-SPECIALIST-INITIATION",
    "Specialist initiation (amber) medicine proposed",
    "info",
    "Start only on specialist advice or after specialist initiation, as the formulary requires.",
)
SECOND_LINE = FormularyRule(
    "FORMULARY-SECOND-LINE",
    "Second-line choice without the first-line option",
    "info",
    "Consider the formulary's first-line choice first, or record why it is unsuitable.",
)
FORMULARY_RULES = (NON_FORMULARY, HOSPITAL_ONLY, SPECIALIST_INITIATION, SECOND_LINE)


def status_text(entry: Product | None) -> str:
    """How an entry reads in an explanation, e.g. 'formulary (first line)'."""
    if entry is None:
        return "not listed in the local formulary"
    line = f" ({entry.line} line)" if entry.line else ""
    return f"{entry.status}{line}"


def formulary_findings(
    medications: Sequence[ResolvedMedication], formulary: Formulary
) -> list[Finding]:
    """Findings for each medicine's formulary position, and for second-line choices."""
    findings: list[Finding] = []
    first_line_classes = {
        entry.therapeutic_class
        for medication in medications
        if (entry := formulary.entry_for(medication.resolved.lineage)) is not None
        and entry.line == "first"
    }
    for medication in medications:
        entry = formulary.entry_for(medication.resolved.lineage)
        if entry is None:
            continue
        proposed = medication.entry.status is MedicationStatus.PROPOSED
        kind: FormularyRule | None = None
        suggestions = tuple(Suggestion(a.code, a.name, a.reason) for a in entry.alternatives)
        if entry.status == "non-formulary":
            kind = NON_FORMULARY
        elif entry.status == "hospital-only":
            kind = HOSPITAL_ONLY
        elif entry.status == "specialist-initiation" and proposed:
            kind = SPECIALIST_INITIATION
        elif (
            entry.line in ("second", "third")
            and entry.therapeutic_class is not None
            and entry.therapeutic_class not in first_line_classes
        ):
            kind = SECOND_LINE
            preferred = formulary.classes[entry.therapeutic_class].preferred_order
            suggestions = suggestions or tuple(
                Suggestion(p.code, p.name, f"first choice in the formulary's {p.name} class")
                for p in preferred[:1]
            )
        if kind is not None:
            findings.append(_finding(kind, medication, entry, suggestions, formulary))
    return findings


def _finding(
    kind: FormularyRule,
    medication: ResolvedMedication,
    entry: Product,
    suggestions: tuple[Suggestion, ...],
    formulary: Formulary,
) -> Finding:
    concept = medication.resolved.concept
    restrictions = f" Restrictions: {entry.restrictions}" if entry.restrictions else ""
    listed = f"{entry.name} ({entry.code})"
    return Finding(
        rule_id=kind.rule_id,
        category="formulary",
        severity=kind.severity,
        evidence="guideline",
        title=kind.title,
        detail=f"{concept.name} is {status_text(entry)} in {formulary.version}.{restrictions}",
        recommendation=kind.recommendation,
        rationale=f"Local formulary position for {listed}.",
        citations=(
            Citation(
                source=formulary.header.name,
                reference=f"version {formulary.header.version}, entry {listed}",
            ),
        ),
        medication_refs=(medication.entry.ref,),
        matched=(
            medication.matched(
                group=f"formulary:{entry.status}",
                via=f"{concept.level.label} {concept.code} -> formulary entry {listed}",
                formulary_status=status_text(entry),
            ),
        ),
        conditions=(),
        involves_proposed=medication.entry.status is MedicationStatus.PROPOSED,
        suggestions=suggestions,
    )
