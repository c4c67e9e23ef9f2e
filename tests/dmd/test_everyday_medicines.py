"""Everyday medicines (issue 12): the GM-SDE code sets in the bundled extract resolve.

Real codes and names, each copied from the named file in formulary/dmd/sources/codelists/.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from medsopt.dmd.concepts import Level, Resolved, Unresolved
from medsopt.dmd.index import DmdIndex
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.rules.ruleset import RuleSet

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "formulary" / "dmd" / "sources"
BUNDLED = ROOT / "formulary" / "dmd" / "bundled"
GM_SDE = "UoM-Data-Science-Platforms/gm-sde:"

# One common product per new family file: (file, code, name as the file gives it, VTM or None).
REPRESENTATIVES = [
    ("5-alpha-reductase-inhibitors", "325728006", "Finasteride 5mg tablets", "Finasteride"),
    (
        "antacids-and-alginates",
        "316965005",
        "Co-magaldrox 300mg/600mg/5ml oral suspension sugar free",
        "Co-magaldrox",
    ),
    ("antiemetics", "322091008", "Metoclopramide 10mg tablets", "Metoclopramide"),
    ("antiepileptics", "323054005", "Levetiracetam 500mg tablets", "Levetiracetam"),
    ("antihistamines-all-routes", "320818006", "Cetirizine 10mg tablets", "Cetirizine"),
    ("antiparkinson-drugs", "981311000001100", "Co-careldopa 25mg/100mg tablets", "Co-careldopa"),
    ("antispasmodics-gi", "317161009", "Mebeverine 135mg tablets", "Mebeverine"),
    ("antithyroid-and-liothyronine", "325329000", "Carbimazole 5mg tablets", "Carbimazole"),
    ("bisphosphonates", "39731311000001108", "Alendronic acid 70mg tablets", "Alendronic acid"),
    (
        "calcium-and-calcium-vitamin-d",
        "344111000001101",
        "Adcal-D3 chewable tablets tutti frutti (Kyowa Kirin Ltd)",
        None,  # a brand: no name leads to its product or VTM
    ),
    ("contraceptives", "400419002", "Desogestrel 75microgram tablets", "Desogestrel"),
    ("dementia-drugs", "42035611000001109", "Donepezil 5mg tablets", "Donepezil"),
    ("diuretics-loop", "1127411000001105", "Furosemide 40mg tablets 28 tablet", "Furosemide"),
    ("dry-eye-preparations", "330781005", "Hypromellose 0.3% eye drops", "Hypromellose"),
    ("emollients", "14608311000001101", "Emulsifying ointment", None),
    ("eye-preparations", "330286001", "Chloramphenicol 0.5% eye drops", "Chloramphenicol"),
    ("folic-acid-and-vitamin-b12", "327550006", "Folic acid 5mg tablets", "Folic acid"),
    (
        "glaucoma-eye-drops",
        "330729005",
        "Latanoprost 50micrograms/ml eye drops",
        "Latanoprost",
    ),
    ("gout-drugs", "330061001", "Allopurinol 100mg tablets", "Allopurinol"),
    (
        "hrt",
        "41873011000001101",
        "Conjugated oestrogens 1.25mg tablets",
        "Conjugated oestrogens",
    ),
    (
        "inhalers-respiratory",
        "39113611000001102",
        "Salbutamol 100micrograms/dose inhaler CFC free",
        "Salbutamol",
    ),
    ("iron-preparations", "327438003", "Ferrous sulfate 200mg tablets", "Ferrous sulfate"),
    ("laxatives", "317548002", "Senna 7.5mg tablets", "Senna"),
    ("leukotriene-receptor-antagonists", "320884002", "Montelukast 10mg tablets", "Montelukast"),
    ("lipid-regulating-non-statin", "408060004", "Ezetimibe 10mg tablets", "Ezetimibe"),
    ("loperamide-antidiarrhoeals", "42354711000001104", "Loperamide 2mg capsules", "Loperamide"),
    (
        "mesalazine-aminosalicylates",
        "317404005",
        "Mesalazine 250mg gastro-resistant tablets",
        "Mesalazine",
    ),
    (
        "mirabegron",
        "38893511000001109",
        "Mirabegron 50mg modified-release tablets",
        "Mirabegron",
    ),
    (
        "nasal-corticosteroids",
        "39110511000001107",
        "Fluticasone propionate 50micrograms/dose nasal spray",
        "Fluticasone",
    ),
    (
        "nitrates-and-antianginals",
        "42212411000001100",
        "Isosorbide mononitrate 10mg tablets",
        "Isosorbide mononitrate",
    ),
    ("osteoporosis-other", "326075007", "Raloxifene 60mg tablets", "Raloxifene"),
    ("paracetamol", "322236009", "Paracetamol 500mg tablets", "Paracetamol"),
    ("phosphodiesterase-5-inhibitors", "326714007", "Sildenafil 50mg tablets", "Sildenafil"),
    ("quinine", "41988211000001100", "Quinine sulfate 200mg tablets", "Quinine sulfate"),
    (
        "theophylline-aminophylline",
        "1181311000001102",
        "Theophylline 200mg modified-release tablets 100 tablet",
        "Theophylline",
    ),
    ("topical-corticosteroids", "346992009", "Hydrocortisone 1% cream", "Hydrocortisone"),
    ("topical-nsaids", "330202001", "Ibuprofen 5% gel", "Ibuprofen"),
    ("urinary-antimuscarinics", "326561005", "Oxybutynin 2.5mg tablets", "Oxybutynin"),
    ("vitamin-d", "19973811000001109", "Colecalciferol 800unit capsules", "Colecalciferol"),
]
OXYBUTYNIN_PACK = "1092011000001101"  # "Oxybutynin 5mg tablets 84 tablet", GM-SDE oxybutynin set


def _rows(name: str) -> list[dict[str, str]]:
    with (SOURCES / "codelists" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _gm_sde_files() -> list[Path]:
    return [
        path
        for path in sorted((SOURCES / "codelists").glob("*.csv"))
        if _rows(path.stem)[0]["source"].startswith(GM_SDE)
    ]


def _request(*codes: str, patient: PatientContext | None = None) -> CheckRequest:
    return CheckRequest(
        medications=tuple(MedicationEntry(ref=f"m{i}", code=c) for i, c in enumerate(codes)),
        patient=patient or PatientContext(),
    )


def test_paracetamol_and_atorvastatin_resolve(bundled: RuleSet) -> None:
    result = check(_request("322236009", "320030001"), bundled)
    assert not result.unresolved
    assert result.complete


def test_the_cli_answers_complete_for_paracetamol_and_atorvastatin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "medsopt", "check", "322236009", "320030001"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check status: COMPLETE" in done.stdout
    assert "NOT CHECKED" not in done.stdout


def test_every_new_family_has_a_representative() -> None:
    assert {family for family, *_ in REPRESENTATIVES} == {p.stem for p in _gm_sde_files()}


@pytest.mark.parametrize(("family", "code", "name", "vtm"), REPRESENTATIVES)
def test_representative_resolves_with_the_name_its_file_gives(
    dmd: DmdIndex, family: str, code: str, name: str, vtm: str | None
) -> None:
    listed = {row["code"]: row["term"] for row in _rows(family)}
    assert listed[code].removesuffix(" (product)") == name
    resolved = dmd.resolve(code)
    assert isinstance(resolved, Resolved)
    assert (resolved.concept.name, resolved.superseded) == (name, None)
    assert [c.name for c in resolved.ancestors if c.level is Level.VTM] == ([vtm] if vtm else [])


def test_every_gm_sde_code_resolves_or_is_counted_as_left_out(dmd: DmdIndex) -> None:
    codes = {row["code"] for path in _gm_sde_files() for row in _rows(path.stem)}
    unresolved = [o for o in map(dmd.resolve, sorted(codes)) if isinstance(o, Unresolved)]
    excluded = json.loads((BUNDLED / "release.json").read_text())["excluded"]
    assert len(unresolved) == sum(excluded.values())
    assert all("not in dm+d extract" in o.message for o in unresolved)


def test_a_pack_resolves_as_a_product_of_unknown_level(dmd: DmdIndex) -> None:
    pack = dmd.resolve(OXYBUTYNIN_PACK)
    assert isinstance(pack, Resolved)
    assert pack.concept.name == "Oxybutynin 5mg tablets 84 tablet"
    assert pack.concept.level is Level.UNCLASSIFIED
    assert [c.name for c in pack.ancestors] == ["Oxybutynin"]  # VTM derived from the name


def test_the_explanation_says_the_level_is_unknown(bundled: RuleSet) -> None:
    dementia = "52448006"
    patient = PatientContext(age_years=80, condition_codes=(dementia,))
    result = check(_request(OXYBUTYNIN_PACK, patient=patient), bundled)
    finding = {f.rule_id: f for f in result.findings}["STOPP-V2-I1"]
    assert [(m.level, m.via) for m in finding.matched] == [
        (
            "UNCLASSIFIED",
            "UNCLASSIFIED (dm+d level unknown) 1092011000001101 -> VTM 35768004 (Oxybutynin) "
            "listed in group bladder-antimuscarinics",
        )
    ]


def test_a_pack_described_by_quantity_reaches_groups_that_list_its_product(
    bundled: RuleSet,
) -> None:
    pack = bundled.dmd.concept("1127411000001105")  # "Furosemide 40mg tablets 28 tablet"
    assert pack is not None and pack.vmp == "317972000"  # "Furosemide 40mg tablets", PINCER
    assert "loop-diuretics" in {m.group for m in bundled.groups_of(pack.code)}


def test_release_json_records_the_limitations() -> None:
    release = json.loads((BUNDLED / "release.json").read_text())
    unknown = release["levels"]["UNCLASSIFIED"]
    assert release["limitations"][0].startswith(f"{unknown} concepts have no dm+d level")
    assert "resolve as products of unknown level" in release["limitations"][0]
    assert any("pack ids (VMPP/AMPP)" in line for line in release["limitations"])
    assert set(release["excluded"]) >= {
        "not a SNOMED CT concept id (fails the Verhoeff check digit or partition)"
    }


def test_every_source_codelist_has_its_provenance() -> None:
    provenance = (SOURCES / "SOURCES.md").read_text()
    for path in sorted((SOURCES / "codelists").glob("*.csv")):
        assert f"| `{path.name}` |" in provenance, f"{path.name} is not in SOURCES.md"
