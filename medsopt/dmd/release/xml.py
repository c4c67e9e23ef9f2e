"""Read NHSBSA dm+d release XML (schema 2.3) from iterparse event streams into typed records.

Pure: the caller opens the file and passes `ElementTree.iterparse(f, events=("start", "end"))`.
Each record element is removed from the tree as soon as it is read, so a 100 MB file never
becomes a DOM. Element names follow the NHSBSA XSDs (vmp_v2_3.xsd etc.), as in the release
excerpts kept by ebmdatalab/openprescribing under openprescribing/dmd/tests/.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

# Types and the parse error only: files are parsed by defusedxml (medsopt.dmd.release.files).
from xml.etree.ElementTree import Element, ParseError  # nosec B405

from medsopt.dmd.codes import code_problem
from medsopt.dmd.release.records import (
    Amp,
    Ampp,
    AmppPrice,
    ControlInfo,
    DrugTariff,
    Ingredient,
    LookupEntry,
    Record,
    Vmp,
    VmpForm,
    Vmpp,
    VmpRoute,
    Vpi,
    Vtm,
)

SUPPORTED_SCHEMA_VERSIONS = frozenset({"2.3"})
_XSI_SCHEMA = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"
_XSD_NAME = re.compile(r"^(?P<kind>[a-z]+)_v(?P<major>\d+)_(?P<minor>\d+)\.xsd$")

Fields = Mapping[str, str]
N = TypeVar("N", int, float)


class FileKind(enum.Enum):
    """The seven dm+d release files this importer reads, in the order it reads them."""

    LOOKUP = "lookup"
    INGREDIENT = "ingredient"
    VTM = "vtm"
    VMP = "vmp"
    AMP = "amp"
    VMPP = "vmpp"
    AMPP = "ampp"

    @property
    def root_tag(self) -> str:
        """The document element the XSD declares."""
        return _ROOT_TAGS[self]

    @property
    def file_glob(self) -> str:
        """How NHSBSA names the file in a release, e.g. f_vmp2_3010419.xml."""
        return f"f_{self.value}2_*.xml"


_ROOT_TAGS = {
    FileKind.LOOKUP: "LOOKUP",
    FileKind.INGREDIENT: "INGREDIENT_SUBSTANCES",
    FileKind.VTM: "VIRTUAL_THERAPEUTIC_MOIETIES",
    FileKind.VMP: "VIRTUAL_MED_PRODUCTS",
    FileKind.AMP: "ACTUAL_MEDICINAL_PRODUCTS",
    FileKind.VMPP: "VIRTUAL_MED_PRODUCT_PACK",
    FileKind.AMPP: "ACTUAL_MEDICINAL_PROD_PACKS",
}
# VTM and ingredient records sit directly under the root; every other file groups its records
# in sections (VMPS, VIRTUAL_PRODUCT_INGREDIENT, ... or one section per lookup table).
_RECORD_DEPTH = {FileKind.VTM: 2, FileKind.INGREDIENT: 2}


class ReleaseFormatError(Exception):
    """A release file that is not well-formed, not schema 2.3, or has an impossible record."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record element as {child tag: text}, with the section that contains it."""

    section: str
    tag: str
    number: int  # 1-based position among the file's records, for error messages
    fields: Fields


def raw_records(
    events: Iterable[tuple[str, Element]], kind: FileKind, file: str
) -> Iterator[RawRecord]:
    """Every record of one release file, checking the root element and schema version first."""
    record_depth = _RECORD_DEPTH.get(kind, 3)
    depth = 0
    parent: Element | None = None
    number = 0
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    check_root(element, kind, file)
                if depth == record_depth - 1:
                    parent = element
                continue
            if depth == record_depth and parent is not None:
                number += 1
                fields = {child.tag: child.text or "" for child in element}
                yield RawRecord(parent.tag, element.tag, number, fields)
                # Dropping the record keeps the tree at one record, whatever the file size.
                parent.remove(element)
            depth -= 1
    except ParseError as error:
        raise ReleaseFormatError(file, f"malformed XML: {error}") from error


