"""The load-time indexes: which rules a request looks up, keyed by medicine group or condition."""

from __future__ import annotations

from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.sources import read_sources
from tests.conftest import SPEC_RULES

HF, ASTHMA, OMEPRAZOLE = "84114007", "195967001", "317291008"

OMISSIONS = """
rules:
  - id: I-HF-OR-ASTHMA-NO-PPI
    match: {none_of: [ppi], patient: {conditions_any: [hf, asthma]}}
    {common}
  - id: I-HF-AND-ASTHMA-NO-PPI
    match: {none_of: [ppi], patient: {conditions_all: [hf, asthma]}}
    {common}
  - id: I-OLD-NO-PPI
    match: {none_of: [ppi], patient: {age_at_least: 90}}
    {common}
"""
COMMON = (
    "title: t\n    category: polypharmacy\n    severity: info\n    evidence: theoretical\n"
    "    status: active\n    detail: d\n    recommendation: r\n    rationale: r\n"
    "    citations: [{source: s, reference: r}]\n    authored_by: a\n    checked_by: c\n"
    "    date_reviewed: 2026-01-01\n    next_review: 2027-01-01"
)


def indexed(dmd: DmdIndex) -> RuleSet:
    sources = dict(read_sources(SPEC_RULES))
    sources["omissions.yaml"] = OMISSIONS.replace("{common}", COMMON)
    return compile_ruleset(sources, dmd).ruleset


def test_an_omission_that_needs_a_condition_is_looked_up_by_that_condition(dmd: DmdIndex) -> None:
    ruleset = indexed(dmd)
    assert "I-HF-OR-ASTHMA-NO-PPI" in ruleset.condition_triggers[HF]
    assert "I-HF-OR-ASTHMA-NO-PPI" in ruleset.condition_triggers[ASTHMA]
    assert "I-HF-OR-ASTHMA-NO-PPI" not in ruleset.untriggered
    # Every condition of conditions_all is required, so one key suffices.
    keyed = [c for c in (HF, ASTHMA) if "I-HF-AND-ASTHMA-NO-PPI" in ruleset.condition_triggers[c]]
    assert len(keyed) == 1
    # Nothing to key on: evaluated for every request.
    assert "I-OLD-NO-PPI" in ruleset.untriggered


def test_condition_keyed_rules_fire_for_each_listed_condition(dmd: DmdIndex) -> None:
    ruleset = indexed(dmd)

    def fired(conditions: tuple[str, ...], codes: tuple[str, ...] = ("319733000",)) -> set[str]:
        meds = tuple(MedicationEntry(f"m{i}", c) for i, c in enumerate(codes))
        patient = PatientContext(age_years=70, condition_codes=conditions)
        result = check(CheckRequest(meds, patient), ruleset)
        return {f.rule_id for f in result.findings if f.rule_id.startswith("I-")}

    assert fired((ASTHMA,)) == {"I-HF-OR-ASTHMA-NO-PPI"}
    assert fired((HF,)) == {"I-HF-OR-ASTHMA-NO-PPI"}
    assert fired((HF, ASTHMA)) == {"I-HF-OR-ASTHMA-NO-PPI", "I-HF-AND-ASTHMA-NO-PPI"}
    assert fired((HF, ASTHMA), ("319733000", OMEPRAZOLE)) == set()
    assert fired(()) == set()
