"""What clause modules share: the one-patient view and outcome, the population and its plans."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from medsopt.engine.findings import MatchedMedication, ResolvedMedication, Suggestion
from medsopt.engine.request import CheckRequest, PatientContext
from medsopt.rules.models import Citation
from medsopt.rules.ruleset import Membership, RuleSet

GroupHits = Mapping[str, Sequence[tuple[ResolvedMedication, Membership]]]
Involved = tuple[tuple[ResolvedMedication, Membership], ...]

# Columnar key: a finding is one (patient, rule, subject); subject is the medicine ref for
# per-medicine rules (formulary, biosimilar) and "" for every other rule.
PATIENT_ID = "patient_id"
KEY = [PATIENT_ID, "rule_id", "subject"]
TEXTS = pl.List(pl.String)
# How a medicine counted by a count or scale clause is labelled in an explanation (it matched
# no named group).
COUNTED = "(counted)"


@functools.cache
def counted_label(code: str) -> Membership:
    """The explanation label of a counted concept (made once per concept: immutable, shared)."""
    return Membership(COUNTED, code)


NO_TEXTS = pl.lit([], dtype=TEXTS)


@dataclass(frozen=True, slots=True)
class PatientView:
    """One request as every clause reads it, built once per request."""

    request: CheckRequest
    medications: tuple[ResolvedMedication, ...]
    hits: GroupHits
    has_unresolved: bool
    ruleset: RuleSet
    # Per-request results that several rules share (e.g. each biologic's brand choice), so
    # they are worked out once however many rules read them.
    shared: dict[Hashable, object] = field(default_factory=dict)
    # Explanation steps already built on this request, by (ref, group, listed code): several
    # findings name the same medicine for the same group (count, scale and falls rules).
    explained: dict[tuple[str, str, str], MatchedMedication] = field(default_factory=dict)

    @property
    def patient(self) -> PatientContext:
        return self.request.patient


@dataclass(frozen=True, slots=True)
class Outcome:
    """A clause that holds (or lacks data): what it involved, needs, found and can fill in."""

    involved: Involved = ()
    missing: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    values: Mapping[str, str] | None = None
    # Per-medicine clauses explain themselves and may add suggestions, citations, a severity.
    matched: tuple[MatchedMedication, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    citations: tuple[Citation, ...] = ()
    severity: str | None = None


# A clause that holds and has nothing to add (shared: outcomes are immutable).
HOLDS = Outcome()


@dataclass(frozen=True, slots=True)
class Population:
    """Many patients as frames, materialised once so every clause plan reads them cheaply.

    meds: patient_id, ref, code, concept_code, molecule, name, start_date (Date), proposed
    hits: patient_id, ref, group, molecule, start_date (a medicine in a medicine group)
    facts: patient_id, age, sex, egfr, pregnant (a patient without a row has no facts)
    condition_codes: patient_id, condition_code (as recorded)
    recorded: patient_id, condition_group (a recorded code in a condition group)
    unresolved: patient_id (a current medicine's code did not resolve)
    exceptions: patient_id, molecule_code, kind, expires_on (biologic exceptions)
    results: patient_id, code, date (Date): dated monitoring results; `facts.monitoring_from`
    is the date from which a patient's results are complete (null: not known)
    `ruleset`: for the few patients a clause decides one by one (see clauses.biosimilar); None
    where the population never has such patients (a scan of dispensing data).
    `rule_id_type`: the type of the plans' rule id columns (the columnar evaluator sets an Enum
    of the rule ids, sorted, so joins and groupings compare numbers and sorts read the same).
    """

    meds: pl.DataFrame
    hits: pl.DataFrame
    facts: pl.DataFrame
    condition_codes: pl.DataFrame
    recorded: pl.DataFrame
    unresolved: pl.DataFrame
    exceptions: pl.DataFrame
    results: pl.DataFrame
    as_of: datetime.date | None
    ruleset: RuleSet | None = None
    rule_id_type: pl.DataType = field(default_factory=pl.String)

    @property
    def group_type(self) -> pl.DataType:
        """The type of medicine group columns (`hits.group`: categorical, numbers underneath)."""
        return self.hits.schema["group"]


@dataclass(frozen=True, slots=True)
class Lookups:
    """Rule-set tables the columnar plans join against (plain frames: picklable to shards).

    membership: concept_code, group; conditions: condition_code, condition_group;
    scales: concept_code, scale, score, scale_name (the first lineage concept a scale lists);
    formulary: concept_code and the entry's position and text (clauses.formulary);
    biosimilar: concept_code and its brand-choice outcome with no patient exceptions
    (clauses.biosimilar).
    """

    membership: pl.DataFrame
    conditions: pl.DataFrame
    scales: pl.DataFrame
    formulary: pl.DataFrame
    biosimilar: pl.DataFrame
    # True when a biosimilar product's licence excludes coded conditions (choices then depend
    # on the patient's conditions).
    coded_exclusions: bool = False
    # Concern id -> title, for the cards that merge one concern's findings.
    concerns: Mapping[str, str] = field(default_factory=dict)
    # Monitoring tests: code -> test group, and each test group's title.
    tests: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"code": pl.String, "test_group": pl.String})
    )
    test_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Filter:
    """A filtering clause's part of the candidate plan.

    The evaluator hands a filter the candidates of its own rules, with the patient's facts:
    `joins`: frames left-joined onto them (on their key columns), `fails`: true where a known
    fact fails, `missing`: the data the clause needs and lacks (a list of strings), `lacks`: true
    where `missing` is not empty (few rows: the lists are built for those only), `excluded`:
    frames of the pairs the clause fails for, whatever else is known (a candidate found in one
    fails; a pair may be listed more than once).
    """

    joins: tuple[tuple[pl.LazyFrame, tuple[str, ...]], ...]
    fails: pl.Expr
    missing: pl.Expr
    lacks: pl.Expr
    excluded: tuple[tuple[pl.LazyFrame, tuple[str, ...]], ...] = ()
