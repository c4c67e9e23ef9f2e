"""The simulation page shows labels and rule ids as text, however they are spelt."""

from __future__ import annotations

import polars as pl
import pytest
from jinja2 import UndefinedError

from medsopt.reports.render import render
from medsopt.reports.simulation import render_html, render_text
from medsopt.scan.simulation import compare
from tests.reports.markup import HOSTILE, assert_inert, parse


def findings(rule_id: str, patients: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(patients)],
            "rule_id": [rule_id] * patients,
            "codes": [["319733000"]] * patients,
        },
        schema={"patient_id": pl.String, "rule_id": pl.String, "codes": pl.List(pl.String)},
    )


def test_hostile_rule_ids_and_labels_are_escaped() -> None:
    comparison = compare(findings(HOSTILE, 2), findings(HOSTILE, 3), 0.2)
    html = render_html(comparison, HOSTILE, f"proposed {HOSTILE}", 0.2)
    assert_inert(html)
    text = "".join(parse(html).text)
    assert text.count(HOSTILE) == 3  # baseline, proposed, the rule's row
    assert 'class="flagged"' in html and "+50%" in html
    assert "1 rules compared; 1 flagged" in text
    assert HOSTILE in render_text(comparison, HOSTILE, HOSTILE, 0.2)  # plain text: verbatim


def test_the_page_template_fails_without_its_data() -> None:
    with pytest.raises(UndefinedError):
        render("simulation.html.j2")
