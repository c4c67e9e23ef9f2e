"""A population's recorded condition groups are the same whether its patient ids are text or
the integer keys a scan numbers them with (those are made distinct by one 64-bit key)."""

from __future__ import annotations

import random

import polars as pl

from medsopt.engine.clauses.base import PATIENT_ID
from medsopt.engine.lookups import build_lookups
from medsopt.engine.population import MEDS_SCHEMA, build_population
from medsopt.rules.ruleset import RuleSet


def test_recorded_groups_do_not_depend_on_the_patient_id_type(bundled: RuleSet) -> None:
    lookups = build_lookups(bundled, None)
    codes = lookups.conditions["condition_code"].to_list()
    chooser = random.Random(15)
    # Patients with repeated codes and several codes of one group.
    rows = [(chooser.randrange(300), chooser.choice(codes)) for _ in range(3000)]
    rows += rows[:500]
    recorded = []
    for patient_type, ids in ((pl.UInt32, lambda n: n), (pl.String, lambda n: f"{n:05d}")):
        population = build_population(
            pl.DataFrame(schema={**MEDS_SCHEMA, PATIENT_ID: patient_type}),
            lookups,
            None,
            condition_codes=pl.DataFrame(
                [(ids(n), code) for n, code in rows],
                schema={PATIENT_ID: patient_type, "condition_code": pl.String},
                orient="row",
            ),
        )
        recorded.append(
            population.recorded.select(
                pl.col(PATIENT_ID).cast(pl.String).str.zfill(5),
                pl.col("condition_group").cast(pl.String),
            ).sort(PATIENT_ID, "condition_group")
        )
    text, numbered = recorded
    assert text.height > 100
    assert not text.is_duplicated().any()
    assert numbered.equals(text)
