"""A finding names the condition concept that matched (code and term), which may be a child of
the concept the rule was written for; the compiled groups keep each code's term for it."""

from __future__ import annotations

from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.sources import read_sources
from tests.conftest import SPEC_RULES

NAPROXEN, PROPRANOLOL = "329806007", "318353009"
LEFT_HEART_FAILURE, HFREF = "85232009", "703272007"
ASTHMA, MILD_PERSISTENT_ASTHMA_UNCONTROLLED = "195967001", "10676191000119106"


def conditions_of(ruleset: RuleSet, rule_id: str, medicine: str, *codes: str) -> tuple[str, ...]:
    result = check(
        CheckRequest(
            medications=(MedicationEntry("m1", medicine),),
            patient=PatientContext(age_years=60, condition_codes=codes),
        ),
        ruleset,
    )
    (finding,) = [f for f in result.findings if f.rule_id == rule_id]
    return finding.conditions


def test_the_explanation_names_the_child_concept_that_matched(bundled: RuleSet) -> None:
    assert conditions_of(bundled, "PINCER-I", NAPROXEN, LEFT_HEART_FAILURE) == (
        "condition heart-failure recorded: 85232009 Left heart failure",
    )


def test_every_recorded_code_of_the_group_is_named_in_code_order(bundled: RuleSet) -> None:
    assert conditions_of(
        bundled, "PINCER-G", PROPRANOLOL, ASTHMA, MILD_PERSISTENT_ASTHMA_UNCONTROLLED
    ) == (
        "condition asthma recorded: 10676191000119106 Mild persistent asthma uncontrolled; "
        "195967001 Asthma",
    )


def test_every_compiled_code_has_a_term_and_nothing_else_does(bundled: RuleSet) -> None:
    for group in bundled.groups.values():
        assert set(group.terms) == group.codes, group.id
        assert all(term.strip() for term in group.terms.values()), group.id


GROUPS = """
groups:
  - id: hf-listed
    title: t
    kind: condition
    description: d
    source: s
    codelist: codelists/hf-listed.csv
    codes:
      - {code: "85232009", term: "Left ventricular failure"}
  - id: hf-wide
    title: t
    kind: condition
    description: d
    source: s
    include_groups: [hf-listed, hf]
    exclude:
      - {code: "703272007", term: "Heart failure with reduced ejection fraction"}
"""
CODELIST = """code,term
85232009,Left heart failure
703272007,Heart failure with reduced ejection fraction
"""


def test_terms_follow_codes_through_codelists_include_groups_and_exclusions(dmd: DmdIndex) -> None:
    """A group's own `codes:` entry names a code before its codelist does; included groups add
    their terms; an excluded code loses its term with its membership."""
    sources = dict(read_sources(SPEC_RULES))
    sources["extra-groups.yaml"] = GROUPS
    sources["codelists/hf-listed.csv"] = CODELIST
    groups = compile_ruleset(sources, dmd).ruleset.groups  # raises on any error
    assert dict(groups["hf-listed"].terms) == {
        LEFT_HEART_FAILURE: "Left ventricular failure",
        HFREF: "Heart failure with reduced ejection fraction",
    }
    assert dict(groups["hf-wide"].terms) == {
        LEFT_HEART_FAILURE: "Left ventricular failure",
        "84114007": "Heart failure",
    }
    assert groups["hf-wide"].codes == frozenset(groups["hf-wide"].terms)
