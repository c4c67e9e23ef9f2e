"""A biologic's brand choice for one patient: switch, no equivalent, or prescribe by brand.

Patient exceptions: a failed switch suppresses switch choices for its molecule; a decline marks
them declined (the rule softens its severity) until it expires; a recorded condition a brand is
not licensed for removes that brand's products from the suggestions. The finding wording is
committee data (rules/biosimilars.yaml); this module fills its values.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from medsopt.dmd.concepts import Level
from medsopt.engine.findings import ResolvedMedication, Suggestion
from medsopt.engine.request import BiologicException, BiologicExceptionKind, MedicationStatus
from medsopt.formulary.biosimilars import BiosimilarTable, BrandProduct, MoleculeTable
from medsopt.formulary.equivalence import (
    annual_saving,
    biosimilar_exists,
    coded_exclusion,
    device,
    equivalents,
    why_none,
)
from medsopt.formulary.formulary import Formulary
from medsopt.formulary.models import PreferredBrand
from medsopt.rules.match import BIOSIMILAR_PLACEHOLDERS

SWITCH = "switch"
NO_EQUIVALENT = "no-equivalent"
PRESCRIBE_BY_BRAND = "prescribe-by-brand"
# Every choice fills every placeholder a biosimilar rule may use ("" where it does not apply).
VALUE_NAMES = tuple(sorted(BIOSIMILAR_PLACEHOLDERS))


@dataclass(frozen=True, slots=True)
class BiologicContext:
    """What a choice needs from the request, the table and the formulary."""

    table: BiosimilarTable
    formulary: Formulary | None
    as_of: datetime.date | None
    conditions: frozenset[str]
    exceptions: Mapping[str, tuple[BiologicException, ...]]  # by molecule VTM code
    proposed: frozenset[str]  # concept codes of proposed medicines

    def preferences(self, molecule: MoleculeTable) -> tuple[PreferredBrand, ...]:
        """Brands preferred on the as-of date (else the formulary's date), best first."""
        if self.formulary is None:
            return ()
        on = self.as_of or self.formulary.header.effective_date
        return self.formulary.preferred_brands(molecule.code, on)

    def exception(self, molecule: str, kind: BiologicExceptionKind) -> BiologicException | None:
        """The first exception of this kind for the molecule that is in force."""
        for exception in self.exceptions.get(molecule, ()):
            if exception.kind is kind and in_force(exception, self.as_of):
                return exception
        return None


@dataclass(frozen=True, slots=True)
class Choice:
    """The outcome for one medicine, its values and suggestions, and what was tested."""

    outcome: str
    molecule: MoleculeTable
    values: Mapping[str, str]
    suggestions: tuple[Suggestion, ...]
    facts: tuple[str, ...]
    declined: bool = False


def context_for(
    table: BiosimilarTable,
    formulary: Formulary | None,
    as_of: datetime.date | None,
    conditions: Sequence[str],
    exceptions: Sequence[BiologicException],
    medications: Sequence[ResolvedMedication],
) -> BiologicContext:
    """The context of one patient (exceptions keyed by the molecule they name)."""
    by_molecule: dict[str, list[BiologicException]] = {}
    for exception in exceptions:
        molecule = table.molecule_of(exception.molecule_code)
        if molecule is not None:
            by_molecule.setdefault(molecule.code, []).append(exception)
    return BiologicContext(
        table,
        formulary,
        as_of,
        frozenset(conditions),
        {code: tuple(found) for code, found in by_molecule.items()},
        frozenset(
            m.resolved.concept.code
            for m in medications
            if m.entry.status is MedicationStatus.PROPOSED
        ),
    )


def choose(medication: ResolvedMedication, context: BiologicContext) -> Choice | None:
    """The brand choice for one medicine, or None (not a biologic, or nothing to say)."""
    concept = medication.resolved.concept
    product = context.table.products.get(concept.code)
    if product is not None:
        return _brand_choice(medication, product, context)
    molecule = context.table.molecule_of(concept.code)
    if molecule is None and concept.level is Level.VMP and concept.vtm is not None:
        molecule = context.table.molecules.get(concept.vtm)
    return None if molecule is None else _by_brand_choice(medication, molecule, context)


def _brand_choice(
    medication: ResolvedMedication, product: BrandProduct, context: BiologicContext
) -> Choice | None:
    molecule = context.table.molecules[product.molecule]
    preferred = context.preferences(molecule)
    if preferred:
        rank = {p.brand: i for i, p in enumerate(preferred)}
        if product.entry.brand in rank:
            return None
        pool = [q for q in molecule.products if q.entry.brand in rank]
    elif product.role == "originator":
        pool = [q for q in molecule.products if q.role == "biosimilar"]
        rank = {brand: i for i, brand in enumerate(sorted({q.entry.brand for q in pool}))}
    else:
        return None  # a biosimilar, and the formulary names no preferred brand
    if not biosimilar_exists(product, molecule):
        return None  # nothing to switch to on this route and strength (e.g. SC trastuzumab)
    if context.exception(molecule.code, BiologicExceptionKind.FAILED_SWITCH) is not None:
        return None
    licensed = [
        q
        for q in equivalents(product, pool, rank)
        if coded_exclusion(q, context.conditions) is None
    ]
    current = medication.entry.status is MedicationStatus.CURRENT
    if current and any(q.code in context.proposed for q in licensed):
        return None  # the switch is already being prescribed
    preference = preference_text(context, molecule, preferred)
    facts = [
        f"{product.entry.brand} is the {product.role} brand of {molecule.name}",
        preference,
        *exception_facts(context, molecule),
    ]
    values = dict.fromkeys(VALUE_NAMES, "")
    values.update(product=describe(product), preference=preference)
    if not licensed:
        why = why_none(product, pool, context.conditions)
        values["why"] = why
        return Choice(NO_EQUIVALENT, molecule, values, (), (*facts, f"no suggestion: {why}"))
    by_brand = {p.brand: p for p in preferred}
    suggestions = tuple(
        Suggestion(
            q.code,
            q.entry.name,
            reason(product, q, by_brand.get(q.entry.brand), True),
        )
        for q in licensed
    )
    values.update(suggested=licensed[0].entry.name, saving=annual_saving(product, licensed[0])[1])
    declined = context.exception(molecule.code, BiologicExceptionKind.DECLINED)
    if declined is not None:
        values["decline"] = f" {decline_text(declined, context.as_of)}"
    return Choice(
        SWITCH,
        molecule,
        values,
        suggestions,
        (
            *facts,
            f"route kept: {product.entry.route}",
            f"strength kept: {product.entry.strength}",
        ),
        declined=declined is not None,
    )


def _by_brand_choice(
    medication: ResolvedMedication, molecule: MoleculeTable, context: BiologicContext
) -> Choice:
    concept = medication.resolved.concept
    same_generic = [q for q in molecule.products if q.entry.generic == concept.code]
    preferred = context.preferences(molecule)
    rank = {p.brand: i for i, p in enumerate(preferred)}
    failed = context.exception(molecule.code, BiologicExceptionKind.FAILED_SWITCH)
    is_vtm = concept.level is Level.VTM or concept.code == molecule.code
    advice = ""
    candidates: tuple[BrandProduct, ...] = ()
    if failed is not None:
        advice = (
            f" A failed switch is recorded for {molecule.name}: prescribe the brand the patient "
            "is established on."
        )
    elif not same_generic:
        if is_vtm:
            advice = " Choose the brand and the product (strength, device)."
        brands = sorted({q.entry.brand for q in molecule.products})
        advice += f" Brands in the table: {', '.join(brands) or 'none with a dm+d code yet'}."
    elif preferred:
        pool = [q for q in molecule.products if q.entry.brand in rank]
        candidates = equivalents(same_generic[0], pool, rank, exclude_current=False)
    else:
        candidates = tuple(
            sorted(same_generic, key=lambda q: (q.role != "originator", q.entry.name))
        )
    licensed = [q for q in candidates if coded_exclusion(q, context.conditions) is None]
    by_brand = {p.brand: p for p in preferred}
    values = dict.fromkeys(VALUE_NAMES, "")
    values.update(
        prescribed_as=(
            "the molecule only (VTM)" if is_vtm else f"a generic product ({concept.level.value})"
        ),
        molecule=molecule.name.lower(),
        advice=advice,
    )
    return Choice(
        PRESCRIBE_BY_BRAND,
        molecule,
        values,
        tuple(
            Suggestion(
                q.code, q.entry.name, reason(same_generic[0], q, by_brand.get(q.entry.brand), False)
            )
            for q in licensed
        ),
        (preference_text(context, molecule, preferred), *exception_facts(context, molecule)),
    )


def reason(
    current: BrandProduct, suggested: BrandProduct, preferred: PreferredBrand | None, compare: bool
) -> str:
    """Why this product, and what changes for the patient."""
    entry, was = suggested.entry, current.entry
    if preferred is not None:
        why = f"preferred {suggested.molecule_name} brand from {preferred.effective_from}"
        parts = [why + (f" ({preferred.reason})" if preferred.reason else "")]
    else:
        parts = [f"{suggested.role} brand of this {suggested.molecule_name} product"]
    parts.append(f"same route ({entry.route}) and strength ({entry.strength})")
    if entry.presentation == was.presentation:
        parts.append(f"same device type ({device(suggested)})")
    else:
        parts.append(
            f"device changes from {device(current)} to {device(suggested)} (no "
            f"{device(current)} of this brand): arrange training"
        )
    if entry.volume_ml != was.volume_ml and entry.volume_ml and was.volume_ml:
        parts.append(f"{entry.volume_ml:g} ml a dose instead of {was.volume_ml:g} ml")
    if (
        entry.presentation == was.presentation == "cartridge"
        and entry.reusable_pen != was.reusable_pen
    ):
        parts.append(
            f"fits {entry.reusable_pen}, not {was.reusable_pen}: supply the pen and training"
        )
    if compare and entry.citrate and was.citrate is False:
        parts.append("contains citrate, unlike the current product: injections may sting more")
    if entry.latex and (not compare or was.latex is not True):
        parts.append("needle cover contains latex: check for latex allergy")
    parts += [
        f"not licensed for {x.indication} (not machine-checked: confirm the indication)"
        for x in suggested.not_licensed_for
        if not x.codes
    ]
    saving, text = annual_saving(current, suggested) if compare else (None, "")
    if saving is not None:
        parts.append(f"estimated annual saving {text}")
    return "; ".join(parts)


def describe(product: BrandProduct) -> str:
    """E.g. 'the originator brand of adalimumab (Humira): subcutaneous, 40mg, pre-filled pen'."""
    entry = product.entry
    molecule = product.molecule_name.lower()
    which = (
        f"the originator brand of {molecule} ({entry.brand})"
        if product.role == "originator"
        else f"a biosimilar of {molecule} ({entry.brand}) that the formulary does not prefer"
    )
    return f"{which}: {entry.route}, {entry.strength}, {device(product)}"


def preference_text(
    context: BiologicContext, molecule: MoleculeTable, preferred: tuple[PreferredBrand, ...]
) -> str:
    """Which brands the formulary prefers for the molecule, and since when."""
    if not preferred:
        return f"The local formulary names no preferred {molecule.name} brand in effect"
    formulary = context.formulary
    assert formulary is not None
    brands = ", ".join(f"{p.brand} (from {p.effective_from})" for p in preferred)
    return f"{formulary.version} prefers {brands}"


def exception_facts(context: BiologicContext, molecule: MoleculeTable) -> list[str]:
    """Each recorded exception for the molecule, in force or expired."""
    lines = []
    for exception in context.exceptions.get(molecule.code, ()):
        state = "in force" if in_force(exception, context.as_of) else "expired"
        until = f" until {exception.expires_on}" if exception.expires_on else ", no expiry"
        lines.append(f"{exception.kind.value} recorded for {molecule.name}{until}: {state}")
    return lines


def decline_text(declined: BiologicException, as_of: datetime.date | None) -> str:
    """How a decline in force softens the suggestion."""
    if declined.expires_on is None:
        return "The patient declined a switch (no expiry recorded): suggestion softened."
    if as_of is None:
        return (
            f"The patient declined a switch until {declined.expires_on}; with no as-of date the "
            "decline is taken as in force: suggestion softened."
        )
    return (
        f"The patient declined a switch until {declined.expires_on}: suggestion softened; offer "
        "it again after that date."
    )


def in_force(exception: BiologicException, as_of: datetime.date | None) -> bool:
    """In force until its expiry date; with no as-of date, it cannot be shown to have expired."""
    if exception.expires_on is None or as_of is None:
        return True
    try:
        return as_of < datetime.date.fromisoformat(exception.expires_on)
    except ValueError:  # validation rejects these; never drop an exception on a bad date
        return True
