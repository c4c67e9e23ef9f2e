"""Typed records of an NHSBSA dm+d release (schema 2.3), one dataclass per kept element.

Field names follow the NHSBSA XSDs (vmp_v2_3.xsd etc.).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LookupEntry:
    """One code of a lookup table (SUPPLIER, FORM, ROUTE, CONTROL_DRUG_CATEGORY, ...)."""

    table: str
    code: str
    description: str


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An ingredient substance (ISID)."""

    isid: str
    name: str
    invalid: bool


@dataclass(frozen=True, slots=True)
class Vtm:
    """A Virtual Therapeutic Moiety, with the id it replaced."""

    vtmid: str
    name: str
    invalid: bool
    previous_id: str | None
    changed_on: str | None


@dataclass(frozen=True, slots=True)
class Vmp:
    """A Virtual Medicinal Product, with the id it replaced and its prescribing attributes."""

    vpid: str
    name: str
    vtmid: str | None
    invalid: bool
    previous_id: str | None
    changed_on: str | None
    prescribing_status_cd: str
    non_availability_cd: str | None
    non_availability_date: str | None
    dose_form_indicator_cd: str | None
    unit_dose_form_size: float | None
    unit_dose_form_units_cd: str | None


@dataclass(frozen=True, slots=True)
class Vpi:
    """A VMP ingredient with its strength (numerator per denominator)."""

    vpid: str
    isid: str
    basis_of_strength_cd: str | None
    base_substance_id: str | None
    numerator: float | None
    numerator_unit_cd: str | None
    denominator: float | None
    denominator_unit_cd: str | None


@dataclass(frozen=True, slots=True)
class VmpForm:
    """A VMP's dose form (FORM lookup code)."""

    vpid: str
    form_cd: str


@dataclass(frozen=True, slots=True)
class VmpRoute:
    """A route of administration of a VMP (ROUTE lookup code)."""

    vpid: str
    route_cd: str


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """A VMP's controlled-drug category."""

    vpid: str
    category_cd: str
    changed_on: str | None


@dataclass(frozen=True, slots=True)
class Amp:
    """An Actual Medicinal Product: a supplier's product of a VMP."""

    apid: str
    vpid: str
    name: str
    description: str
    invalid: bool
    supplier_cd: str
    licensing_authority_cd: str
    parallel_import: bool
    availability_restriction_cd: str


@dataclass(frozen=True, slots=True)
class Vmpp:
    """A pack of a VMP."""

    vppid: str
    vpid: str
    name: str
    invalid: bool
    quantity: float
    quantity_unit_cd: str


@dataclass(frozen=True, slots=True)
class DrugTariff:
    """A VMPP's Drug Tariff payment category and price (pence)."""

    vppid: str
    payment_category_cd: str
    price: int | None
    valid_from: str | None
    previous_price: int | None


@dataclass(frozen=True, slots=True)
class Ampp:
    """A pack of an AMP."""

    appid: str
    apid: str
    vppid: str
    name: str
    invalid: bool
    legal_category_cd: str
    discontinued_cd: str | None
    discontinued_date: str | None


@dataclass(frozen=True, slots=True)
class AmppPrice:
    """An AMPP's price (pence) and its basis."""

    appid: str
    price: int | None
    price_date: str | None
    price_basis_cd: str


Record = (
    LookupEntry
    | Ingredient
    | Vtm
    | Vmp
    | Vpi
    | VmpForm
    | VmpRoute
    | ControlInfo
    | Amp
    | Vmpp
    | DrugTariff
    | Ampp
    | AmppPrice
)
