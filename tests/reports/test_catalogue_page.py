"""Rule catalogue pages show committee-written text as text, however it is spelt."""

from __future__ import annotations

import dataclasses
import datetime

from medsopt.committee.cases import LocatedCase
from medsopt.reports.catalogue import render_catalogue, segments
from medsopt.rules.cases import CaseMedication
from medsopt.rules.cases import TestCase as Case
from medsopt.rules.ruleset import RuleSet
from tests.reports.markup import HOSTILE, assert_inert, parse

RULE, GROUP = "PINCER-D", "oral-nsaids"


def hostile_ruleset(bundled: RuleSet) -> RuleSet:
    """The bundled rule set with one rule's texts and one group's title replaced by HOSTILE."""
    compiled = bundled.rules[RULE]
    rule = compiled.rule.model_copy(
        update={
            "title": HOSTILE,
            "detail": "{medicines} " + HOSTILE,
            "rationale": HOSTILE,
            "authored_by": HOSTILE,
        }
    )
    group = dataclasses.replace(bundled.groups[GROUP], title=HOSTILE)
    return dataclasses.replace(
        bundled,
        rules={**bundled.rules, RULE: dataclasses.replace(compiled, rule=rule)},
        groups={**bundled.groups, GROUP: group},
    )


def test_hostile_rule_group_and_case_text_is_escaped(bundled: RuleSet) -> None:
    case = Case(
        name=HOSTILE,
        medications=(CaseMedication(code="319733000", note=HOSTILE),),
        expect_fired=(RULE,),
    )
    pages = render_catalogue(
        hostile_ruleset(bundled),
        [LocatedCase(case, "tests/hostile.yaml", 1)],
        datetime.date(2026, 11, 24),
    )
    for name in ("index.html", "by-drug.html", "by-review.html", f"rules/{RULE}.html"):
        assert_inert(pages[name])
    page = pages[f"rules/{RULE}.html"]
    # Title (twice: <title> and <h1>), detail, rationale, authored by, group, case name and note.
    assert "".join(parse(page).text).count(HOSTILE) == 8
    assert "<i>&lsaquo;medicines&rsaquo;</i>" in page  # placeholders still shown as labels


def test_placeholders_are_split_from_the_text_around_them() -> None:
    parts = segments("{medicines} & {age}{unknown}")
    assert [(p.text, p.placeholder) for p in parts] == [
        ("medicines", True),
        (" & ", False),
        ("age", True),
        ("{unknown}", False),
    ]
