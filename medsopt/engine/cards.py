"""From rules that fired to the findings an answer shows.

A rule that fires is first recorded as `Fired`: what supersedes, concern merging, scoping and
ordering read (rule, medicines, severity). Text is written and explanations are made only for
the cards that are kept, once each, and the long explanation only when the check explains.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from medsopt.engine.clauses.base import Outcome, PatientView
from medsopt.engine.findings import (
    SEVERITY_ORDER,
    Finding,
    FindingSource,
    MatchedGroup,
    MatchedMedication,
    NotEvaluated,
    ResolvedMedication,
    Suggestion,
)
from medsopt.engine.request import MedicationStatus
from medsopt.engine.text import (
    NO_CONTRIBUTORS,
    NOT_SCORED,
    age_text,
    egfr_text,
    medicines_text,
    render_text,
)
from medsopt.rules.ir import RuleIR
from medsopt.rules.models import Citation, Concern
from medsopt.rules.ruleset import Membership

_PROPOSED = MedicationStatus.PROPOSED
_BY_REF_AND_GROUP = operator.attrgetter("ref", "group")


@dataclass(frozen=True, slots=True)
class Fired:
    """A rule whose clauses all held for this patient, before its finding is written."""

    rule: RuleIR
    outcomes: Sequence[Outcome]
    rule_id: str
    medication_refs: tuple[str, ...]  # sorted
    severity: str  # the rule's, or the one a clause set (a declined biosimilar switch)
    involves_proposed: bool
    concern: str

    @property
    def sort_key(self) -> tuple[int, str, tuple[str, ...]]:
        return (SEVERITY_ORDER[self.severity], self.rule_id, self.medication_refs)


def fired_or_missing(rule: RuleIR, outcomes: Sequence[Outcome]) -> Fired | NotEvaluated:
    """All clauses held (or lacked data): the rule fired, or what is missing to decide."""
    refs: set[str] = set()
    proposed = False
    severity = rule.severity
    missing: tuple[str, ...] = ()
    for outcome in outcomes:
        for medication, _ in outcome.involved:
            refs.add(medication.entry.ref)
            proposed = proposed or medication.entry.status is _PROPOSED
        if outcome.missing:
            missing += outcome.missing
        severity = outcome.severity or severity
    if missing:
        return NotEvaluated(rule.id, rule.title, missing, tuple(sorted(refs)))
    concern = rule.concern or ""
    return Fired(rule, outcomes, rule.id, tuple(sorted(refs)), severity, proposed, concern)


@dataclass(frozen=True, slots=True)
class _Explanation:
    """What one fired rule adds to its card beyond the primary rule's text."""

    groups: frozenset[MatchedGroup]
    suggestions: tuple[Suggestion, ...]
    # What the finding is about, whatever the view: the dm+d concepts involved and the patient
    # facts tested (feedback and the audit name a finding by them).
    concepts: frozenset[str]
    facts: tuple[str, ...]
    # The long explanation: empty unless the check explains.
    matched: frozenset[MatchedMedication] = frozenset()
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class CardWriter:
    """Writes one request's cards; what every card of the request shares is made once."""

    view: PatientView
    via: dict[tuple[str, str, str], str]  # the rule set's explanation wording (prepared.via)
    concerns: Mapping[str, Concern]
    explain: bool
    # The placeholders every rule's text may use, with this patient's values; count and score
    # clauses overwrite {count}, {total} and {contributors}.
    patient_values: Mapping[str, str]

    @classmethod
    def for_request(
        cls, view: PatientView, via: dict[tuple[str, str, str], str], explain: bool
    ) -> CardWriter:
        patient = view.patient
        values = {
            "age": age_text(patient.age_years),
            "egfr": egfr_text(patient.egfr),
            "total": NOT_SCORED,
            "contributors": NO_CONTRIBUTORS,
        }
        return cls(view, via, view.ruleset.concerns, explain, values)

    def write(
        self, card: Sequence[Fired], medication_refs: tuple[str, ...], involves_proposed: bool
    ) -> Finding:
        """The finding for one card: its primary (most severe) rule's wording, every rule
        behind it as a source; a card of two or more rules takes its concern's title."""
        primary = card[0]
        rule = primary.rule
        detail, recommendation = self._text(primary)
        parts = [_explanation(fired, self.view, self.via, self.explain) for fired in card]
        if len(card) == 1:
            part = parts[0]
            return Finding(
                rule_id=rule.id,
                category=rule.category,
                severity=primary.severity,
                evidence=rule.evidence,
                title=rule.title,
                detail=detail,
                recommendation=recommendation,
                rationale=rule.rationale,
                citations=part.citations,
                medication_refs=medication_refs,
                matched=tuple(sorted(part.matched, key=_BY_REF_AND_GROUP)),
                conditions=part.facts if self.explain else (),
                involves_proposed=involves_proposed,
                suggestions=part.suggestions,
                concern=primary.concern,
                sources=(FindingSource(rule.id, rule.title, primary.severity),),
                matched_groups=tuple(sorted(part.groups)),
                concepts=tuple(sorted(part.concepts)),
                facts=part.facts,
            )
        facts = tuple(dict.fromkeys(c for p in parts for c in p.facts))
        citations = with_citations((), *(part.citations for part in parts))
        return Finding(
            rule_id=rule.id,
            category=rule.category,
            severity=primary.severity,
            evidence=rule.evidence,
            title=self.concerns[primary.concern].title,
            detail=detail,
            recommendation=recommendation,
            rationale=rule.rationale,
            citations=citations,
            medication_refs=medication_refs,
            matched=tuple(
                sorted(frozenset().union(*(p.matched for p in parts)), key=_BY_REF_AND_GROUP)
            ),
            conditions=facts if self.explain else (),
            involves_proposed=involves_proposed,
            suggestions=tuple(dict.fromkeys(s for p in parts for s in p.suggestions)),
            concern=primary.concern,
            sources=tuple(FindingSource(f.rule_id, f.rule.title, f.severity) for f in card),
            matched_groups=tuple(sorted(frozenset().union(*(p.groups for p in parts)))),
            concepts=tuple(sorted(frozenset().union(*(p.concepts for p in parts)))),
            facts=facts,
        )

    def _text(self, fired: Fired) -> tuple[str, str]:
        """The rule's detail and recommendation filled with this patient's values."""
        names: set[str] = set()
        molecules: set[str] = set()
        extra: dict[str, str] = {}
        for outcome in fired.outcomes:
            for medication, _ in outcome.involved:
                names.add(medication.resolved.concept.name)
                molecules.add(medication.molecule)
            if outcome.values:
                extra.update(outcome.values)
        values = dict(self.patient_values)
        values["medicines"] = medicines_text(names)
        values["count"] = str(len(molecules))
        values.update(extra)  # a clause's own values win (count, score, formulary ...)
        rule = fired.rule
        return render_text(rule.detail, values), render_text(rule.recommendation, values)


