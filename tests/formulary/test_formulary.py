"""The local formulary: compile diagnostics, lineage lookup and the findings it produces."""

from __future__ import annotations

import pytest

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.dmd.concepts import Resolved
from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.request import MedicationStatus
from medsopt.formulary.formulary import compile_formulary
from medsopt.rules.ruleset import RuleSet

HEADER = """formulary:
  name: Test formulary
  organisation: Test ICB
  version: "2026.1"
  effective_date: 2026-01-01
  source: tests
"""


def test_most_specific_entry_wins(dmd: DmdIndex) -> None:
    formulary, _ = compile_formulary(
        {
            "f.yaml": HEADER
            + """products:
  - {code: "398728003", name: Adalimumab, status: hospital-only}
  - {code: "11188011000001105", name: Humira 40mg/0.8ml pens, status: non-formulary}
"""
        },
        dmd,
    )
    humira = dmd.resolve("11188011000001105")
    generic = dmd.resolve("11236911000001103")
    assert isinstance(humira, Resolved)
    assert isinstance(generic, Resolved)
    assert formulary.entry_for(humira.lineage).status == "non-formulary"  # type: ignore[union-attr]
    assert formulary.entry_for(generic.lineage).status == "hospital-only"  # type: ignore[union-attr]


def test_structural_problems_are_reported_with_positions(dmd: DmdIndex) -> None:
    text = (
        HEADER
        + """products:
  - {code: "108600004", name: Typo, status: formulary}
  - {code: "25673006", name: Omeprazole, status: green}
"""
    )
    with pytest.raises(RuleSetError) as raised:
        compile_formulary({"f.yaml": text}, dmd)
    assert [str(d) for d in raised.value.diagnostics] == [
        "f.yaml:8:6: error[invalid-value]: products[0].code: '108600004' fails the SNOMED CT "
        "Verhoeff check digit (mistyped, or rounded by a spreadsheet?)",
        "f.yaml:9:42: error[invalid-value]: products[1].status: 'green' is not allowed (expected "
        "'formulary', 'specialist-initiation', 'hospital-only' or 'non-formulary')",
    ]


def test_cross_entry_problems_are_reported(dmd: DmdIndex) -> None:
    text = (
        HEADER
        + """products:
  - {code: "108600003", name: Atorvastatin, status: formulary, therapeutic_class: statin}
  - {code: "108600003", name: Atorvastatin again, status: formulary}
  - {code: "99999991000001109", name: Not in dm+d, status: formulary}
"""
    )
    with pytest.raises(RuleSetError) as raised:
        compile_formulary({"f.yaml": text}, dmd)
    shown = [str(d) for d in raised.value.diagnostics]
    assert any(s.startswith("f.yaml:9:") and "already listed at f.yaml:8" in s for s in shown)
    assert any(s.startswith("f.yaml:10:") and "not in dm+d extract" in s for s in shown)
    assert any(s.startswith("f.yaml:8:") and "unknown class 'statin'" in s for s in shown)


def test_findings_carry_suggestions_and_every_match_names_its_status(bundled: RuleSet) -> None:
    request = CheckRequest(
        medications=(
            MedicationEntry("w", "319733000"),  # Warfarin 1mg tablets: formulary
            MedicationEntry("n", "329806007"),  # Naproxen 250mg tablets: formulary first line
            MedicationEntry("e", "317335000", MedicationStatus.PROPOSED),  # esomeprazole
        ),
        patient=PatientContext(age_years=70, egfr=80.0),
    )
    result = check(request, bundled)
    by_rule = {f.rule_id: f for f in result.findings}
    non_formulary = by_rule["FORMULARY-NON-FORMULARY"]
    assert [s.name for s in non_formulary.suggestions] == ["Omeprazole", "Lansoprazole"]
    assert non_formulary.involves_proposed
    statuses = {m.ref: m.formulary_status for m in by_rule["PINCER-D"].matched}
    assert statuses == {"w": "formulary", "n": "formulary (first line)"}
    assert (
        bundled.identity.formulary_version
        == "NHS Northshire ICB formulary (fictional example) 2026.11"
    )


def test_a_vtm_entry_that_covers_no_product_is_a_warning(dmd: DmdIndex) -> None:
    # 703678003 Dapagliflozin is a VTM in the 2019 table; the VMPs link to 775447002.
    text = (
        HEADER
        + """products:
  - {code: "703678003", name: Dapagliflozin, status: formulary}
"""
    )
    _, warnings = compile_formulary({"f.yaml": text}, dmd)
    assert [w.kind.value for w in warnings] == ["unknown-code"]
    assert "covers only prescriptions written at VTM level" in str(warnings[0])
