"""The edges: request validation, the wire form, committee cases, and the formulary's
`biosimilars:` section (with its diagnostics)."""

from __future__ import annotations

import datetime

import pytest

from medsopt.authoring.diagnostics import DiagnosticKind, RuleSetError
from medsopt.committee.cases import parse_cases
from medsopt.committee.runner import coverage, run_all
from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, validate_request
from medsopt.engine.request import BiologicException, BiologicExceptionKind
from medsopt.formulary.biosimilars import BiosimilarTable
from medsopt.formulary.formulary import compile_formulary
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import request_from_proto
from medsopt.v1 import medsopt_pb2 as pb

HUMIRA_PEN = "11188011000001105"


def test_exceptions_are_validated_with_field_paths() -> None:
    request = CheckRequest(
        medications=(MedicationEntry("m1", HUMIRA_PEN),),
        patient=PatientContext(
            biologic_exceptions=(
                BiologicException("398728003", BiologicExceptionKind.DECLINED, "2027-06-01"),
                BiologicException("398728004", BiologicExceptionKind.UNSPECIFIED, "next year"),
            )
        ),
    )
    assert {v.field for v in validate_request(request)} == {
        "patient.biologic_exceptions[1].molecule_code",
        "patient.biologic_exceptions[1].kind",
        "patient.biologic_exceptions[1].expires_on",
    }


def test_exceptions_arrive_from_the_wire() -> None:
    message = pb.CheckMedicationsRequest(
        medications=[pb.Medication(ref="m1", code=HUMIRA_PEN)],
        patient=pb.PatientContext(
            biologic_exceptions=[
                pb.BiologicException(
                    molecule_code="398728003",
                    kind=pb.BIOLOGIC_EXCEPTION_KIND_FAILED_SWITCH,
                ),
                pb.BiologicException(
                    molecule_code="398728003",
                    kind=pb.BIOLOGIC_EXCEPTION_KIND_DECLINED,
                    expires_on="2027-06-01",
                ),
            ]
        ),
    )
    patient = request_from_proto(message).patient
    assert patient.biologic_exceptions == (
        BiologicException("398728003", BiologicExceptionKind.FAILED_SWITCH, None),
        BiologicException("398728003", BiologicExceptionKind.DECLINED, "2027-06-01"),
    )


CASES = """cases:
  - name: decline in force
    as_of: 2026-12-01
    patient:
      biologic_exceptions:
        - {molecule_code: "398728003", kind: declined, expires_on: 2027-06-01, note: Adalimumab}
    medications: [{code: "11188011000001105"}]
    expect_fired: [BIOSIMILAR-SWITCH]
  - name: failed switch
    patient:
      biologic_exceptions: [{molecule_code: "398728003", kind: failed-switch}]
    medications: [{code: "11188011000001105"}]
    expect_not_fired: [BIOSIMILAR-SWITCH, BIOSIMILAR-NO-EQUIVALENT]
"""


def test_committee_cases_carry_exceptions_and_may_expect_biosimilar_ids(
    ruleset: RuleSet,
) -> None:
    cases, problems = parse_cases({"tests/b.yaml": CASES})
    assert problems == ()
    assert cases[0].request().patient.biologic_exceptions == (
        BiologicException("398728003", BiologicExceptionKind.DECLINED, "2027-06-01"),
    )
    report = run_all(cases, ruleset)
    assert report.failures == ()
    # The biosimilar findings are rules like any other: a case may name them.
    assert not [
        p
        for p in coverage(cases, ruleset)
        if p.kind is DiagnosticKind.UNKNOWN_REFERENCE and "BIOSIMILAR" in p.message
    ]


def test_a_case_with_a_bad_exception_is_a_diagnostic() -> None:
    text = CASES.replace("kind: failed-switch", "kind: failed")
    _, problems = parse_cases({"tests/b.yaml": text})
    assert [p.kind.value for p in problems] == ["invalid-value"]
    assert "'failed' is not allowed" in str(problems[0])


HEADER = """formulary:
  name: Test formulary
  organisation: Test ICB
  version: "2026.1"
  effective_date: 2026-01-01
  source: tests
"""


def test_preferences_compile_and_are_dated(dmd: DmdIndex, table: BiosimilarTable) -> None:
    text = (
        HEADER
        + """biosimilars:
  - molecule: {code: "398728003", name: Adalimumab}
    preferred:
      - {brand: Amgevita, effective_from: 2026-01-01, effective_to: 2026-06-30}
      - {brand: Imraldi, effective_from: 2026-07-01}
"""
    )
    formulary, _ = compile_formulary({"f.yaml": text}, dmd, table)
    assert [
        p.brand for p in formulary.preferred_brands("398728003", datetime.date(2026, 3, 1))
    ] == ["Amgevita"]
    assert [
        p.brand for p in formulary.preferred_brands("398728003", datetime.date(2026, 7, 1))
    ] == ["Imraldi"]
    assert formulary.preferred_brands("118259007", datetime.date(2026, 7, 1)) == ()


def test_a_formulary_without_biosimilars_still_compiles(
    dmd: DmdIndex, table: BiosimilarTable
) -> None:
    formulary, _ = compile_formulary({"f.yaml": HEADER}, dmd, table)
    assert dict(formulary.biosimilars) == {}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            '  - molecule: {code: "398728003", name: Adalimumab}\n'
            "    preferred: [{brand: Amgevitta, effective_from: 2026-01-01}]\n",
            "f.yaml:9:18: error[unknown-reference]: 'Amgevitta' is not a brand of Adalimumab in "
            "the biosimilar table (expected Amgevita, Hulio, Humira, Hyrimoz, Idacio, Imraldi); "
            "did you mean 'Amgevita'?",
        ),
        (
            '  - molecule: {code: "108600003", name: Atorvastatin}\n'
            "    preferred: [{brand: Lipitor, effective_from: 2026-01-01}]\n",
            "f.yaml:8:16: error[unknown-reference]: 108600003 (Atorvastatin) is not a molecule of "
            "the biosimilar table (expected a VTM listed in formulary/biosimilars/)",
        ),
        (
            '  - molecule: {code: "398728003", name: Adalimumab}\n'
            "    preferred: [{brand: Amgevita, effective_from: 2026-06-01, "
            "effective_to: 2026-01-01}]\n",
            "effective_to is before effective_from",
        ),
        (
            '  - molecule: {code: "398728003", name: Adalimumab}\n'
            "    preferred: [{brand: Amgevita, effective_from: 2026-01-01}]\n"
            '  - molecule: {code: "398728003", name: Adalimumab}\n'
            "    preferred: [{brand: Hulio, effective_from: 2026-01-01}]\n",
            "f.yaml:10:5: error[duplicate-id]: molecule 398728003 listed twice",
        ),
    ],
    ids=["unknown-brand", "not-in-table", "dates", "duplicate"],
)
def test_preference_problems_are_diagnostics(
    section: str, expected: str, dmd: DmdIndex, table: BiosimilarTable
) -> None:
    with pytest.raises(RuleSetError) as raised:
        compile_formulary({"f.yaml": HEADER + "biosimilars:\n" + section}, dmd, table)
    shown = [str(d) for d in raised.value.diagnostics]
    assert any(expected in s for s in shown), shown
