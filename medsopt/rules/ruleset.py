"""The compiled, indexed, immutable rule set that the engine evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from medsopt.dmd.index import DmdIndex
from medsopt.formulary.biosimilars import BiosimilarTable
from medsopt.formulary.formulary import Formulary
from medsopt.rules.ir import RuleIR
from medsopt.rules.models import Concern, Rule


@dataclass(frozen=True, slots=True)
class RuleSetIdentity:
    """What every answer names: which committee version, which exact content, which dm+d."""

    name: str
    version: str
    effective_date: str
    content_hash: str
    dmd_release: str
    formulary_version: str = ""


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A compiled group: its own codes after include_groups and exclude, each with its term."""

    id: str
    title: str
    kind: str
    codes: frozenset[str]
    file: str
    line: int
    matching: str = "hierarchy"
    # code -> the term its codelist or `codes:` entry names it by (explanations only; matching
    # reads `codes`). Keys are exactly `codes`.
    terms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Membership:
    """A dm+d code belongs to a medicine group because `via` is listed in it."""

    group: str
    via: str


@dataclass(frozen=True, slots=True)
class ScaleTable:
    """A compiled scale: dm+d code -> (score, name); looked up along a concept's lineage."""

    id: str
    title: str
    scores: Mapping[str, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with where it was written and the form the evaluators read."""

    rule: Rule
    file: str
    line: int
    ir: RuleIR


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules indexed so a request does dictionary lookups, never a scan over every rule."""

    identity: RuleSetIdentity
    dmd: DmdIndex
    rules: Mapping[str, CompiledRule]  # active rules by id
    inactive: Mapping[str, CompiledRule]  # draft and retired rules, kept for the catalogue
    groups: Mapping[str, GroupInfo]
    # dm+d code -> the medicine groups it belongs to (directly or through its hierarchy).
    membership: Mapping[str, tuple[Membership, ...]]
    # medicine group -> ids of active rules that cannot fire unless that group is present.
    triggers: Mapping[str, tuple[str, ...]]
    # Active rules evaluated for every request: medicine counts, scale totals and omissions
    # that need no recorded condition.
    untriggered: tuple[str, ...]
    # Recorded condition code -> ids of active rules with no medicine clause that cannot fire
    # without it (omissions such as "atrial fibrillation and none of the anticoagulants").
    condition_triggers: Mapping[str, tuple[str, ...]]
    formulary: Formulary | None = None
    scales: Mapping[str, ScaleTable] = field(default_factory=lambda: MappingProxyType({}))
    # The biosimilar equivalence table (formulary/biosimilars/), when the formulary has one.
    biosimilars: BiosimilarTable | None = None
    # Clinical concerns by id: rules naming one give one card when their medicines overlap.
    concerns: Mapping[str, Concern] = field(default_factory=lambda: MappingProxyType({}))

    def groups_of(self, code: str) -> tuple[Membership, ...]:
        """The medicine groups a resolved concept code belongs to."""
        return self.membership.get(code, ())
