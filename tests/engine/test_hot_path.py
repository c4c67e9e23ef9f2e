"""The point-of-care hot path does only what the answer needs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from medsopt.dmd.codes import with_check_digit
from medsopt.engine import PatientContext, check
from medsopt.engine.cards import CardWriter, Fired
from medsopt.engine.findings import Finding
from medsopt.engine.prepared import KEPT, NotUsable, Placed, prepared
from medsopt.rules.ruleset import RuleSet
from tests.engine.test_spec import (
    FUROSEMIDE,
    IBUPROFEN,
    NAPROXEN,
    RAMIPRIL,
    WARFARIN,
    WARFARIN_AMP,
    request,
)

ADULT = PatientContext(age_years=50, egfr=90.0)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The rules behind every card written, in order (CardWriter.write spied on)."""
    cards: list[tuple[str, ...]] = []
    write = CardWriter.write

    def spy(
        self: CardWriter, card: Sequence[Fired], refs: tuple[str, ...], proposed: bool
    ) -> Finding:
        cards.append(tuple(f.rule_id for f in card))
        return write(self, card, refs, proposed)

    monkeypatch.setattr(CardWriter, "write", spy)
    return cards


def test_a_superseded_finding_is_never_written(
    spec: RuleSet, written: list[tuple[str, ...]]
) -> None:
    result = check(request((RAMIPRIL, FUROSEMIDE, IBUPROFEN), ADULT), spec)
    assert [f.rule_id for f in result.findings] == ["S-TRIPLE"]
    assert written == [("S-TRIPLE",)]


def test_a_merged_card_is_written_once_for_all_its_rules(
    bundled: RuleSet, written: list[tuple[str, ...]]
) -> None:
    result = check(request((WARFARIN, NAPROXEN), PatientContext(age_years=78)), bundled)
    merged = [f for f in result.findings if len(f.sources) > 1]
    assert merged  # PINCER-D and STOPP C10 raise one bleeding concern
    assert len(written) == len(result.findings)
    assert [s.rule_id for s in merged[0].sources] in [list(w) for w in written]


def test_codes_are_resolved_once_per_rule_set_and_unknown_codes_are_not_kept(
    spec: RuleSet,
) -> None:
    unknown = with_check_digit("9999999100000110")
    first = check(request((WARFARIN_AMP, NAPROXEN, unknown), ADULT), spec)
    codes = prepared(spec).codes
    assert isinstance(codes[WARFARIN_AMP], Placed) and isinstance(codes[NAPROXEN], Placed)
    assert unknown not in codes  # junk codes cannot grow the table
    again = check(request((WARFARIN_AMP, NAPROXEN, unknown), ADULT), spec)
    assert again == first
    assert [u.entry.code for u in again.unresolved] == [unknown]


def test_a_code_that_cannot_be_used_is_kept_with_its_reason(spec: RuleSet) -> None:
    inactive = "10028511000001109"  # a VTM the bundled extract flags invalid (scan tests)
    result = check(request((inactive,), ADULT), spec)
    assert [u.entry.code for u in result.unresolved] == [inactive]
    assert isinstance(prepared(spec).codes[inactive], NotUsable)


def test_prepared_tables_belong_to_one_rule_set(spec: RuleSet, bundled: RuleSet) -> None:
    assert prepared(spec).ruleset is spec and prepared(bundled).ruleset is bundled
    assert prepared(spec) is prepared(spec)
    assert KEPT >= 2  # the active rule set and the one a reload replaced
