"""The pure reader: records from iterparse events, freed as they are read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, iterparse

import pytest

from medsopt.dmd.codes import with_check_digit
from medsopt.dmd.release.records import Amp, LookupEntry, Vmp, Vtm
from medsopt.dmd.release.xml import FileKind, ReleaseFormatError, parse_release_file, raw_records
from tests.dmd_release.conftest import R1, R2


def _file(release: Path, kind: FileKind) -> Path:
    return next(release.glob(kind.file_glob))


def _events(path: Path, seen: list[Element]) -> Iterator[tuple[str, Element]]:
    for event, element in iterparse(path, events=("start", "end")):
        if not seen:
            seen.append(element)  # the document element
        yield event, element


@pytest.mark.parametrize("kind", list(FileKind))
def test_no_record_is_left_in_the_tree(kind: FileKind) -> None:
    seen: list[Element] = []
    path = _file(R2, kind)
    assert list(raw_records(_events(path, seen), kind, str(path)))
    root = seen[0]
    if kind in (FileKind.VTM, FileKind.INGREDIENT):
        assert len(root) == 0
    else:
        assert len(root) > 0 and all(len(section) == 0 for section in root)


def test_a_large_file_never_accumulates_records(tmp_path: Path) -> None:
    # iterparse parses a buffer ahead of the events it hands out, so a few hundred records may
    # be attached at once; what matters is that the count does not grow with the file.
    path = tmp_path / "f_vtm2_1.xml"
    vtms = "".join(
        f"<VTM><VTMID>{with_check_digit(f'{90_000_000 + i}100000110')}</VTMID>"
        f"<NM>Moiety {i}</NM></VTM>"
        for i in range(20_000)
    )
    path.write_text(
        '<VIRTUAL_THERAPEUTIC_MOIETIES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="vtm_v2_3.xsd">{vtms}</VIRTUAL_THERAPEUTIC_MOIETIES>'
    )
    seen: list[Element] = []
    widest = 0
    for _ in raw_records(_events(path, seen), FileKind.VTM, str(path)):
        widest = max(widest, len(seen[0]))
    assert widest < 2_000


def test_vmp_records_carry_previous_ids() -> None:
    path = _file(R2, FileKind.VMP)
    vmps = [
        r
        for r in parse_release_file(iterparse(path, events=("start", "end")), FileKind.VMP, "f")
        if isinstance(r, Vmp)
    ]
    naproxen = next(v for v in vmps if v.vpid == "36030111000001106")
    assert (naproxen.previous_id, naproxen.changed_on) == ("329847005", "2018-10-29")
    assert naproxen.vtmid == "11847009"
    assert naproxen.unit_dose_form_size == 1.0


def test_vtm_records_read_directly_under_the_document_element() -> None:
    path = _file(R2, FileKind.VTM)
    vtms = list(parse_release_file(iterparse(path, events=("start", "end")), FileKind.VTM, "f"))
    assert len(vtms) == 6 and all(isinstance(v, Vtm) for v in vtms)
    assert Vtm("36408311000001108", "Rosuvastatin", False, "406436002", "2018-11-15") in vtms


def test_lookup_entries_know_their_table() -> None:
    path = _file(R1, FileKind.LOOKUP)
    entries = list(
        parse_release_file(iterparse(path, events=("start", "end")), FileKind.LOOKUP, "f")
    )
    assert LookupEntry("CONTROL_DRUG_CATEGORY", "0009", "Schedule 4 (CD Benz)") in entries
    assert LookupEntry("NAMECHANGE_REASON", "0000", " ") in entries  # a blank DESC is kept


def test_amp_parallel_import_flag_and_description() -> None:
    path = _file(R1, FileKind.AMP)
    amps = {
        r.apid: r
        for r in parse_release_file(iterparse(path, events=("start", "end")), FileKind.AMP, "f")
        if isinstance(r, Amp)
    }
    assert amps["10837011000001103"].parallel_import is True
    assert amps["442611000001109"].parallel_import is False
    assert amps["61111000001105"].description == "Naprosyn S/R 500mg tablets (Roche Products Ltd)"


def test_a_record_without_a_required_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "f_vtm2_1.xml"
    path.write_text(
        '<VIRTUAL_THERAPEUTIC_MOIETIES xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="vtm_v2_3.xsd"><VTM><VTMID>48603004</VTMID></VTM>'
        "</VIRTUAL_THERAPEUTIC_MOIETIES>"
    )
    events = iterparse(path, events=("start", "end"))
    with pytest.raises(ReleaseFormatError, match=r"f_vtm2_1.xml: .*VTM record 1: has no NM"):
        list(parse_release_file(events, FileKind.VTM, str(path)))


def test_a_file_of_the_wrong_kind_is_refused() -> None:
    path = _file(R1, FileKind.VTM)
    events = iterparse(path, events=("start", "end"))
    with pytest.raises(ReleaseFormatError, match="expected <VIRTUAL_MED_PRODUCTS>"):
        list(parse_release_file(events, FileKind.VMP, str(path)))
