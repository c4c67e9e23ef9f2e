"""The bundled biosimilar equivalence table, and the diagnostics its compiler gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.dmd.index import DmdIndex
from medsopt.formulary.biosimilars import BiosimilarTable, compile_biosimilars
from medsopt.store.activate import BUNDLED_FORMULARY

SOURCES = BUNDLED_FORMULARY / "dmd" / "sources"
MOLECULES = {
    "398728003": "Adalimumab",
    "118259007": "Etanercept",
    "108675009": "Infliximab",
    "108809004": "Rituximab",
    "327397006": "Trastuzumab",
    "126212009": "Insulin glargine",
    "398823001": "Teriparatide",
    "443644001": "Ustekinumab",
    "21674911000001109": "Aflibercept",
}


def _published_codes() -> set[str]:
    """Every code in the published dm+d data the bundled extract was built from."""
    files = [*SOURCES.glob("codelists/*.csv"), *SOURCES.glob("*.csv")]
    codes: set[str] = set()
    for path in files:
        with Path(path).open(newline="") as handle:
            codes |= {row["code"] for row in csv.DictReader(handle) if "code" in row}
    return codes


def test_the_nine_molecules_are_present(table: BiosimilarTable) -> None:
    assert {code: m.name for code, m in table.molecules.items()} == MOLECULES


def test_every_code_is_published_dm_d_data_never_invented(table: BiosimilarTable) -> None:
    published = _published_codes()
    codes = {*table.molecules, *table.products, *table.generics}
    assert codes - published == set()


def test_brands_and_gaps(table: BiosimilarTable) -> None:
    def brands(vtm: str, role: str) -> set[str]:
        return {p.entry.brand for p in table.molecules[vtm].products if p.role == role}

    assert brands("398728003", "biosimilar") == {
        "Amgevita",
        "Hulio",
        "Hyrimoz",
        "Idacio",
        "Imraldi",
    }
    assert brands("118259007", "biosimilar") == {"Benepali", "Erelzi"}
    assert brands("108675009", "biosimilar") == {"Flixabi", "Inflectra", "Remsima", "Zessly"}
    assert brands("108809004", "biosimilar") == {"Rixathon", "Ruxience", "Truxima"}
    assert brands("327397006", "biosimilar") == {"Herzuma", "Kanjinti", "Ontruzant", "Trazimera"}
    assert brands("126212009", "biosimilar") == {"Abasaglar", "Semglee"}
    # Gaps: no biosimilar codes for ustekinumab or aflibercept; no AMP at all for teriparatide.
    assert brands("443644001", "biosimilar") == set()
    assert brands("21674911000001109", "biosimilar") == set()
    assert table.molecules["398823001"].products == ()
    assert table.molecule_of("35916511000001100") is table.molecules["398823001"]


def test_routes_follow_the_products(table: BiosimilarTable) -> None:
    infliximab = table.molecules["108675009"].products
    assert {p.entry.route for p in infliximab if p.entry.strength == "100mg"} == {"intravenous"}
    assert {p.entry.route for p in infliximab if p.entry.strength == "120mg"} == {"subcutaneous"}
    assert table.products["23157311000001105"].entry.route == "subcutaneous"  # Herceptin SC
    assert table.products["4803011000001101"].entry.route == "intravenous"  # Herceptin IV


def test_cartridges_name_their_reusable_pen_and_pens_are_disposable(
    table: BiosimilarTable,
) -> None:
    lantus, abasaglar = table.products["3284211000001102"], table.products["30172211000001102"]
    assert not lantus.disposable
    assert lantus.entry.reusable_pen != abasaglar.entry.reusable_pen
    assert table.products["11933011000001106"].disposable  # Lantus SoloStar pen


VMP = "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices"
PEN = "Humira 40mg/0.8ml solution for injection pre-filled pens (AbbVie Ltd)"
GOOD = f"""molecule:
  code: "398728003"
  name: Adalimumab
  reference_product: Humira
  citations: [{{source: test, reference: test}}]
  generics:
    - {{code: "11236911000001103", name: {VMP}}}
  brands:
    - {{name: Humira, role: originator}}
  products:
    - code: "11188011000001105"
      name: {PEN}
      brand: Humira
      generic: "11236911000001103"
      strength: 40mg
      volume_ml: 0.8
      route: subcutaneous
      presentation: pre-filled-pen
