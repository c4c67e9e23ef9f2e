"""What the point-of-care evaluator works out once per rule set, not once per request.

A rule set is immutable, so anything that depends only on it and a code (how a code resolves,
how a (concept, group) step of an explanation reads) is kept beside it the first time a request
needs it. Entries are filled on first use: a reload costs nothing until requests arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field

from medsopt.dmd.concepts import Resolved, UnresolvedReason
from medsopt.formulary.models import Product
from medsopt.rules.ruleset import Membership, RuleSet

# Rule sets kept at once: the active one and the one a reload just replaced (a request may
# still hold it). More only costs memory: an evicted rule set is prepared again on next use.
KEPT = 2


@dataclass(frozen=True, slots=True)
class Placed:
    """A code that resolved: its concept and everything about it a request reads."""

    resolved: Resolved
    groups: tuple[Membership, ...]
    formulary_status: str
    formulary_entry: Product | None


@dataclass(frozen=True, slots=True)
class NotUsable:
    """A dm+d code that cannot be used (inactive, a pack, not placed ...), and why."""

    reason: UnresolvedReason
    message: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """Per-rule-set tables, filled on first use. Only dm+d codes are kept (a finite set): a
    code the extract does not know is worked out each time, so junk codes cannot grow it."""

    ruleset: RuleSet
    codes: dict[str, Placed | NotUsable] = field(default_factory=dict)
    # (concept code, group, listed code) -> how that step of an explanation reads.
    via: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # What a per-medicine clause says about a concept, by (clause kind, outcome, code).
    pieces: dict[Hashable, object] = field(default_factory=dict)


_PREPARED: dict[int, Prepared] = {}
_LOCK = threading.Lock()


def prepared(ruleset: RuleSet) -> Prepared:
    """The tables of this rule set (the same object for every request on it)."""
    # Keyed by identity; the entry holds the rule set, so its id cannot be reused meanwhile.
    found = _PREPARED.get(id(ruleset))
    if found is not None and found.ruleset is ruleset:
        return found
    with _LOCK:
        found = _PREPARED.get(id(ruleset))
        if found is None or found.ruleset is not ruleset:
            while len(_PREPARED) >= KEPT:
                del _PREPARED[next(iter(_PREPARED))]
            found = _PREPARED[id(ruleset)] = Prepared(ruleset)
        return found
