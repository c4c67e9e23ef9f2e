"""`render_each` (every rule's template over a population at once, split by the placeholders
the templates use) writes exactly what `render` writes for each row, one row at a time."""

from __future__ import annotations

import random

import polars as pl

from medsopt.engine.text import render, render_each
from medsopt.rules.ruleset import RuleSet
from medsopt.rules.template import parse_template


def test_every_bundled_template_reads_as_render_writes_it(bundled: RuleSet) -> None:
    rules = [compiled.ir for compiled in bundled.rules.values()]
    names = sorted({n for r in rules for t in (r.detail, r.recommendation) for n in t.placeholders})
    chooser = random.Random(15)
    rows = [
        {
            "number": chooser.randrange(len(rules)),
            **{name: chooser.choice(["", "x", "Aspirin 75mg + {age}", "é 3"]) for name in names},
        }
        for _ in range(2000)
    ]
    frame = pl.DataFrame(rows, schema={"number": pl.UInt32, **dict.fromkeys(names, pl.String)})
    rendered = render_each(
        frame,
        {
            "detail": [r.detail for r in rules],
            "recommendation": [r.recommendation for r in rules],
        },
        pl.col("number"),
    )
    assert rendered.height == len(rows)
    for row in rendered.iter_rows(named=True):
        rule = rules[row["number"]]
        values = {name: row[name] for name in names}
        assert row["detail"] == render(rule.detail, values)
        assert row["recommendation"] == render(rule.recommendation, values)


def test_a_null_value_leaves_the_text_null_and_unknown_numbers_read_nothing() -> None:
    templates = [parse_template("{a} and {b}."), None, parse_template("only {b}"), None]
    frame = pl.DataFrame(
        {"number": [0, 0, 2, 1], "a": ["A", None, "z", "q"], "b": ["B", "B", None, "r"]},
        schema={"number": pl.UInt32, "a": pl.String, "b": pl.String},
    )
    rendered = render_each(frame, {"text": templates}, pl.col("number")).sort("number", "a")
    assert rendered["text"].to_list() == [None, "A and B.", "", None]


def test_no_rows_give_no_rows_with_the_text_columns() -> None:
    templates = [parse_template("{a} and {b}."), parse_template("only {c}")]
    frame = pl.DataFrame(schema={"number": pl.UInt32})
    rendered = render_each(frame, {"text": templates, "more": templates}, pl.col("number"))
    assert rendered.height == 0
    assert rendered.schema == {"number": pl.UInt32, "text": pl.String, "more": pl.String}
