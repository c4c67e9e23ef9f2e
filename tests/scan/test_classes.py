"""Adherence classes: the file is validated strictly and expands through the dm+d hierarchy."""

from __future__ import annotations

import polars as pl

from medsopt.rules.ruleset import RuleSet
from medsopt.scan.tables import ScanTables
from medsopt.store.activate import BUNDLED_FORMULARY
from medsopt.store.adherence import load_adherence_classes

ATORVASTATIN_20 = "320030001"  # VMP


def test_the_bundled_file_defines_the_three_required_classes(bundled: RuleSet) -> None:
    definitions, warnings = load_adherence_classes(BUNDLED_FORMULARY, bundled)
    assert definitions is not None and not warnings
    ids = {c.id for c in definitions.classes}
    assert {"statins", "ras-antagonists", "non-insulin-diabetes"} <= ids


def test_products_and_molecules_of_listed_codes_are_in_the_class(scan_tables: ScanTables) -> None:
    statins = set(scan_tables.classes.filter(pl.col("drug_class") == "statins")["concept_code"])
    resolution = scan_tables.resolution
    vmp = resolution.filter(pl.col("code") == ATORVASTATIN_20).row(0, named=True)
    assert ATORVASTATIN_20 in statins
    assert vmp["molecule"] in statins  # the VTM (a molecule-level record)
    amps = resolution.filter(pl.col("vmp") == ATORVASTATIN_20)["concept_code"].to_list()
    assert amps and set(amps) <= statins
    metformin = resolution.filter(pl.col("concept_name") == "Metformin 500mg tablets")[
        "concept_code"
    ]
    assert set(metformin) <= set(
        scan_tables.classes.filter(pl.col("drug_class") == "non-insulin-diabetes")["concept_code"]
    )
    assert not (set(metformin) & statins)


def test_default_doses_state_their_basis(scan_tables: ScanTables) -> None:
    doses = scan_tables.doses
    assert doses.height > 100
    assert doses["basis"].null_count() == 0
    assert (doses["daily_units"] > 0).all()
