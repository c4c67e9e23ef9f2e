"""Helpers for the biosimilar tests: the bundled rule set with other preferences or tables.

Products named here are real dm+d codes from formulary/biosimilars/ (see each YAML's header).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import pytest

from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.findings import CheckResult, Finding
from medsopt.engine.request import MedicationStatus
from medsopt.formulary.biosimilars import BiosimilarTable
from medsopt.formulary.formulary import Formulary
from medsopt.formulary.models import BiosimilarPreference, PreferredBrand, ProductRef
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations, compile_sources

FROM = datetime.date(2026, 11, 1)


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    """The bundled rules, formulary and biosimilar table, compiled without running committee
    cases (those run in `medsopt rules test` and the `bundled` fixture)."""
    compiled, _ = compile_sources(Locations(BUNDLED_RULES, BUNDLED_FORMULARY))
    return compiled.ruleset


@pytest.fixture(scope="session")
def table(ruleset: RuleSet) -> BiosimilarTable:
    assert ruleset.biosimilars is not None
    return ruleset.biosimilars


def with_preferences(ruleset: RuleSet, preferences: Mapping[str, Sequence[str]]) -> RuleSet:
    """The rule set with these preferred brands ({VTM code: brands, best first}) only."""
    assert ruleset.formulary is not None
    chosen = {
        vtm: BiosimilarPreference(
            molecule=ProductRef(code=vtm, name="molecule"),
            preferred=tuple(PreferredBrand(brand=b, effective_from=FROM) for b in brands),
        )
        for vtm, brands in preferences.items()
    }
    formulary = dataclasses.replace(ruleset.formulary, biosimilars=MappingProxyType(chosen))
    return dataclasses.replace(ruleset, formulary=formulary)


def with_table(ruleset: RuleSet, table: BiosimilarTable, formulary: Formulary | None) -> RuleSet:
    return dataclasses.replace(ruleset, biosimilars=table, formulary=formulary)


def run(
    ruleset: RuleSet,
    *codes: str,
    patient: PatientContext | None = None,
    as_of: datetime.date | None = None,
    proposed: Sequence[str] = (),
) -> CheckResult:
    """Check these codes (refs m0, m1, ...); codes in `proposed` are proposed, others current."""
    medications = tuple(
        MedicationEntry(
            f"m{i}",
            code,
            MedicationStatus.PROPOSED if code in proposed else MedicationStatus.CURRENT,
        )
        for i, code in enumerate(codes)
    )
    request = CheckRequest(medications, patient or PatientContext(), as_of=as_of)
    return check(request, ruleset)


def biosimilar(result: CheckResult) -> list[Finding]:
    return [f for f in result.findings if f.category == "biosimilar"]


def only(result: CheckResult, rule_id: str) -> Finding:
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert len(found) == 1, [f.rule_id for f in result.findings]
    return found[0]
