"""The compiled, indexed, immutable rule set that the engine evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from medsopt.dmd.index import DmdIndex
from medsopt.formulary.formulary import Formulary
from medsopt.rules.models import Rule


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
    """A compiled group: its own codes after include_groups and exclude."""

    id: str
    title: str
    kind: str
    codes: frozenset[str]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Membership:
    """A dm+d code belongs to a medicine group because `via` is listed in it."""

    group: str
    via: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An active rule with where it was written."""

    rule: Rule
    file: str
    line: int


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
    # Active rules with no medicine trigger (omissions: "condition X and none of group Y").
    untriggered: tuple[str, ...]
    formulary: Formulary | None = None

    def groups_of(self, code: str) -> tuple[Membership, ...]:
        """The medicine groups a resolved concept code belongs to."""
        return self.membership.get(code, ())
