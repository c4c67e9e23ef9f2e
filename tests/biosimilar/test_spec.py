"""Specification of the biosimilar findings, molecule by molecule, over the bundled table.

Unless a test says otherwise the preferred brands are the example ICB's: Amgevita (adalimumab),
Benepali (etanercept), Remsima (infliximab), Truxima (rituximab), Kanjinti (trastuzumab) and
Abasaglar (insulin glargine), from 2026-11-01.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from medsopt.rules.ruleset import RuleSet
from tests.biosimilar.conftest import biosimilar, only, run, with_preferences

SWITCH, NONE, BY_BRAND = (
    "BIOSIMILAR-SWITCH",
    "BIOSIMILAR-NO-EQUIVALENT",
    "BIOSIMILAR-PRESCRIBE-BY-BRAND",
)


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    fired: str | None  # the one biosimilar rule expected, or None
    suggested: tuple[str, ...] = ()


CASES = [
    # Adalimumab: a pen goes to the preferred pen, a syringe to the syringe, never across.
    Case(
        "Humira 40mg/0.8ml pen -> Amgevita pen", "11188011000001105", SWITCH, ("36005111000001108",)
    ),
    Case(
        "Humira 40mg/0.8ml syringe -> Amgevita syringe",
        "5007511000001108",
        SWITCH,
        ("36004911000001107",),
    ),
    Case(
        "Humira 40mg/0.4ml pen -> Amgevita 40mg pen",
        "32881711000001106",
        SWITCH,
        ("36005111000001108",),
    ),
    Case(
        "Humira 20mg syringe -> Amgevita 20mg syringe",
        "35315311000001108",
        SWITCH,
        ("36435611000001103",),
    ),
    Case("Humira 80mg pen: no 80 mg biosimilar", "36243611000001104", None),
    Case("Humira vial: no preferred vial", "19687311000001100", NONE),
    Case(
        "Hulio pen (not preferred) -> Amgevita pen",
        "36084111000001108",
        SWITCH,
        ("36005111000001108",),
    ),
    Case("Amgevita pen is preferred", "36005111000001108", None),
    # Etanercept: the preferred brand has no 25 mg pen, so the 25 mg pen goes to its syringe.
    Case(
        "Enbrel 50mg MyClic pen -> Benepali 50mg pen",
        "15980311000001108",
        SWITCH,
        ("32230111000001103",),
    ),
    Case(
        "Enbrel 25mg MyClic pen -> Benepali 25mg syringe",
        "34834011000001106",
        SWITCH,
        ("34609111000001108",),
    ),
    Case("Enbrel 25mg powder vial: no preferred vial", "4156611000001102", NONE),
    Case("Enbrel Paediatric 10mg: no biosimilar", "19921411000001107", None),
    Case(
        "Erelzi 50mg syringe -> Benepali 50mg syringe",
        "34633911000001104",
        SWITCH,
        ("32227111000001100",),
    ),
    # Infliximab: intravenous stays intravenous (Remsima also has subcutaneous pens).
    Case("Remicade IV -> Remsima IV", "4398011000001107", SWITCH, ("28803711000001103",)),
    Case("Flixabi IV -> Remsima IV", "33087411000001104", SWITCH, ("28803711000001103",)),
    Case("Remsima SC pen is preferred", "38004811000001109", None),
    # Rituximab: vial to vial, dose-banded bag to bag; subcutaneous has no biosimilar.
    Case(
        "MabThera 100mg vial -> Truxima 100mg vial",
        "7695711000001104",
        SWITCH,
        ("34613711000001108",),
    ),
    Case(
        "MabThera 500mg vial -> Truxima 500mg vial",
        "7697011000001108",
        SWITCH,
        ("34165611000001103",),
    ),
    Case(
        "MabThera 700mg bag -> Truxima 700mg bag",
        "37820011000001109",
        SWITCH,
        ("37820511000001101",),
    ),
    Case("MabThera 1400mg SC: no SC biosimilar", "24780211000001103", None),
    # Trastuzumab: intravenous 150 mg to 150 mg; subcutaneous Herceptin has no biosimilar.
    Case(
        "Herceptin 150mg IV -> Kanjinti 150mg", "4803011000001101", SWITCH, ("35552711000001106",)
    ),
    Case("Herzuma 420mg -> Kanjinti 420mg", "36590011000001101", SWITCH, ("35890911000001103",)),
    Case("Herceptin 600mg SC: no SC biosimilar", "23157311000001105", None),
    # Insulin glargine: pen to pen, cartridge to cartridge; 300 units/ml is never matched.
    Case(
        "Lantus SoloStar -> Abasaglar KwikPen", "11933011000001106", SWITCH, ("30171811000001105",)
    ),
    Case("Lantus OptiSet -> Abasaglar KwikPen", "3283211000001100", SWITCH, ("30171811000001105",)),
    Case(
        "Lantus cartridge -> Abasaglar cartridge",
        "3284211000001102",
        SWITCH,
        ("30172211000001102",),
    ),
    Case("Lantus vial: no preferred vial", "3287911000001100", NONE),
    Case(
        "Semglee (not preferred) -> Abasaglar KwikPen",
        "36082811000001107",
        SWITCH,
        ("30171811000001105",),
    ),
    Case("Toujeo 300 units/ml: no biosimilar", "29866811000001104", None),
    # Ustekinumab, aflibercept: brands without biosimilar codes are recognised, not switched.
    Case("Stelara: no biosimilar codes", "17462711000001106", None),
    Case("Stelara IV: no biosimilar codes", "33749511000001100", None),
    Case("Eylea: no biosimilar codes", "21674311000001108", None),
    # Generic prescriptions (VMP or VTM) of every molecule: prescribe by brand.
    Case(
        "adalimumab pre-filled devices VMP", "11236911000001103", BY_BRAND, ("36005111000001108",)
    ),
    Case("adalimumab VTM", "398728003", BY_BRAND),
    Case("etanercept 50mg syringes VMP", "10970211000001102", BY_BRAND, ("32227111000001100",)),
    Case("infliximab 100mg vials VMP", "400687000", BY_BRAND, ("28803711000001103",)),
    Case("rituximab 500mg/50ml VMP", "35934811000001104", BY_BRAND, ("34165611000001103",)),
    Case("trastuzumab 420mg VMP", "35903811000001108", BY_BRAND, ("35890911000001103",)),
    Case("glargine cartridges VMP", "38896911000001108", BY_BRAND, ("30172211000001102",)),
    Case("glargine VTM", "126212009", BY_BRAND),
    Case(
        "ustekinumab 45mg syringes VMP: the brand of that product",
        "17484011000001100",
        BY_BRAND,
        ("17462711000001106",),
    ),
    Case("teriparatide VMP: no brand has a code", "35916511000001100", BY_BRAND),
    Case("teriparatide VTM", "398823001", BY_BRAND),
    Case(
        "aflibercept intravitreal VMP: Eylea", "21674211000001100", BY_BRAND, ("21674311000001108",)
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_spec(case: Case, ruleset: RuleSet) -> None:
    findings = biosimilar(run(ruleset, case.code))
    assert [f.rule_id for f in findings] == ([case.fired] if case.fired else [])
    if findings:
        assert tuple(s.code for s in findings[0].suggestions) == case.suggested


def test_every_suggestion_keeps_route_and_strength(ruleset: RuleSet) -> None:
    table = ruleset.biosimilars
    assert table is not None
    for code, product in table.products.items():
        for finding in biosimilar(run(ruleset, code)):
            for suggestion in finding.suggestions:
                other = table.products[suggestion.code].entry
                assert (other.route, other.strength) == (
                    product.entry.route,
                    product.entry.strength,
                )


def test_intravenous_infliximab_is_never_offered_a_subcutaneous_product(ruleset: RuleSet) -> None:
    # Prefer every infliximab biosimilar: still only intravenous 100 mg vials are suggested.
    everyone = with_preferences(
        ruleset, {"108675009": ["Remsima", "Inflectra", "Flixabi", "Zessly"]}
    )
    finding = only(run(everyone, "4398011000001107"), SWITCH)
    assert {s.code for s in finding.suggestions} == {
        "28803711000001103",  # Remsima 100mg vials
        "28943211000001105",  # Inflectra
        "33087411000001104",  # Flixabi
        "36584011000001109",  # Zessly
    }
    assert "subcutaneous" not in " ".join(s.reason for s in finding.suggestions)


def test_a_pen_is_not_swapped_for_a_syringe_when_the_brand_has_a_pen(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "11188011000001105"), SWITCH)
    assert [s.code for s in finding.suggestions] == ["36005111000001108"]
    assert "same device type (pre-filled pen)" in finding.suggestions[0].reason


def test_a_device_change_is_said_when_no_same_device_exists(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "34834011000001106"), SWITCH)  # Enbrel 25mg MyClic pen
    assert (
        "device changes from pre-filled pen to pre-filled syringe" in finding.suggestions[0].reason
    )


def test_a_cartridge_switch_names_the_new_reusable_pen(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "3284211000001102"), SWITCH)
    assert "fits Lilly reusable insulin pens" in finding.suggestions[0].reason


def test_a_cartridge_may_go_to_a_disposable_pen_when_the_brand_has_no_cartridge(
    ruleset: RuleSet,
) -> None:
    semglee = with_preferences(ruleset, {"126212009": ["Semglee"]})
    finding = only(run(semglee, "3284211000001102"), SWITCH)  # Lantus cartridges
    assert [s.code for s in finding.suggestions] == ["36082811000001107"]
    assert "device changes from cartridge to pre-filled pen" in finding.suggestions[0].reason


def test_volume_and_excipient_differences_are_said(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "32881711000001106"), SWITCH)  # Humira 40mg/0.4ml, citrate-free
    reason = finding.suggestions[0].reason
    assert "0.8 ml a dose instead of 0.4 ml" in reason
    assert "needle cover contains latex" in reason
    hyrimoz = with_preferences(ruleset, {"398728003": ["Hyrimoz"]})
    reason = only(run(hyrimoz, "32881711000001106"), SWITCH).suggestions[0].reason
    assert "contains citrate, unlike the current product" in reason


def test_no_equivalent_says_why(ruleset: RuleSet) -> None:
    vial = only(run(ruleset, "19687311000001100"), NONE)
    assert "no equivalent device: Amgevita 40mg comes as pre-filled pen, pre-filled syringe" in (
        vial.detail
    )
    ontruzant = with_preferences(ruleset, {"327397006": ["Ontruzant"]})
    strength = only(run(ontruzant, "35890911000001103"), NONE)  # Kanjinti 420mg
    assert "has this strength (420mg; they have 150mg)" in strength.detail
    subcutaneous_only = with_preferences(ruleset, {"108675009": ["Remsima"]})
    assert only(run(subcutaneous_only, "4398011000001107"), SWITCH).suggestions


def test_a_proposed_switch_is_not_suggested_again(ruleset: RuleSet) -> None:
    result = run(ruleset, "11188011000001105", "36005111000001108", proposed=["36005111000001108"])
    assert biosimilar(result) == []
    proposed_originator = run(ruleset, "11188011000001105", proposed=["11188011000001105"])
    assert only(proposed_originator, SWITCH).involves_proposed


def test_biosimilar_and_formulary_findings_fire_together(ruleset: RuleSet) -> None:
    result = run(ruleset, "4398011000001107")  # Remicade: hospital-only, and a switch
    assert {f.rule_id for f in result.findings} >= {SWITCH, "FORMULARY-HOSPITAL-ONLY"}
    finding = only(result, SWITCH)
    assert finding.matched[0].formulary_status == "hospital-only"
    assert finding.matched[0].group == "biosimilar:infliximab"
    assert "infliximab.yaml" in finding.matched[0].via
    assert {c.source for c in finding.citations} >= {"MHRA", "NHS England"}
    assert any("preferred Infliximab brands" in c.reference for c in finding.citations)


def test_without_a_local_preference_the_originator_gets_every_equivalent(
    ruleset: RuleSet,
) -> None:
    unconfigured = dataclasses.replace(ruleset, formulary=None)
    finding = only(run(unconfigured, "11188011000001105"), SWITCH)  # Humira 40mg/0.8ml pen
    assert {s.code for s in finding.suggestions} == {
        "36005111000001108",  # Amgevita
        "36084111000001108",  # Hulio
        "36234311000001105",  # Hyrimoz
        "38367611000001104",  # Idacio
        "36442011000001101",  # Imraldi
    }
    assert "names no preferred" in finding.detail
    assert biosimilar(run(unconfigured, "36084111000001108")) == []  # Hulio: nothing preferred
    by_brand = only(run(unconfigured, "35894411000001100"), BY_BRAND)  # 40mg/0.8ml syringes VMP
    assert by_brand.suggestions[0].code == "5007511000001108"  # the originator first


def test_generic_with_a_different_volume_gets_the_same_dose_product(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "32888111000001102"), BY_BRAND)  # adalimumab 40mg/0.4ml devices
    assert [s.code for s in finding.suggestions] == ["36005111000001108"]
    assert "0.8 ml a dose instead of 0.4 ml" in finding.suggestions[0].reason


def test_a_vtm_prescription_names_the_brands(ruleset: RuleSet) -> None:
    finding = only(run(ruleset, "398728003"), BY_BRAND)
    assert finding.suggestions == ()
    assert "molecule only (VTM)" in finding.detail
    assert "Amgevita, Hulio, Humira, Hyrimoz, Idacio, Imraldi" in finding.detail
