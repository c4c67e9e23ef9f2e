from __future__ import annotations

from medsopt.dmd.concepts import (
    Concept,
    Level,
    Resolved,
    Supersession,
    Unresolved,
    UnresolvedReason,
)
from medsopt.dmd.index import DmdIndex


def test_amp_resolves_with_vmp_and_vtm_ancestors(dmd: DmdIndex) -> None:
    resolved = dmd.resolve("421411000001103")
    assert isinstance(resolved, Resolved)
    assert resolved.concept.level is Level.AMP
    assert [c.code for c in resolved.ancestors] == ["319733000", "48603004"]
    assert [c.name for c in resolved.ancestors] == ["Warfarin 1mg tablets", "Warfarin"]


def test_vtm_resolves_and_lists_its_products(dmd: DmdIndex) -> None:
    resolved = dmd.resolve("48603004")
    assert isinstance(resolved, Resolved)
    assert resolved.concept.level is Level.VTM
    assert "319733000" in dmd.descendants("48603004")


def test_superseded_vmp_resolves_to_its_successor(dmd: DmdIndex) -> None:
    resolved = dmd.resolve("329847005")
    assert isinstance(resolved, Resolved)
    assert resolved.concept.code == "36030111000001106"
    assert resolved.superseded == Supersession("329847005", "36030111000001106", "2018-10-29")


def test_unknown_code_is_unresolved_not_dropped(dmd: DmdIndex) -> None:
    outcome = dmd.resolve("99999991000001109")
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.UNKNOWN
    assert "bundled-2026.12" in outcome.message


def test_international_product_concept_is_not_a_medicinal_product(dmd: DmdIndex) -> None:
    outcome = dmd.resolve("768520007")  # "Acenocoumarol in oral dosage form", a PINCER extra
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.NOT_MEDICINAL_PRODUCT


def test_pack_and_invalid_concepts_say_why() -> None:
    index = DmdIndex(
        [
            Concept("319733000", "Warfarin 1mg tablets", Level.VMP),
            Concept("1002711000001101", "Co-amoxiclav pack", Level.VMPP),
            Concept("10028511000001109", "Retired VTM", Level.VTM, invalid=True),
        ],
        [],
        release="test",
    )
    pack = index.resolve("1002711000001101")
    retired = index.resolve("10028511000001109")
    assert isinstance(pack, Unresolved) and pack.reason is UnresolvedReason.PACK_LEVEL
    assert isinstance(retired, Unresolved) and retired.reason is UnresolvedReason.INACTIVE


def test_supersession_cycles_terminate() -> None:
    index = DmdIndex(
        [], [Supersession("111", "222", None), Supersession("222", "111", None)], release="t"
    )
    outcome = index.resolve("111")
    assert isinstance(outcome, Unresolved)


def test_the_table_holds_every_concept_in_index_order(dmd: DmdIndex) -> None:
    built = DmdIndex(
        [
            Concept("48603004", "Warfarin", Level.VTM),
            Concept("319733000", "Warfarin 1mg tablets", Level.VMP, vtm="48603004"),
        ],
        [],
        "test",
    )
    for index in (dmd, built):
        rows = list(index.table().iter_rows())
        assert rows == [
            (c.code, c.name, c.level.value, c.vmp, c.vtm, c.bnf_code, c.invalid)
            for c in index.concepts()
        ]
        assert [row[0] for row in rows] == list(index.codes())


def test_a_retired_code_names_its_successor_and_a_live_code_itself(dmd: DmdIndex) -> None:
    assert dmd.current_code("329847005") == "36030111000001106"
    assert dmd.current_code("36030111000001106") == "36030111000001106"
    assert dmd.current_code("99999991000001109") == "99999991000001109"
