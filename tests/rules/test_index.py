"""The load-time indexes: which rules a request looks up, keyed by medicine group or condition."""

from __future__ import annotations

import polars as pl

from medsopt.dmd.concepts import Level
from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.index import current_code
from medsopt.rules.membership import MembershipIndex
from medsopt.rules.ruleset import Membership, RuleSet
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


def memberships_one_by_one(ruleset: RuleSet) -> dict[str, tuple[Membership, ...]]:
    """The membership index the slow, obvious way: listed codes, then their descendants' and VTMs,
    the first listed code to bring a code into a group naming it (a live code before a retired
    id of it)."""
    dmd = ruleset.dmd
    index: dict[str, dict[str, str]] = {}
    groups = [g for g in ruleset.groups.values() if g.kind == "medicine"]
    for group in groups:
        current = {code: current_code(code, dmd) for code in group.codes}
        for code in sorted(group.codes, key=lambda c: (current[c] != c, c)):
            index.setdefault(current[code], {}).setdefault(group.id, code)
    for group in groups:
        if group.matching == "exact":
            continue
        for listed in sorted(group.codes):
            code = current_code(listed, dmd)
            members = [*dmd.descendants(code)]
            members += [g for child in dmd.descendants(code) for g in dmd.descendants(child)]
            concept = dmd.concept(code)
            if concept is not None and concept.vtm and concept.level is not Level.VTM:
                members.append(concept.vtm)
            for member in members:
                index.setdefault(member, {}).setdefault(group.id, listed)
    return {
        code: tuple(Membership(g, via) for g, via in sorted(found.items()))
        for code, found in index.items()
    }


def test_every_code_belongs_to_the_groups_found_one_by_one(bundled: RuleSet) -> None:
    expected = memberships_one_by_one(bundled)
    assert dict(bundled.membership) == expected
    # Lists name retired ids beside their live codes: the explanation names the live one.
    aliased = [
        (code, m)
        for code, found in expected.items()
        for m in found
        if m.via != code and current_code(m.via, bundled.dmd) == code
    ]
    assert all(code not in bundled.groups[m.group].codes for code, m in aliased)


def test_the_index_reads_a_code_s_groups_from_its_table(bundled: RuleSet) -> None:
    index = bundled.membership
    assert isinstance(index, MembershipIndex)
    warfarin = "319733000"
    assert warfarin in index and "99999991000001109" not in index
    assert bundled.groups_of("99999991000001109") == ()
    groups = index[warfarin]
    assert index[warfarin] is groups  # built once
    assert [m.group for m in groups] == sorted(
        index.table.filter(pl.col("concept_code") == warfarin)["group"]
    )
    assert "anticoagulants" in {m.group for m in groups}
    assert len(index) == len(list(index)) == index.table["concept_code"].n_unique()
