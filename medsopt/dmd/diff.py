"""What changed between two dm+d releases, and which drug groups of a rule set that moves.

Pure: two DmdIndex (and the groups of one rule set compiled against each) in, frozen records
out. The committee's weekly review reads these through `medsopt dmd diff`. Groups arrive as
`GroupSnapshot`s so that medsopt.dmd keeps knowing nothing of medsopt.rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from medsopt.dmd.concepts import Concept, Level, Resolved
from medsopt.dmd.index import DmdIndex

_LEVEL_ORDER = {level: i for i, level in enumerate(Level)}


@dataclass(frozen=True, slots=True)
class ConceptChange:
    """A concept added, invalidated or removed between releases."""

    code: str
    name: str
    level: Level


@dataclass(frozen=True, slots=True)
class Reidentified:
    """A concept whose id was retired and replaced (VTMIDPREV / VPIDPREV)."""

    previous_code: str
    current_code: str
    name: str
    level: Level
    changed_on: str | None


@dataclass(frozen=True, slots=True)
class ReleaseChanges:
    """Concept-level differences between an old and a new release."""

    old_release: str
    new_release: str
    added: tuple[ConceptChange, ...]
    invalidated: tuple[ConceptChange, ...]
    reidentified: tuple[Reidentified, ...]
    removed: tuple[ConceptChange, ...]  # gone without a successor (never in a real weekly release)

    def successor(self, code: str) -> Reidentified | None:
        """The re-identification that retired `code`, if any."""
        return next((r for r in self.reidentified if r.previous_code == code), None)


class Member(Protocol):
    """A code's membership of a group through a listed code (medsopt.rules Membership)."""

    @property
    def group(self) -> str: ...

    @property
    def via(self) -> str: ...


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    """The medicine groups of one rule set compiled against one release."""

    dmd: DmdIndex
    titles: Mapping[str, str]  # medicine group id -> title
    listed: Mapping[str, frozenset[str]]  # medicine group id -> codes its codelist names
    membership: Mapping[str, Iterable[Member]]  # dm+d code -> the groups it belongs to


class MemberChangeKind(enum.Enum):
    """How a group's membership moved."""

    LISTED = "listed code"  # a code in the codelist itself was retired or re-identified
    REIDENTIFIED = "re-identified"  # a member got a new id and is still a member under it
    LOST = "lost"
    GAINED = "gained"


@dataclass(frozen=True, slots=True)
class MemberChange:
    """One code entering, leaving or being renumbered in one drug group."""

    kind: MemberChangeKind
    code: str
    name: str
    level: Level | None
    reason: str


@dataclass(frozen=True, slots=True)
class GroupChange:
    """A drug group whose effective membership (valid VTM/VMP/AMP members) changes."""

    group: str
    title: str
    members_before: int
    members_after: int
    changes: tuple[MemberChange, ...]


def release_changes(old: DmdIndex, new: DmdIndex) -> ReleaseChanges:
    """Concepts added, invalidated, re-identified and removed from `old` to `new`."""
    reidentified: list[Reidentified] = []
    removed: list[ConceptChange] = []
    for concept in old.concepts():
        if concept.code in new:
            continue
        outcome = new.resolve(concept.code)
        step = outcome.superseded if isinstance(outcome, Resolved) else None
        if step is not None:
            reidentified.append(
                Reidentified(
                    concept.code, step.current_code, concept.name, concept.level, step.changed_on
                )
            )
        else:
            removed.append(_change(concept))
    successors = {r.current_code for r in reidentified}
    added = [_change(c) for c in new.concepts() if c.code not in old and c.code not in successors]
    invalidated = [
        _change(c)
        for c in new.concepts()
        if c.invalid and (before := old.concept(c.code)) is not None and not before.invalid
    ]
    return ReleaseChanges(
        old.release,
        new.release,
        _sorted(added),
        _sorted(invalidated),
        tuple(sorted(reidentified, key=lambda r: (_LEVEL_ORDER[r.level], r.name, r.current_code))),
        _sorted(removed),
    )


def group_changes(
    old: GroupSnapshot, new: GroupSnapshot, changes: ReleaseChanges
) -> tuple[GroupChange, ...]:
    """Medicine groups whose valid VTM/VMP/AMP members, or whose listed codes, change."""
    before, after = _members(old), _members(new)
    result = []
    for gid in sorted(new.titles):
        was, now = before.get(gid, {}), after.get(gid, {})
        listed = _listed_changes(old.listed.get(gid, frozenset()), old.dmd, new.dmd, changes)
        reported = frozenset(change.code for change in listed)
        entries = [*listed, *_moved(was, now, old.dmd, new.dmd, changes, reported)]
        if entries:
            result.append(GroupChange(gid, new.titles[gid], len(was), len(now), tuple(entries)))
    return tuple(result)


