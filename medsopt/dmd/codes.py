"""SNOMED CT concept identifiers as used by dm+d, checked on construction."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Verhoeff dihedral-group tables; SNOMED CT ids carry a Verhoeff check digit as their last digit.
# https://confluence.ihtsdotools.org/display/DOCRELFMT/6.2+Check-digit+computation
_MULTIPLY = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
# Position permutations: row i is the base permutation applied i times (Verhoeff 1969); deriving
# the rows avoids transcription errors in a table that is easy to mistype.
_BASE_PERMUTATION = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)


def _permutation_rows() -> tuple[tuple[int, ...], ...]:
    rows = [tuple(range(10))]
    for _ in range(7):
        rows.append(tuple(rows[-1][_BASE_PERMUTATION[j]] for j in range(10)))
    return tuple(rows)


_PERMUTE = _permutation_rows()
# Partition ids (2nd and 3rd digits from the right) of *concept* ids: 00 short format
# (SNOMED International), 10 long format (extension namespace, e.g. dm+d's 1000001).
CONCEPT_PARTITIONS = frozenset({"00", "10"})
MIN_LENGTH = 6
MAX_LENGTH = 18


class CodeProblem(enum.Enum):
    """Why a string is not a SNOMED CT concept id."""

    EMPTY = "is empty"
    NOT_DIGITS = "must contain only the digits 0-9"
    LENGTH = f"must be {MIN_LENGTH} to {MAX_LENGTH} digits long"
    LEADING_ZERO = "must not start with 0"
    NOT_A_CONCEPT = "has a partition id that is not a concept (expected 00 or 10)"
    CHECK_DIGIT = (
        "fails the SNOMED CT Verhoeff check digit (mistyped, or rounded by a spreadsheet?)"
    )


class InvalidCodeError(ValueError):
    """A string that cannot be a SNOMED CT concept id."""

    def __init__(self, value: str, problem: CodeProblem) -> None:
        super().__init__(f"{value!r} {problem.value}")
        self.value = value
        self.problem = problem


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of `digits` is its Verhoeff check digit."""
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _MULTIPLY[check][_PERMUTE[position % 8][ord(char) - 48]]
    return check == 0


def code_problem(value: str) -> CodeProblem | None:
    """The first reason `value` is not a SNOMED CT concept id, or None when it is one."""
    if not value:
        return CodeProblem.EMPTY
    if not value.isascii() or not value.isdigit():
        return CodeProblem.NOT_DIGITS
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        return CodeProblem.LENGTH
    if value[0] == "0":
        return CodeProblem.LEADING_ZERO
    if value[-3:-1] not in CONCEPT_PARTITIONS:
        return CodeProblem.NOT_A_CONCEPT
    if not verhoeff_valid(value):
        return CodeProblem.CHECK_DIGIT
    return None


@dataclass(frozen=True, slots=True, order=True)
class SctId:
    """A SNOMED CT concept id, always a string (17-18 digit ids do not survive float64)."""

    value: str

    def __post_init__(self) -> None:
        problem = code_problem(self.value)
        if problem is not None:
            raise InvalidCodeError(self.value, problem)

    def __str__(self) -> str:
        return self.value


_INVERSE = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def with_check_digit(payload: str) -> str:
    """`payload` (digits incl. namespace and partition) with its Verhoeff check digit appended."""
    check = 0
    for position, char in enumerate(reversed(payload), start=1):
        check = _MULTIPLY[check][_PERMUTE[position % 8][ord(char) - 48]]
    return payload + str(_INVERSE[check])
