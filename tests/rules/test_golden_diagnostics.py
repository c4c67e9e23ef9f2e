"""Golden tests: one broken committee directory per failure mode, exact diagnostics expected.

A directory holding `adherence-classes.yaml` is a formulary directory, checked against the
bundled rule set; any other is a rules directory. Regenerate an expected.txt only after reading
the new output: `UPDATE_GOLDEN=1 pytest tests/rules`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.adherence import ADHERENCE_CLASSES
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.adherence import load_adherence_classes
from medsopt.store.sources import read_sources

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir())
FORMULARY_CASES = [case for case in CASES if (BROKEN / case / ADHERENCE_CLASSES).exists()]
RULE_CASES = [case for case in CASES if case not in FORMULARY_CASES]


def assert_golden(directory: Path, error: RuleSetError) -> None:
    actual = "\n".join(str(d) for d in error.diagnostics) + "\n"
    expected_file = directory / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(actual)
    assert actual == expected_file.read_text()


@pytest.mark.parametrize("case", RULE_CASES)
def test_broken_rules_give_exact_diagnostics(case: str, dmd: DmdIndex) -> None:
    directory = BROKEN / case
    with pytest.raises(RuleSetError) as raised:
        compile_ruleset(read_sources(directory), dmd)
    assert_golden(directory, raised.value)


@pytest.mark.parametrize("case", FORMULARY_CASES)
def test_broken_adherence_classes_give_exact_diagnostics(case: str, bundled: RuleSet) -> None:
    directory = BROKEN / case
    with pytest.raises(RuleSetError) as raised:
        load_adherence_classes(directory, bundled)
    assert_golden(directory, raised.value)
