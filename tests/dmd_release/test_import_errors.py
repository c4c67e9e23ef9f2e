"""A broken release fails with an error naming the file and leaves nothing at the output path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from medsopt.dmd.release.files import DmdImportError, import_release
from tests.dmd_release.conftest import R1, medsopt


def _release_copy(tmp_path: Path) -> Path:
    release = tmp_path / "release"
    shutil.copytree(R1, release)
    return release


def _edit(release: Path, kind: str, old: str, new: str) -> Path:
    path = next(release.glob(f"f_{kind}2_*.xml"))
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def _truncate(release: Path) -> Path:
    path = next(release.glob("f_amp2_*.xml"))
    path.write_text(path.read_text()[:1500])
    return path


def _mismatched_tag(release: Path) -> Path:
    return _edit(release, "vmp", "</NM>", "</NAME>")


def _missing(release: Path) -> Path:
    path = next(release.glob("f_vmpp2_*.xml"))
    path.unlink()
    return release / "f_vmpp2_*.xml"


def _unknown_version(release: Path) -> Path:
    return _edit(release, "vtm", "vtm_v2_3.xsd", "vtm_v2_4.xsd")


def _no_version(release: Path) -> Path:
    return _edit(release, "ingredient", ' xsi:noNamespaceSchemaLocation="ingredient_v2_3.xsd"', "")


def _wrong_document(release: Path) -> Path:
    return _edit(release, "lookup", "<LOOKUP ", "<LOOKUPS ")


def _dangling_parent(release: Path) -> Path:
    return _edit(release, "amp", "<VPID>319733000</VPID>", "<VPID>319734006</VPID>")


def _wrapped_records(release: Path) -> Path:
    _edit(release, "vtm", "<VTM>", "<VTMS><VTM>")
    return _edit(release, "vtm", "</VIRTUAL_THERAPEUTIC", "</VTMS></VIRTUAL_THERAPEUTIC")


def _no_records(release: Path) -> Path:
    path = next(release.glob("f_vtm2_*.xml"))
    text = path.read_text()
    path.write_text(text[: text.index("<VTM>")] + "</VIRTUAL_THERAPEUTIC_MOIETIES>\n")
    return path


def _entity_expansion(release: Path) -> Path:
    # A "billion laughs" payload: the release must be refused before any entity is expanded.
    path = next(release.glob("f_vtm2_*.xml"))
    text = path.read_text()
    declaration, rest = text.split("\n", 1)
    laughs = '<!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    path.write_text(f"{declaration}\n{laughs}\n{rest.replace('<NM>', '<NM>&b;', 1)}")
    return path


def _bad_check_digit(release: Path) -> Path:
    return _edit(release, "vmp", "<VPID>319733000</VPID>", "<VPID>319733001</VPID>")


BREAKAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated": (_truncate, "malformed XML: unclosed token: line 39"),
    "mismatched tag": (_mismatched_tag, "malformed XML: mismatched tag"),
    "missing file": (_missing, "missing dm+d vmpp file"),
    "unknown version": (_unknown_version, "unknown schema version 2.4"),
    "no version": (_no_version, "unknown schema version: no xsi:noNamespaceSchemaLocation"),
    "wrong document": (_wrong_document, "document element is <LOOKUPS>, expected <LOOKUP>"),
    "dangling parent": (_dangling_parent, "refers to VPID 319734006, which is not in the release"),
    "bad check digit": (_bad_check_digit, "VPID '319733001' is not a SNOMED CT concept id"),
    "wrapped records": (_wrapped_records, "unexpected <VTMS> in <VIRTUAL_THERAPEUTIC_MOIETIES>"),
    "no records": (_no_records, "no VTM records"),
    "entity expansion": (_entity_expansion, "a DTD is not allowed in a dm+d release file"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_error_names_the_file_and_nothing_is_written(tmp_path: Path, breakage: str) -> None:
    release = _release_copy(tmp_path)
    break_it, message = BREAKAGES[breakage]
    culprit = break_it(release)
    out = tmp_path / "out" / "extract"
    with pytest.raises(DmdImportError) as raised:
        import_release(release, out)
    assert str(culprit) in str(raised.value)
    assert message in str(raised.value)
    assert not out.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("breakage", ["mismatched tag", "missing file", "unknown version"])
def test_cli_reports_the_file_and_exits_1(tmp_path: Path, breakage: str) -> None:
    release = _release_copy(tmp_path)
    break_it, message = BREAKAGES[breakage]
    culprit = break_it(release)
    out = tmp_path / "extract"
    result = medsopt("dmd", "import", release, "--out", out)
    assert result.returncode == 1
    assert f"dm+d import failed: {culprit}" in result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_a_failed_replace_keeps_the_old_extract(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    import_release(R1, out, release="good")
    release = _release_copy(tmp_path)
    _truncate(release)
    with pytest.raises(DmdImportError):
        import_release(release, out, replace=True)
    assert (out / "release.json").read_text().count('"good"') == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract", "release"]


def test_two_files_of_one_kind_are_refused(tmp_path: Path) -> None:
    release = _release_copy(tmp_path)
    shutil.copy(next(release.glob("f_vtm2_*.xml")), release / "f_vtm2_3999999.xml")
    with pytest.raises(DmdImportError, match="more than one vtm file"):
        import_release(release, tmp_path / "out")


def test_a_newer_file_generation_is_named_as_an_unknown_version(tmp_path: Path) -> None:
    release = _release_copy(tmp_path)
    vmp = next(release.glob("f_vmp2_*.xml"))
    vmp.rename(vmp.with_name(vmp.name.replace("f_vmp2_", "f_vmp3_")))
    with pytest.raises(DmdImportError, match=r"f_vmp3_3221018.xml: unknown schema version"):
        import_release(release, tmp_path / "out")
