"""Pydantic models of formulary files (formulary/*.yaml), `extra="forbid"` like the rule files."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from medsopt.authoring.fields import FileModel, Identifier, SctIdText, Text

# Traffic-light statuses as NHS formularies use them.
Status = Literal["formulary", "specialist-initiation", "hospital-only", "non-formulary"]


class ProductRef(FileModel):
    """A dm+d product (VTM, VMP or AMP) named by code and name."""

    code: SctIdText
    name: Text


class Alternative(ProductRef):
    """A preferred product to suggest instead, and why."""

    reason: Text


class Product(ProductRef):
    """The formulary's position on one product; applies to everything below it in dm+d."""

    status: Status
    line: Literal["first", "second", "third"] | None = None
    therapeutic_class: Identifier | None = None
    tier: Annotated[int, Field(ge=1, le=5)] | None = None
    restrictions: str = ""
    alternatives: tuple[Alternative, ...] = ()


class TherapeuticClass(FileModel):
    """A class with a preferred-choice order (e.g. statins, DOACs, PPIs)."""

    id: Identifier
    title: Text
    preferred_order: Annotated[tuple[ProductRef, ...], Field(min_length=1)]
    note: str = ""


class PreferredBrand(FileModel):
    """A brand the formulary prefers for a biologic, from `effective_from` to `effective_to`."""

    brand: Text  # a brand of the molecule in the biosimilar table (formulary/biosimilars/)
    effective_from: datetime.date
    effective_to: datetime.date | None = None  # last day in effect; None: until changed
    reason: str = ""

    @model_validator(mode="after")
    def _dates_in_order(self) -> PreferredBrand:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self


class BiosimilarPreference(FileModel):
    """The preferred (best-value) brands of one biologic, best first."""

    molecule: ProductRef  # the VTM
    preferred: Annotated[tuple[PreferredBrand, ...], Field(min_length=1)]
    note: str = ""


class FormularyHeader(FileModel):
    """Identity of the formulary, in exactly one file."""

    name: Text
    organisation: Text
    version: Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d{1,2}(\.\d+)?$")]
    effective_date: datetime.date
    source: Text


class FormularyFile(FileModel):
    """A YAML file in the formulary directory: header, classes, products, preferred biologics."""

    formulary: FormularyHeader | None = None
    classes: tuple[TherapeuticClass, ...] = ()
    products: tuple[Product, ...] = ()
    biosimilars: tuple[BiosimilarPreference, ...] = ()