def _explanation(
    fired: Fired, view: PatientView, via: dict[tuple[str, str, str], str], explain: bool
) -> _Explanation:
    groups: set[MatchedGroup] = set()
    concepts: set[str] = set()
    suggestions: tuple[Suggestion, ...] = ()
    facts: list[str] = []
    for outcome in fired.outcomes:
        groups.update((m.entry.ref, membership.group) for m, membership in outcome.involved)
        concepts.update(m.resolved.concept.code for m, _ in outcome.involved)
        concepts.update(m.concept_code for m in outcome.matched)
        if outcome.suggestions:
            suggestions += outcome.suggestions
        facts.extend(outcome.facts)
    if not explain:
        return _Explanation(frozenset(groups), suggestions, frozenset(concepts), tuple(facts))
    explained: set[MatchedMedication] = set()
    more: list[tuple[Citation, ...]] = []
    for outcome in fired.outcomes:
        if outcome.matched:
            explained.update(outcome.matched)
        else:
            explained.update(_explain(m, group, view, via) for m, group in outcome.involved)
        if outcome.citations:
            more.append(outcome.citations)
    return _Explanation(
        frozenset(groups),
        suggestions,
        frozenset(concepts),
        tuple(facts),
        frozenset(explained),
        with_citations(fired.rule.citations, *more) if more else fired.rule.citations,
    )


def with_citations(
    citations: tuple[Citation, ...], *more: tuple[Citation, ...]
) -> tuple[Citation, ...]:
    """`citations` followed by each further citation not already listed (equal source,
    reference and url: what Citation equality compares, without its cost per pair)."""
    seen = {(c.source, c.reference, c.url) for c in citations}
    added: list[Citation] = []
    for group in more:
        for citation in group:
            key = (citation.source, citation.reference, citation.url)
            if key not in seen:
                seen.add(key)
                added.append(citation)
    return (*citations, *added) if added else citations


def _explain(
    medication: ResolvedMedication,
    membership: Membership,
    view: PatientView,
    via: dict[tuple[str, str, str], str],
) -> MatchedMedication:
    """One step of an explanation: this medicine matched this group because `via` is listed
    (made once per request; its wording once per rule set)."""
    key = (medication.entry.ref, membership.group, membership.via)
    known = view.explained.get(key)
    if known is not None:
        return known
    concept = medication.resolved.concept
    wording_key = (concept.code, membership.group, membership.via)
    wording = via.get(wording_key)
    if wording is None:
        if membership.via == concept.code:
            wording = f"{concept.level.label} {concept.code} listed in group {membership.group}"
        else:
            listed = view.ruleset.dmd.concept(membership.via)
            listed_level = listed.level.label if listed else "code"
            wording = (
                f"{concept.level.label} {concept.code} -> {listed_level} {membership.via}"
                f"{f' ({listed.name})' if listed else ''} listed in group {membership.group}"
            )
        via[wording_key] = wording
    step = medication.matched(membership.group, wording, medication.formulary_status)
    view.explained[key] = step
    return step