def _members(snapshot: GroupSnapshot) -> dict[str, dict[str, str]]:
    """Group -> {member code: listed code it came through}, valid product concepts only."""
    members: dict[str, dict[str, str]] = {}
    for code, memberships in snapshot.membership.items():
        concept = snapshot.dmd.concept(code)
        if concept is None or concept.invalid or not concept.level.is_product:
            continue
        for membership in memberships:
            members.setdefault(membership.group, {})[code] = membership.via
    return members


def _listed_changes(
    listed: Iterable[str], old: DmdIndex, new: DmdIndex, changes: ReleaseChanges
) -> list[MemberChange]:
    """Codes in the codelist that this release retires: the codelist needs editing."""
    found = []
    for code in sorted(listed):
        before, now = old.concept(code), new.concept(code)
        if before is None or before.invalid:
            continue  # already unusable in the old release: not news this week
        successor = changes.successor(code)
        if successor is not None:
            reason = (
                f"re-identified as {successor.current_code}"
                f"{_since(successor.changed_on)}: list the new code"
            )
        elif now is None:
            reason = "no longer in the release"
        elif now.invalid:
            reason = "invalidated in this release"
        else:
            continue
        found.append(MemberChange(MemberChangeKind.LISTED, code, before.name, before.level, reason))
    return found


def _moved(
    was: Mapping[str, str],
    now: Mapping[str, str],
    old: DmdIndex,
    new: DmdIndex,
    changes: ReleaseChanges,
    reported: frozenset[str],
) -> list[MemberChange]:
    """Members lost and gained, pairing a renumbered member with its new id."""
    added = {c.code for c in changes.added}
    lost = sorted(was.keys() - now.keys())
    gained = set(now.keys() - was.keys())
    found = []
    for code in lost:
        concept = old.concept(code)
        assert concept is not None  # members are concepts of their own release
        successor = changes.successor(code)
        renumbered = successor if successor and successor.current_code in gained else None
        if renumbered is not None:
            gained.discard(renumbered.current_code)
        if code in reported:
            continue  # a listed code that left is already reported as a LISTED change
        if renumbered is not None:
            found.append(
                MemberChange(
                    MemberChangeKind.REIDENTIFIED,
                    code,
                    concept.name,
                    concept.level,
                    f"now {renumbered.current_code}{_since(renumbered.changed_on)}; still a member",
                )
            )
            continue
        reason = _lost_reason(code, was[code], new, changes)
        found.append(MemberChange(MemberChangeKind.LOST, code, concept.name, concept.level, reason))
    for code in sorted(gained, key=lambda c: _concept_key(new.concept(c), c)):
        concept = new.concept(code)
        assert concept is not None
        via = now[code]
        through = "" if via == code else f"captured through listed {via} ({_name(new, via)})"
        if code in added:
            reason = ", ".join(
                filter(None, (f"new {concept.level.value} in this release", through))
            )
        elif (before := old.concept(code)) is not None and before.invalid:
            reason = ", ".join(filter(None, ("no longer invalid", through)))
        else:
            reason = f"now {through}" if through else "listed code now in this release"
        found.append(
            MemberChange(MemberChangeKind.GAINED, code, concept.name, concept.level, reason)
        )
    return found


def _lost_reason(code: str, via: str, new: DmdIndex, changes: ReleaseChanges) -> str:
    now = new.concept(code)
    if now is not None and now.invalid:
        return "invalidated in this release"
    successor = changes.successor(code)
    if successor is not None:
        return f"re-identified as {successor.current_code}, which the group does not capture"
    if now is None:
        return "no longer in the release"
    listed_successor = changes.successor(via)
    if listed_successor is not None:
        return (
            f"listed {via} was re-identified as {listed_successor.current_code}: "
            "the codelist no longer captures it"
        )
    listed = new.concept(via)
    if listed is not None and listed.invalid:
        return f"listed {via} was invalidated"
    return f"no longer linked to listed {via}"


def _change(concept: Concept) -> ConceptChange:
    return ConceptChange(concept.code, concept.name, concept.level)


def _sorted(items: Iterable[ConceptChange]) -> tuple[ConceptChange, ...]:
    return tuple(sorted(items, key=lambda c: (_LEVEL_ORDER[c.level], c.name, c.code)))


def _concept_key(concept: Concept | None, code: str) -> tuple[int, str, str]:
    if concept is None:
        return (len(_LEVEL_ORDER), "", code)
    return (_LEVEL_ORDER[concept.level], concept.name, code)


def _name(index: DmdIndex, code: str) -> str:
    concept = index.concept(code)
    return concept.name if concept is not None else "(not in this release)"


def _since(changed_on: str | None) -> str:
    return f" on {changed_on}" if changed_on else ""
