"""Shared fixtures: the bundled dm+d extract and compiled rule sets, loaded once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medsopt.dmd.index import DmdIndex
from medsopt.dmd.release.files import load_dmd_extract
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations, build
from medsopt.store.sources import read_sources

DATA = Path(__file__).parent / "data"
SPEC_RULES = DATA / "spec_rules"


@pytest.fixture(scope="session")
def dmd() -> DmdIndex:
    return load_dmd_extract(BUNDLED_FORMULARY / "dmd" / "bundled")


@pytest.fixture(scope="session")
def bundled(dmd: DmdIndex) -> RuleSet:
    """The bundled rule set, built exactly as the server builds it (committee tests included)."""
    return build(Locations(BUNDLED_RULES, BUNDLED_FORMULARY)).ruleset


@pytest.fixture(scope="session")
def spec(dmd: DmdIndex) -> RuleSet:
    """A small hand-written rule set that pins down engine semantics independent of content."""
    return compile_ruleset(read_sources(SPEC_RULES), dmd).ruleset


@pytest.fixture
def formulary_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled formulary directory (its dm+d extract linked, not copied)."""
    copy = tmp_path / "formulary"
    shutil.copytree(BUNDLED_FORMULARY, copy, ignore=shutil.ignore_patterns("dmd"))
    (copy / "dmd").symlink_to(BUNDLED_FORMULARY / "dmd", target_is_directory=True)
    return copy
