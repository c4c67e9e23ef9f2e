"""Golden tests: one broken rules directory per failure mode, exact diagnostics expected.

Regenerate an expected.txt only after reading the new output: `UPDATE_GOLDEN=1 pytest tests/rules`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.dmd.index import DmdIndex
from medsopt.loading.rules_dir import read_sources
from medsopt.rules.compile import compile_ruleset

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir()))
def test_broken_rules_give_exact_diagnostics(case: str, dmd: DmdIndex) -> None:
    directory = BROKEN / case
    with pytest.raises(RuleSetError) as raised:
        compile_ruleset(read_sources(directory), dmd)
    actual = "\n".join(str(d) for d in raised.value.diagnostics) + "\n"
    expected_file = directory / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(actual)
    assert actual == expected_file.read_text()
