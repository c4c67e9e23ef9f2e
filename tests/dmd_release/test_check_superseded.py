"""A superseded VMP code in a check resolves, fires its successor's rules and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsopt.dmd.release.files import load_dmd_extract
from medsopt.engine import CheckRequest, MedicationEntry, check
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.sources import read_sources
from tests.dmd_release.conftest import FIXTURE_RULES

WARFARIN_1MG = "319733000"
NAPROXEN_MR_RETIRED, NAPROXEN_MR = "329847005", "36030111000001106"


@pytest.fixture(scope="module")
def r2_rules(extracts: tuple[Path, Path]) -> RuleSet:
    return compile_ruleset(read_sources(FIXTURE_RULES), load_dmd_extract(extracts[1])).ruleset


def test_superseded_code_fires_the_same_rules_as_its_successor(r2_rules: RuleSet) -> None:
    old = check(
        CheckRequest(
            (MedicationEntry("m1", WARFARIN_1MG), MedicationEntry("m2", NAPROXEN_MR_RETIRED))
        ),
        r2_rules,
    )
    new = check(
        CheckRequest((MedicationEntry("m1", WARFARIN_1MG), MedicationEntry("m2", NAPROXEN_MR))),
        r2_rules,
    )
    assert not old.unresolved and old.complete
    assert [f.rule_id for f in old.findings] == [f.rule_id for f in new.findings]
    assert [f.rule_id for f in old.findings] == ["FIX-ANTICOAG-NSAID"]
    assert [m.groups for m in old.resolved] == [m.groups for m in new.resolved]


def test_the_answer_marks_the_code_superseded(r2_rules: RuleSet) -> None:
    result = check(
        CheckRequest((MedicationEntry("m2", NAPROXEN_MR_RETIRED),)),
        r2_rules,
    )
    [(ref, supersession)] = result.superseded
    assert ref == "m2"
    assert (supersession.previous_code, supersession.current_code) == (
        NAPROXEN_MR_RETIRED,
        NAPROXEN_MR,
    )
    assert supersession.changed_on == "2018-10-29"
    [medication] = result.resolved
    assert medication.resolved.concept.name == "Naproxen 500mg modified-release tablets"
    assert "nsaids-oral" in [m.group for m in medication.groups]


def test_an_amp_of_the_renumbered_vmp_resolves_under_the_new_id(r2_rules: RuleSet) -> None:
    result = check(
        CheckRequest(
            (MedicationEntry("m1", WARFARIN_1MG), MedicationEntry("m2", "61111000001105"))
        ),
        r2_rules,
    )
    [_, naprosyn] = result.resolved
    assert [c.code for c in naprosyn.resolved.ancestors] == [NAPROXEN_MR, "11847009"]
    assert [f.rule_id for f in result.findings] == ["FIX-ANTICOAG-NSAID"]
