from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medsopt.dmd.codes import CodeProblem, InvalidCodeError, SctId, code_problem, verhoeff_valid

REAL_CODES = [
    "138875005",  # SNOMED CT root concept
    "319733000",  # VMP Warfarin 1mg tablets
    "421411000001103",  # AMP Warfarin 1mg tablets (A A H Pharmaceuticals Ltd)
    "195967001",  # Asthma
    "86411000001109",  # AMP Accupro 40mg tablets (Pfizer Ltd)
    "36030111000001106",  # VMP Naproxen 500mg modified-release tablets
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert code_problem(code) is None
    assert str(SctId(code)) == code


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", CodeProblem.EMPTY),
        ("31973300O", CodeProblem.NOT_DIGITS),
        ("３１９７３３０００", CodeProblem.NOT_DIGITS),  # full-width digits
        ("12345", CodeProblem.LENGTH),
        ("1234567890123456789", CodeProblem.LENGTH),
        ("0319733000", CodeProblem.LEADING_ZERO),
        ("319733001", CodeProblem.CHECK_DIGIT),
        ("8787811000001100", CodeProblem.CHECK_DIGIT),  # spreadsheet-rounded levothyroxine id
        ("319733010", CodeProblem.NOT_A_CONCEPT),  # partition 01 is a description id
    ],
)
def test_invalid_codes_name_their_problem(value: str, problem: CodeProblem) -> None:
    assert code_problem(value) is problem
    with pytest.raises(InvalidCodeError) as raised:
        SctId(value)
    assert raised.value.problem is problem


@given(st.sampled_from(REAL_CODES), st.data())
def test_any_single_digit_change_is_detected(code: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(code) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    assert not verhoeff_valid(code[:position] + replacement + code[position + 1 :])


@given(st.sampled_from(REAL_CODES), st.data())
def test_adjacent_transpositions_are_detected(code: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(code) - 2))
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert not verhoeff_valid(swapped)