"""


def _errors(text: str, dmd: DmdIndex) -> list[str]:
    with pytest.raises(RuleSetError) as raised:
        compile_biosimilars({"a.yaml": text}, dmd)
    return [str(d) for d in raised.value.diagnostics]


def test_a_good_file_compiles(dmd: DmdIndex) -> None:
    table = compile_biosimilars({"a.yaml": GOOD}, dmd)
    assert list(table.products) == ["11188011000001105"]
    assert table.molecule_of("11236911000001103") is table.molecules["398728003"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("strength: 40mg", "strength: 80mg"),
            "a.yaml:15:7: error[invalid-value]: strength 80mg is not in 'Humira 40mg/0.8ml "
            "solution for injection pre-filled pens (AbbVie Ltd)'",
        ),
        (
            ("volume_ml: 0.8", "volume_ml: 0.4"),
            "a.yaml:16:7: error[invalid-value]: volume 0.4 ml is not in",
        ),
        (
            ("presentation: pre-filled-pen", "presentation: pre-filled-syringe"),
            "a.yaml:18:7: error[invalid-value]: pre-filled-syringe does not fit",
        ),
        (
            ("brand: Humira\n", "brand: Humria\n"),
            "a.yaml:13:7: error[unknown-reference]: brand 'Humria' is not one of this molecule's "
            "brands; did you mean 'Humira'?",
        ),
        (
            ('generic: "11236911000001103"', 'generic: "35894411000001100"'),
            "a.yaml:14:7: error[unknown-reference]: generic 35894411000001100 is not one of this "
            "molecule's generics",
        ),
        (
            ("pens (AbbVie Ltd)", "pens (Abbott)"),
            "a.yaml:12:7: error[invalid-value]: 11188011000001105 is 'Humira 40mg/0.8ml solution "
            "for injection pre-filled pens (AbbVie Ltd)' in dm+d, not",
        ),
        (
            ('code: "398728003"', 'code: "118259007"'),
            "a.yaml:7:8: error[invalid-value]: dm+d puts 11236911000001103 under VTM 398728003",
        ),
        (
            ('code: "11188011000001105"', 'code: "35894411000001100"'),
            "expected AMP or UNCLASSIFIED",
        ),
        (
            ("presentation: pre-filled-pen", "presentation: cartridge"),
            "reusable_pen is required for cartridges, and only for cartridges",
        ),
        (
            ("route: subcutaneous", "route: intramuscular"),
            "route: 'intramuscular' is not allowed",
        ),
    ],
    ids=[
        "strength",
        "volume",
        "presentation",
        "brand",
        "generic",
        "name",
        "vtm",
        "vmp-as-brand",
        "cartridge-pen",
        "route-enum",
    ],
)
def test_each_contradiction_is_an_error_at_its_position(
    change: tuple[str, str], expected: str, dmd: DmdIndex
) -> None:
    old, new = change
    assert GOOD.count(old) >= 1
    errors = _errors(GOOD.replace(old, new, 1), dmd)
    assert any(expected in e for e in errors), errors


def test_infusion_products_must_be_intravenous(dmd: DmdIndex) -> None:
    remsima = (
        "Remsima 100mg powder for concentrate for solution for infusion vials "
        "(Celltrion Healthcare UK Ltd)"
    )
    text = f"""molecule:
  code: "108675009"
  name: Infliximab
  reference_product: Remicade
  citations: [{{source: test, reference: test}}]
  brands: [{{name: Remsima, role: biosimilar}}]
  products:
    - {{code: "28803711000001103", name: {remsima},
       brand: Remsima, strength: 100mg, route: subcutaneous, presentation: vial}}
"""
    errors = _errors(text, dmd)
    assert any("is for infusion, so intravenous" in e for e in errors), errors
    # dm+d links Remsima to VMP 400687000, so the entry must name it as its generic.
    assert any("dm+d gives 28803711000001103 the VMP 400687000" in e for e in errors), errors


def test_a_product_listed_twice_across_files_is_an_error(dmd: DmdIndex) -> None:
    other = GOOD.replace('code: "398728003"', 'code: "118259007"').replace(
        "name: Adalimumab\n", "name: Etanercept\n"
    )
    with pytest.raises(RuleSetError) as raised:
        compile_biosimilars({"a.yaml": GOOD, "b.yaml": other}, dmd)
    assert any("listed twice" in str(d) for d in raised.value.diagnostics)
