"""Importing the fixture releases reproduces their concepts, links, supersessions and details."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from medsopt.dmd.concepts import (
    Concept,
    Level,
    Resolved,
    Supersession,
    Unresolved,
    UnresolvedReason,
)
from medsopt.dmd.index import DmdIndex
from medsopt.dmd.release.files import DmdImportError, import_release, load_dmd_extract
from medsopt.store.activate import BUNDLED_FORMULARY
from tests.dmd_release.conftest import R1, medsopt


def _concept(extract: Path, code: str) -> dict[str, object]:
    rows = pl.read_parquet(extract / "concepts.parquet").filter(pl.col("code") == code)
    assert rows.height == 1, code
    return rows.row(0, named=True)


def test_concepts_have_the_loader_schema(extracts: tuple[Path, Path]) -> None:
    concepts = pl.read_parquet(extracts[0] / "concepts.parquet")
    expected = dict.fromkeys(("code", "name", "level", "level_source", "vmp"), pl.String)
    expected |= dict.fromkeys(("vmp_link", "vtm", "vtm_link", "bnf_code"), pl.String)
    assert {name: concepts.schema[name] for name in expected} == expected
    assert concepts.schema["invalid"] == pl.Boolean
    assert set(concepts["level"]) == {"VTM", "VMP", "AMP", "VMPP", "AMPP"}
    superseded = pl.read_parquet(extracts[0] / "superseded.parquet")
    assert dict(superseded.schema) == {
        "previous_code": pl.String,
        "current_code": pl.String,
        "changed_on": pl.String,
        "level": pl.String,
    }


def test_r2_levels_and_manifest(extracts: tuple[Path, Path]) -> None:
    manifest = json.loads((extracts[1] / "release.json").read_text())
    assert manifest["release"] == "r2"
    assert manifest["schema_version"] == "2.3"
    assert manifest["levels"] == {"AMP": 10, "AMPP": 7, "VMP": 7, "VMPP": 3, "VTM": 6}
    assert manifest["files"]["vmp"]["name"] == "f_vmp2_3291118.xml"
    assert len(manifest["files"]["vmp"]["sha256"]) == 64


def test_amp_links_to_its_vmp_and_through_it_to_the_vtm(extracts: tuple[Path, Path]) -> None:
    row = _concept(extracts[1], "61111000001105")
    assert row == {
        "code": "61111000001105",
        "name": "Naprosyn S/R 500mg tablets (Roche Products Ltd)",
        "level": "AMP",
        "level_source": "f_amp2_3291118.xml",
        "vmp": "36030111000001106",
        "vmp_link": "published",
        "vtm": "11847009",
        "vtm_link": "via VMP (published)",
        "bnf_code": None,
        "invalid": False,
    }


def test_same_amp_points_at_the_old_vmp_id_in_r1(extracts: tuple[Path, Path]) -> None:
    assert _concept(extracts[0], "61111000001105")["vmp"] == "329847005"


def test_vmp_without_vtm_and_packs_without_product_parents(extracts: tuple[Path, Path]) -> None:
    nutrison = _concept(extracts[1], "3549611000001100")
    assert (nutrison["level"], nutrison["vtm"], nutrison["vtm_link"]) == ("VMP", None, None)
    pack = _concept(extracts[1], "22479711000001106")
    assert (pack["level"], pack["vmp"], pack["vtm"]) == ("AMPP", None, None)


def test_invalid_flags_are_kept(extracts: tuple[Path, Path]) -> None:
    r1, r2 = extracts
    assert _concept(r1, "29915211000001103")["invalid"] is False
    assert _concept(r2, "29915211000001103")["invalid"] is True
    assert _concept(r1, "30926911000001106")["invalid"] is True  # invalid in both releases
    assert _concept(r1, "346577003")["invalid"] is True  # Misoprostol + Naproxen VTM


def test_superseded_ids_map_to_current_concepts(extracts: tuple[Path, Path]) -> None:
    rows = pl.read_parquet(extracts[1] / "superseded.parquet").rows()
    assert rows == [
        ("329847005", "36030111000001106", "2018-10-29", "VMP"),
        ("406436002", "36408311000001108", "2018-11-15", "VTM"),
        ("4172411000001103", "408036003", "2005-08-16", "VMP"),
    ]
    assert pl.read_parquet(extracts[0] / "superseded.parquet")["previous_code"].to_list() == [
        "4172411000001103"
    ]


def test_extract_loads_and_resolves_old_codes(extracts: tuple[Path, Path]) -> None:
    index = load_dmd_extract(extracts[1])
    assert index.release == "r2"
    old_vmp = index.resolve("329847005")
    assert isinstance(old_vmp, Resolved)
    assert old_vmp.concept.code == "36030111000001106"
    assert old_vmp.superseded == Supersession("329847005", "36030111000001106", "2018-10-29")
    assert [c.code for c in old_vmp.ancestors] == ["11847009"]
    old_vtm = index.resolve("406436002")
    assert isinstance(old_vtm, Resolved) and old_vtm.concept.level is Level.VTM
    assert "408036003" in index.descendants("36408311000001108")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("29915211000001103", UnresolvedReason.INACTIVE),
        ("22479411000001100", UnresolvedReason.PACK_LEVEL),
        ("26352611000001103", UnresolvedReason.PACK_LEVEL),
    ],
)
def test_invalid_and_pack_codes_say_why(
    extracts: tuple[Path, Path], code: str, reason: UnresolvedReason
) -> None:
    outcome = load_dmd_extract(extracts[1]).resolve(code)
    assert isinstance(outcome, Unresolved) and outcome.reason is reason


def test_vmp_details(extracts: tuple[Path, Path]) -> None:
    vmp = pl.read_parquet(extracts[1] / "vmp.parquet").filter(pl.col("vpid") == "321196004")
    row = vmp.row(0, named=True)
    assert row["prescribing_status"] == "Valid as a prescribable product"
    assert row["non_availability"] == "Actual Products Available"
    assert row["cd_category"] == "Schedule 4 (CD Benz)"
    forms = pl.read_parquet(extracts[1] / "vmp_form.parquet")
    routes = pl.read_parquet(extracts[1] / "vmp_route.parquet")
    assert forms.filter(pl.col("vpid") == "36030111000001106")["form"].to_list() == [
        "Modified-release tablet"
    ]
    assert routes.filter(pl.col("vpid") == "22480211000001104")["route"].to_list() == [
        "Transdermal"
    ]


def test_vpi_strengths(extracts: tuple[Path, Path]) -> None:
    vpi = pl.read_parquet(extracts[1] / "vpi.parquet")
    gel = vpi.filter(pl.col("vpid") == "22480211000001104").row(0, named=True)
    assert (gel["ingredient"], gel["numerator"], gel["numerator_unit"]) == (
        "Diclofenac diethylammonium",
        23.2,
        "mg",
    )
    assert (gel["denominator"], gel["denominator_unit"]) == (1.0, "gram")
    rosuvastatin = vpi.filter(pl.col("vpid") == "408036003").row(0, named=True)
    assert rosuvastatin["basis_of_strength"] == "Based on Base Substance"
    assert rosuvastatin["base_substance"] == "Rosuvastatin"


def test_amp_supplier_licensing_and_parallel_import(extracts: tuple[Path, Path]) -> None:
    amp = pl.read_parquet(extracts[1] / "amp.parquet")
    waymade = amp.filter(pl.col("apid") == "10837011000001103").row(0, named=True)
    assert waymade["supplier"] == "Waymade Healthcare Plc"
    assert waymade["parallel_import"] is True
    assert waymade["availability_restriction"] == "Not available"
    voltarol = amp.filter(pl.col("apid") == "22479611000001102").row(0, named=True)
    assert voltarol["licensing_authority"] == "Medicines - MHRA/EMA"
    assert voltarol["parallel_import"] is False


def test_pack_prices_and_drug_tariff(extracts: tuple[Path, Path]) -> None:
    vmpp = pl.read_parquet(extracts[1] / "vmpp.parquet").filter(
        pl.col("vppid") == "26352411000001101"
    )
    assert vmpp.select("quantity", "quantity_unit", "drug_tariff_category").row(0) == (
        100.0,
        "gram",
        "Part VIIIA Category C",
    )
    assert vmpp["drug_tariff_price_pence"].to_list() == [1121]
    ampp = pl.read_parquet(extracts[1] / "ampp.parquet").sort("appid")
    voltarol = ampp.filter(pl.col("appid") == "26352611000001103").row(0, named=True)
    assert voltarol["price_pence"] == 1121
    assert voltarol["drug_tariff_category"] == "Part VIIIA Category C"
    assert voltarol["legal_category"] == "P"
    colorama = ampp.filter(pl.col("appid") == "29915311000001106").row(0, named=True)
    assert (colorama["discontinued"], colorama["discontinued_date"]) == (
        "Discontinued Flag",
        "2017-10-01",
    )
    assert colorama["price_basis"] == "No Price Available"


def test_lazy_loader_resolves_every_code_as_the_loader_does(extracts: tuple[Path, Path]) -> None:
    for extract in extracts:
        eager, lazy = eager_index(extract), load_dmd_extract(extract)
        codes = [c.code for c in eager.concepts()] + ["329847005", "406436002", "999999999"]
        assert len(lazy) == len(eager) and lazy.release == eager.release
        for code in codes:
            assert lazy.resolve(code) == eager.resolve(code), code
            assert lazy.descendants(code) == eager.descendants(code), code
        assert sorted(lazy.concepts(), key=str) == sorted(eager.concepts(), key=str)


def test_lazy_loader_reads_the_bundled_extract_too() -> None:
    lazy = load_dmd_extract(BUNDLED_FORMULARY / "dmd" / "bundled")
    dmd = eager_index(BUNDLED_FORMULARY / "dmd" / "bundled")
    for code in ("421411000001103", "48603004", "329847005", "768520007", "1002711000001101"):
        assert lazy.resolve(code) == dmd.resolve(code)
        assert lazy.descendants(code) == dmd.descendants(code)


def test_existing_output_is_refused_then_replaced(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    import_release(R1, out, release="first")
    with pytest.raises(DmdImportError, match="already exists"):
        import_release(R1, out, release="second")
    import_release(R1, out, release="second", replace=True)
    assert json.loads((out / "release.json").read_text())["release"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract"]


def test_cli_import_writes_an_extract(tmp_path: Path) -> None:
    result = medsopt("dmd", "import", R1, "--out", tmp_path / "r1", "--release", "fixture-r1")
    assert result.returncode == 0, result.stderr
    assert "imported dm+d release fixture-r1" in result.stdout
    assert "VMP 7" in result.stdout
    assert load_dmd_extract(tmp_path / "r1").release == "fixture-r1"


def eager_index(directory: Path) -> DmdIndex:
    """The reference: every Concept built up front through DmdIndex's plain constructor."""
    concepts = pl.read_parquet(directory / "concepts.parquet")
    superseded = pl.read_parquet(directory / "superseded.parquet")
    return DmdIndex(
        (
            Concept(
                r["code"],
                r["name"],
                Level(r["level"]),
                r["vmp"],
                r["vtm"],
                r["bnf_code"],
                r["invalid"],
            )
            for r in concepts.iter_rows(named=True)
        ),
        (
            Supersession(*row)
            for row in superseded.select("previous_code", "current_code", "changed_on").iter_rows()
        ),
        release=json.loads((directory / "release.json").read_text())["release"],
    )