def check_root(root: Element, kind: FileKind, file: str) -> None:
    """Raise unless `root` is the document element of a schema-2.3 `kind` file."""
    if root.tag != kind.root_tag:
        raise ReleaseFormatError(
            file, f"document element is <{root.tag}>, expected <{kind.root_tag}>"
        )
    expected = f"{kind.value}_v2_3.xsd"
    declared = root.get(_XSI_SCHEMA)
    if declared is None:
        raise ReleaseFormatError(
            file,
            f"unknown schema version: no xsi:noNamespaceSchemaLocation (expected {expected!r})",
        )
    match = _XSD_NAME.match(declared)
    if match is None or match["kind"] != kind.value:
        raise ReleaseFormatError(
            file, f"unknown schema {declared!r} for a {kind.value} file (expected {expected!r})"
        )
    version = f"{int(match['major'])}.{int(match['minor'])}"
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ReleaseFormatError(
            file,
            f"unknown schema version {version} ({declared}); this importer reads dm+d XML "
            f"schema {', '.join(sorted(SUPPORTED_SCHEMA_VERSIONS))}",
        )


# --- typed records ------------------------------------------------------------------------------


def parse_release_file(
    events: Iterable[tuple[str, Element]], kind: FileKind, file: str
) -> Iterator[Record]:
    """Typed records of one release file; sections this importer does not keep are skipped."""
    builders, skipped = _BUILDERS[kind], _SKIPPED[kind]
    for raw in raw_records(events, kind, file):
        build = builders.get(raw.tag)
        if build is not None:
            yield build(_Reader(raw, file))
        elif raw.tag not in skipped:
            # A wrapper or record this schema does not have: reading on would silently miss data.
            raise ReleaseFormatError(
                file, f"unexpected <{raw.tag}> in <{raw.section}>: not dm+d XML schema 2.3"
            )


class _Reader:
    """Field access for one raw record, raising errors that name the file and record."""

    __slots__ = ("file", "raw")

    def __init__(self, raw: RawRecord, file: str) -> None:
        self.raw = raw
        self.file = file

    def fail(self, message: str) -> ReleaseFormatError:
        return ReleaseFormatError(
            self.file, f"{self.raw.section}/{self.raw.tag} record {self.raw.number}: {message}"
        )

    def opt(self, name: str) -> str | None:
        value = self.raw.fields.get(name, "").strip()
        return value or None

    def req(self, name: str) -> str:
        value = self.opt(name)
        if value is None:
            raise self.fail(f"has no {name}")
        return value

    def code(self, name: str) -> str:
        """A required SNOMED CT id; a bad one means a corrupt file, never a code to guess at."""
        value = self.req(name)
        self._check_code(name, value)
        return value

    def opt_code(self, name: str) -> str | None:
        value = self.opt(name)
        if value is not None:
            self._check_code(name, value)
        return value

    def flag(self, name: str) -> bool:
        value = self.opt(name)
        return value is not None and self._number(name, value, int) == 1

    def req_real(self, name: str) -> float:
        return self._number(name, self.req(name), float)

    def real(self, name: str) -> float | None:
        value = self.opt(name)
        return None if value is None else self._number(name, value, float)

    def integer(self, name: str) -> int | None:
        value = self.opt(name)
        return None if value is None else self._number(name, value, int)

    def _check_code(self, name: str, value: str) -> None:
        problem = code_problem(value)
        if problem is not None:
            raise self.fail(f"{name} {value!r} is not a SNOMED CT concept id: it {problem.value}")

    def _number(self, name: str, value: str, kind: Callable[[str], N]) -> N:
        try:
            return kind(value)
        except ValueError:
            raise self.fail(f"{name} {value!r} is not a number") from None


