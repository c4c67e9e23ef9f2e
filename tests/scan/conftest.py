"""Scan fixtures: the scan tables for the bundled rule set, built once per session."""

from __future__ import annotations

import datetime

import pytest

from medsopt.rules.ruleset import RuleSet
from medsopt.scan.files import tables_for
from medsopt.scan.tables import ScanTables
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

AS_OF = datetime.date(2026, 6, 30)  # the as-of date of the scan tests and the generator


@pytest.fixture(scope="session")
def scan_tables(bundled: RuleSet) -> ScanTables:
    """Everything a scan looks up, for the rule set the server would serve."""
    return tables_for(bundled, Locations(BUNDLED_RULES, BUNDLED_FORMULARY), AS_OF)
