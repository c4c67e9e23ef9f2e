"""Properties: no biosimilar suggestion ever changes route or strength, whatever the formulary
prefers, the patient's exceptions or the products on the list."""

from __future__ import annotations

import datetime
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from medsopt.engine import PatientContext
from medsopt.engine.request import BiologicException, BiologicExceptionKind
from medsopt.formulary.biosimilars import (
    BiosimilarTable,
    BrandProduct,
    Presentation,
    ProductEntry,
    Route,
)
from medsopt.formulary.equivalence import devices_compatible, equivalents
from medsopt.rules.ruleset import RuleSet
from tests.biosimilar.conftest import biosimilar, run, with_preferences

# Synthetic products (never compiled, so no dm+d code is needed or invented).
synthetic = st.builds(
    lambda code, brand, strength, volume, route, presentation: BrandProduct(
        ProductEntry.model_construct(
            code=str(code),
            name=f"{brand} {strength}",
            brand=brand,
            strength=strength,
            volume_ml=volume,
            route=route,
            presentation=presentation,
            citrate=None,
            latex=None,
        ),
        "0",
        "Molecule",
        "biosimilar",
        (),
        "AMP",
    ),
    st.integers(0, 10**6),
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(["40mg", "80mg", "100units/ml"]),
    st.sampled_from([None, 0.4, 0.8]),
    st.sampled_from(get_args(Route)),
    st.sampled_from(get_args(Presentation)),
)


@given(synthetic, st.lists(synthetic, max_size=12))
def test_equivalents_keep_route_strength_and_prefer_the_same_device(
    current: BrandProduct, pool: list[BrandProduct]
) -> None:
    chosen = equivalents(current, pool, {"A": 0, "B": 1})
    for product in chosen:
        assert product.entry.route == current.entry.route
        assert product.entry.strength == current.entry.strength
        assert devices_compatible(current, product)
    same_device_exists = any(
        q.entry.presentation == current.entry.presentation
        and q.entry.route == current.entry.route
        and q.entry.strength == current.entry.strength
        and q.code != current.code
        for q in pool
    )
    if same_device_exists:
        assert all(p.entry.presentation == current.entry.presentation for p in chosen)


@st.composite
def scenarios(
    draw: st.DrawFn, table: BiosimilarTable
) -> tuple[list[str], dict[str, list[str]], PatientContext, datetime.date | None, list[str]]:
    codes = sorted({*table.products, *table.generics, *table.molecules})
    medications = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=6, unique=True))
    preferences = {
        vtm: draw(st.permutations(sorted(b.name for b in m.molecule.brands)))[
            : draw(st.integers(0, len(m.molecule.brands)))
        ]
        for vtm, m in table.molecules.items()
    }
    exceptions = draw(
        st.lists(
            st.builds(
                BiologicException,
                st.sampled_from(sorted(table.molecules)),
                st.sampled_from(
                    [BiologicExceptionKind.FAILED_SWITCH, BiologicExceptionKind.DECLINED]
                ),
                st.one_of(st.none(), st.dates().map(datetime.date.isoformat)),
            ),
            max_size=3,
        )
    )
    as_of = draw(
        st.one_of(st.none(), st.dates(datetime.date(2026, 1, 1), datetime.date(2028, 1, 1)))
    )
    proposed = draw(st.lists(st.sampled_from(medications), unique=True))
    patient = PatientContext(biologic_exceptions=tuple(exceptions))
    return medications, {k: v for k, v in preferences.items() if v}, patient, as_of, proposed


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_no_suggestion_ever_changes_route_or_strength(
    ruleset: RuleSet, data: st.DataObject
) -> None:
    table = ruleset.biosimilars
    assert table is not None
    medications, preferences, patient, as_of, proposed = data.draw(scenarios(table))
    variant = with_preferences(ruleset, preferences)
    result = run(variant, *medications, patient=patient, as_of=as_of, proposed=proposed)
    by_ref = {f"m{i}": code for i, code in enumerate(medications)}
    for finding in biosimilar(result):
        code = by_ref[finding.medication_refs[0]]
        if code in table.products:
            shapes = {(table.products[code].entry.route, table.products[code].entry.strength)}
        else:  # a generic: its brand products all share one route and strength
            shapes = {
                (p.entry.route, p.entry.strength)
                for p in table.products.values()
                if p.entry.generic == code
            }
        for suggestion in finding.suggestions:
            suggested = table.products[suggestion.code].entry
            assert (suggested.route, suggested.strength) in shapes
        if finding.rule_id == "BIOSIMILAR-SWITCH":
            assert finding.suggestions
            assert shapes and len(shapes) == 1
        if finding.rule_id == "BIOSIMILAR-NO-EQUIVALENT":
            assert not finding.suggestions


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_failed_switch_in_force_always_suppresses(ruleset: RuleSet, data: st.DataObject) -> None:
    table = ruleset.biosimilars
    assert table is not None
    code = data.draw(st.sampled_from(sorted(table.products)))
    molecule = table.products[code].molecule
    failed = BiologicException(molecule, BiologicExceptionKind.FAILED_SWITCH)
    result = run(ruleset, code, patient=PatientContext(biologic_exceptions=(failed,)))
    assert biosimilar(result) == []


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_findings_do_not_depend_on_list_order(ruleset: RuleSet, data: st.DataObject) -> None:
    table = ruleset.biosimilars
    assert table is not None
    codes = data.draw(
        st.lists(st.sampled_from(sorted(table.products)), min_size=2, max_size=5, unique=True)
    )
    shuffled = data.draw(st.permutations(codes))

    def keyed(order: list[str]) -> set[tuple[str, str, tuple[str, ...]]]:
        result = run(ruleset, *order)
        refs = {f"m{i}": c for i, c in enumerate(order)}
        return {
            (f.rule_id, refs[f.medication_refs[0]], tuple(s.code for s in f.suggestions))
            for f in biosimilar(result)
        }

    assert keyed(codes) == keyed(list(shuffled))
