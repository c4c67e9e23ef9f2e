"""SNOMED CT concept-id checks as one polars expression (the rules of `medsopt.dmd.codes`).

`code_problem_expr` gives, per row, the same first problem `code_problem` reports (its
`CodeProblem.value` text) or null for a valid id. The Verhoeff check digit is computed as 18
column-wise steps over the reversed digits, each two lookups into the same tables the
per-code check uses (no per-row Python).
"""

from __future__ import annotations

import polars as pl

from medsopt.dmd.codes import (
    _MULTIPLY,
    _PERMUTE,
    CONCEPT_PARTITIONS,
    MAX_LENGTH,
    MIN_LENGTH,
    CodeProblem,
)


def verhoeff_valid_expr(digits: pl.Expr) -> pl.Expr:
    """True where the string of ASCII digits ends in its Verhoeff check digit."""
    reversed_ = digits.str.reverse()
    length = digits.str.len_bytes()
    multiply = pl.lit(pl.Series([v for row in _MULTIPLY for v in row], dtype=pl.Int32))
    check: pl.Expr = pl.lit(0, dtype=pl.Int32)
    for position in range(MAX_LENGTH):
        digit = reversed_.str.slice(position, 1).cast(pl.Int32, strict=False).fill_null(0)
        permuted = pl.lit(pl.Series(_PERMUTE[position % 8], dtype=pl.Int32)).gather(digit)
        # Past the end of a shorter id the step multiplies by the identity 0, leaving `check`
        # as it was; `check` then appears once per step, so the expression grows linearly.
        step = pl.when(length > position).then(permuted).otherwise(pl.lit(0, dtype=pl.Int32))
        check = multiply.gather(check * 10 + step)
    return check == 0


def code_problem_expr(code: pl.Expr) -> pl.Expr:
    """The first `CodeProblem` text for each code (as `code_problem` orders them), else null."""
    digits_only = code.str.contains(r"^[0-9]+$")
    length = code.str.len_bytes()
    partition = code.str.slice(-3, 2)
    return (
        pl.when(code.is_null() | (code == ""))
        .then(pl.lit(CodeProblem.EMPTY.value))
        .when(~digits_only)
        .then(pl.lit(CodeProblem.NOT_DIGITS.value))
        .when((length < MIN_LENGTH) | (length > MAX_LENGTH))
        .then(pl.lit(CodeProblem.LENGTH.value))
        .when(code.str.starts_with("0"))
        .then(pl.lit(CodeProblem.LEADING_ZERO.value))
        .when(~partition.is_in(sorted(CONCEPT_PARTITIONS)))
        .then(pl.lit(CodeProblem.NOT_A_CONCEPT.value))
        .when(~verhoeff_valid_expr(code))
        .then(pl.lit(CodeProblem.CHECK_DIGIT.value))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
