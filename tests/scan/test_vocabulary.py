"""The scan's code table says, code by code, what `DmdIndex.resolve` says for a request."""

from __future__ import annotations

import polars as pl
import pytest

from medsopt.dmd.concepts import Resolved, UnresolvedReason
from medsopt.engine.resolve import not_placed
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import vocabulary
from medsopt.store.activate import BUNDLED_FORMULARY

SUPERSEDED = BUNDLED_FORMULARY / "dmd" / "bundled" / "superseded.parquet"
NOT_IN_DMD = "99999991000001109"  # well formed, in no extract


def one_by_one(ruleset: RuleSet, retired: list[str]) -> pl.DataFrame:
    """The table built the slow, obvious way: every code through `resolve` and `not_placed`."""
    dmd = ruleset.dmd
    rows: list[tuple[str | None, ...]] = []
    for code in sorted({c.code for c in dmd.concepts()} | set(retired)):
        outcome = dmd.resolve(code)
        if isinstance(outcome, Resolved) and not not_placed(outcome, ruleset):
            concept = outcome.concept
            vtm = dmd.concept(concept.vtm) if concept.vtm else None
            rows.append(
                (
                    code,
                    vocabulary.RESOLVED_OK,
                    concept.code,
                    concept.vmp,
                    concept.vtm or concept.vmp or concept.code,
                    concept.name,
                    vtm.name if vtm is not None else concept.name,
                )
            )
        else:
            reason = (
                UnresolvedReason.NOT_PLACED if isinstance(outcome, Resolved) else outcome.reason
            )
            rows.append((code, reason.value, None, None, None, None, None))
    columns = ("code", "resolution", "concept_code", "vmp", "molecule")
    names = ("concept_name", "molecule_name")
    return pl.DataFrame(rows, schema=[*columns, *names], orient="row")


@pytest.mark.parametrize("name", ["bundled", "spec"])
def test_every_code_resolves_in_the_table_as_it_does_one_by_one(
    name: str, request: pytest.FixtureRequest
) -> None:
    ruleset: RuleSet = request.getfixturevalue(name)
    # The retired ids, and one id that is in no extract.
    retired = [*pl.read_parquet(SUPERSEDED)["previous_code"].to_list(), NOT_IN_DMD]
    table = vocabulary.resolution_table(ruleset, retired)
    expected = one_by_one(ruleset, retired)
    assert table.equals(expected)
    # Every kind of outcome is in the extract, so each branch above was compared.
    assert set(table["resolution"]) >= {
        vocabulary.RESOLVED_OK,
        UnresolvedReason.UNKNOWN.value,
        UnresolvedReason.NOT_PLACED.value,
    }
    assert table.filter(pl.col("code") != pl.col("concept_code")).height > 0  # retired ids


def test_the_concepts_table_lists_every_concept_in_index_order(bundled: RuleSet) -> None:
    table = vocabulary.concepts_table(bundled)
    expected = [(c.code, c.level.value, c.vmp, c.vtm) for c in bundled.dmd.concepts()]
    assert list(table.iter_rows()) == expected
