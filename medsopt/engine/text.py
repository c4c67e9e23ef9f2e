"""Finding text: a rule's templates filled with one patient's values or a population's columns.

`render` is the one function both evaluators call, so a detail reads the same at the point of
care and in a scan's worklist; the value helpers beside it keep each placeholder's wording in
one place, as Python for one patient and as a polars expression for many.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar, overload

import polars as pl

from medsopt.rules.template import Template

NO_MEDICINES = "these medicines"
UNKNOWN_AGE = "unknown age"
UNKNOWN_EGFR = "unknown"
NOT_SCORED = "not scored"
NO_CONTRIBUTORS = "none"

V = TypeVar("V", str, pl.Expr)
# What to ask for each kind of missing data, in words an EPR can show a prescriber.
QUESTIONS = {
    "age_years": "What is the patient's age?",
    "egfr": "What is the patient's most recent eGFR (mL/min/1.73m2)?",
    "sex": "What is the patient's sex?",
    "pregnancy": "Is the patient pregnant?",
    "start_date": "When was each of these medicines started?",
    "as_of date": "What date is this check for (as-of date)?",
    "resolvable codes for every medicine": (
        "Which medicine is each unrecognised code? Send its dm+d VMP or AMP code."
    ),
}


def question(missing: str) -> str:
    """The question that supplies one missing item (its own name when no wording is set)."""
    if missing.startswith("results of "):
        return (
            f"Send the patient's {missing}, and the date from which the results sent are "
            "complete (monitoring_complete_from)."
        )
    return QUESTIONS.get(missing, f"Please supply: {missing}")


@overload
def render(template: Template, values: Mapping[str, str]) -> str: ...
@overload
def render(template: Template, values: Mapping[str, pl.Expr]) -> pl.Expr: ...
def render(template: Template, values: Mapping[str, str] | Mapping[str, pl.Expr]) -> str | pl.Expr:
    """The template with each placeholder replaced by its value (text, or a column)."""
    if all(type(value) is str for value in values.values()):
        return render_text(template, values)  # type: ignore[arg-type]
    pieces: list[str | pl.Expr] = []
    for literal, name in template.parts:
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(values[name])
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(str(piece) for piece in pieces)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in pieces])


def render_each(
    rows: pl.DataFrame,
    templates: Mapping[str, Sequence[Template | None]],
    number: pl.Expr,
    values: Mapping[str, pl.Expr] | None = None,
) -> pl.DataFrame:
    """`render` for rows of many templates at once: column `name` of a row is
    `templates[name][number]` filled with the row's `values` (a placeholder without one reads
    the row's column of its name).

    The rows are split by the placeholders their templates use, in order (a few kinds), not by
    template: within a kind each piece of literal text is read by number, and each value is
    worked out for the rows of the kinds that use it only.
    """
    values = values or {}
    kinds: dict[tuple[tuple[str | None, ...], ...], int] = {}
    kind_of = [
        kinds.setdefault(
            tuple(() if t is None else tuple(n for _, n in t.parts) for t in column), len(kinds)
        )
        for column in zip(*templates.values(), strict=True)
    ]
    if rows.is_empty():
        return rows.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in templates)
    if len(kinds) <= 1:
        parts = {(0,): rows}
    else:
        kind = pl.lit(pl.Series(kind_of, dtype=pl.UInt32)).gather(number).alias("template_kind")
        parts = rows.with_columns(kind).partition_by(
            "template_kind", as_dict=True, include_key=False
        )
    shapes = list(kinds)
    rendered = []
    for (index,), part in parts.items():
        filled = {}
        for (name, column), names in zip(templates.items(), shapes[int(index)], strict=True):
            pieces: list[pl.Expr] = []
            for slot, placeholder in enumerate(names):
                pieces.append(
                    by_number(
                        [t.parts[slot][0] if t and slot < len(t.parts) else "" for t in column],
                        number,
                    )
                )
                if placeholder is not None:
                    pieces.append(values.get(placeholder, pl.col(placeholder)))
            filled[name] = pl.concat_str(pieces) if pieces else pl.lit("")
        rendered.append(part.with_columns(**filled))
    return pl.concat(rendered)


def by_number(texts: Sequence[str | None], number: pl.Expr) -> pl.Expr:
    """texts[number] for every row (one literal when all are the same)."""
    if len(set(texts)) == 1:
        return pl.lit(texts[0], dtype=pl.String)
    return pl.lit(pl.Series(texts, dtype=pl.String)).gather(number)


def render_text(template: Template, values: Mapping[str, str]) -> str:
    """`render` for one patient's values (all text), as the point-of-care evaluator calls it."""
    # The template only has bare names (rules.template), so str.format_map reads it exactly as
    # `parts` does, at C speed.
    return template.source.format_map(values)


def medicines_text(names: Iterable[str]) -> str:
    """{medicines}: the involved medicines' names, sorted, joined by ' + '."""
    return " + ".join(sorted(set(names))) or NO_MEDICINES


def age_text(age: int | None) -> str:
    """{age}: e.g. '78 years'."""
    return UNKNOWN_AGE if age is None else f"{age} years"


def egfr_text(egfr: float | None) -> str:
    """{egfr}: six significant figures, no trailing zeros (45.0 reads '45')."""
    return UNKNOWN_EGFR if egfr is None else f"{egfr:g}"


def medicines_expr(names: pl.Expr) -> pl.Expr:
    """`medicines_text` over a list-of-names column (a null list names no medicine)."""
    # One name (most findings) is taken as it is: sorting lists of one or none costs far more
    # than sorting the few longer ones.
    count = names.list.len()
    joined = names.list.unique().list.sort().list.join(" + ")
    return (
        pl.when(count == 1)
        .then(names.list.first())
        .when(count > 1)
        .then(joined)
        .otherwise(pl.lit(NO_MEDICINES))
    )


def sorted_texts(texts: pl.Expr) -> pl.Expr:
    """A list-of-texts column with each list sorted (lists of one or none are left as they are:
    sorting them costs far more than sorting the longer ones)."""
    return pl.when(texts.list.len() > 1).then(texts.list.sort()).otherwise(texts)


def age_expr(age: pl.Expr) -> pl.Expr:
    """`age_text` over an integer column."""
    return (
        pl.when(age.is_null())
        .then(pl.lit(UNKNOWN_AGE))
        .otherwise(pl.concat_str(age.cast(pl.String), pl.lit(" years")))
    )


def egfr_expr(egfr: pl.Expr) -> pl.Expr:
    """`egfr_text` over a float column (eGFR is 0-250, so `:g` never uses an exponent)."""
    text = egfr.round_sig_figs(6).cast(pl.String).str.replace(r"\.0$", "")
    return pl.when(egfr.is_null()).then(pl.lit(UNKNOWN_EGFR)).otherwise(text)