# Records of schema 2.3 that the extract does not keep (licensed routes, reimbursement, ...).
_SKIPPED: dict[FileKind, frozenset[str]] = {
    FileKind.LOOKUP: frozenset(),
    FileKind.INGREDIENT: frozenset(),
    FileKind.VTM: frozenset(),
    FileKind.VMP: frozenset({"ONT"}),
    FileKind.AMP: frozenset({"AP_ING", "LIC_ROUTE", "AP_INFO"}),
    FileKind.VMPP: frozenset({"CCONTENT"}),
    FileKind.AMPP: frozenset({"PACK_INFO", "PRESCRIB_INFO", "REIMB_INFO", "CCONTENT"}),
}
_BUILDERS: dict[FileKind, dict[str, Callable[[_Reader], Record]]] = {
    FileKind.LOOKUP: {
        "INFO": lambda r: LookupEntry(r.raw.section, r.req("CD"), r.raw.fields.get("DESC", "")),
    },
    FileKind.INGREDIENT: {
        "ING": lambda r: Ingredient(r.code("ISID"), r.req("NM"), r.flag("INVALID")),
    },
    FileKind.VTM: {
        "VTM": lambda r: Vtm(
            r.code("VTMID"),
            r.req("NM"),
            r.flag("INVALID"),
            r.opt_code("VTMIDPREV"),
            r.opt("VTMIDDT"),
        ),
    },
    FileKind.VMP: {
        "VMP": lambda r: Vmp(
            vpid=r.code("VPID"),
            name=r.req("NM"),
            vtmid=r.opt("VTMID"),
            invalid=r.flag("INVALID"),
            previous_id=r.opt_code("VPIDPREV"),
            changed_on=r.opt("VPIDDT"),
            prescribing_status_cd=r.req("PRES_STATCD"),
            non_availability_cd=r.opt("NON_AVAILCD"),
            non_availability_date=r.opt("NON_AVAILDT"),
            dose_form_indicator_cd=r.opt("DF_INDCD"),
            unit_dose_form_size=r.real("UDFS"),
            unit_dose_form_units_cd=r.opt("UDFS_UOMCD"),
        ),
        "VPI": lambda r: Vpi(
            vpid=r.req("VPID"),
            isid=r.req("ISID"),
            basis_of_strength_cd=r.opt("BASIS_STRNTCD"),
            base_substance_id=r.opt("BS_SUBID"),
            numerator=r.real("STRNT_NMRTR_VAL"),
            numerator_unit_cd=r.opt("STRNT_NMRTR_UOMCD"),
            denominator=r.real("STRNT_DNMTR_VAL"),
            denominator_unit_cd=r.opt("STRNT_DNMTR_UOMCD"),
        ),
        "DFORM": lambda r: VmpForm(r.req("VPID"), r.req("FORMCD")),
        "DROUTE": lambda r: VmpRoute(r.req("VPID"), r.req("ROUTECD")),
        "CONTROL_INFO": lambda r: ControlInfo(r.req("VPID"), r.req("CATCD"), r.opt("CATDT")),
    },
    FileKind.AMP: {
        "AMP": lambda r: Amp(
            apid=r.code("APID"),
            vpid=r.req("VPID"),
            name=r.req("NM"),
            # DESC is the name with the supplier, e.g. "Warfarin 1mg tablets (Teva UK Ltd)".
            description=r.opt("DESC") or r.req("NM"),
            invalid=r.flag("INVALID"),
            supplier_cd=r.req("SUPPCD"),
            licensing_authority_cd=r.req("LIC_AUTHCD"),
            parallel_import=r.flag("PARALLEL_IMPORT"),
            availability_restriction_cd=r.req("AVAIL_RESTRICTCD"),
        ),
    },
    FileKind.VMPP: {
        "VMPP": lambda r: Vmpp(
            vppid=r.code("VPPID"),
            vpid=r.req("VPID"),
            name=r.req("NM"),
            invalid=r.flag("INVALID"),
            quantity=r.req_real("QTYVAL"),
            quantity_unit_cd=r.req("QTY_UOMCD"),
        ),
        "DTINFO": lambda r: DrugTariff(
            r.req("VPPID"),
            r.req("PAY_CATCD"),
            r.integer("PRICE"),
            r.opt("DT"),
            r.integer("PREVPRICE"),
        ),
    },
    FileKind.AMPP: {
        "AMPP": lambda r: Ampp(
            appid=r.code("APPID"),
            apid=r.req("APID"),
            vppid=r.req("VPPID"),
            name=r.req("NM"),
            invalid=r.flag("INVALID"),
            legal_category_cd=r.req("LEGAL_CATCD"),
            discontinued_cd=r.opt("DISCCD"),
            discontinued_date=r.opt("DISCDT"),
        ),
        "PRICE_INFO": lambda r: AmppPrice(
            r.req("APPID"), r.integer("PRICE"), r.opt("PRICEDT"), r.req("PRICE_BASISCD")
        ),
    },
}
