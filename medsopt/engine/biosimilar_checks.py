"""Biosimilar findings, at brand (AMP) level.

MHRA: biological medicines are prescribed by brand; a switch between brands is the prescriber's
decision with the patient, never a pharmacy substitution. So:

- `BIOSIMILAR-SWITCH`: an originator, or a brand the local formulary does not prefer, when a
  preferred brand has a product with the same route and strength and a compatible device (the
  same device type whenever the preferred brand has it);
- `BIOSIMILAR-NO-EQUIVALENT`: a biosimilar exists for the product's route and strength, but no
  preferred product can be suggested; the finding says why (route, strength, device, licence);
- `BIOSIMILAR-PRESCRIBE-BY-BRAND`: a biologic prescribed as a generic VMP or as a VTM.

Patient exceptions: a failed switch suppresses switch findings for its molecule; a decline
softens them (info severity) until it expires; a recorded condition a brand is not licensed for
removes that brand's products from the suggestions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from medsopt.dmd.concepts import Level
from medsopt.engine.findings import Finding, ResolvedMedication, Suggestion
from medsopt.engine.formulary_checks import status_text
from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    CheckRequest,
    MedicationStatus,
)
from medsopt.formulary.biosimilars import BiosimilarTable, BrandProduct, Exclusion, MoleculeTable
from medsopt.formulary.formulary import Formulary
from medsopt.formulary.models import PreferredBrand
from medsopt.rules.models import Citation


@dataclass(frozen=True, slots=True)
class BiosimilarRule:
    """The fixed wording of one kind of biosimilar finding."""

    rule_id: str
    title: str
    severity: str
    recommendation: str


SWITCH = BiosimilarRule(
    "BIOSIMILAR-SWITCH",
    "Best-value biosimilar brand available",
    "mild",
    "Consider switching, by brand, to the suggested product: a prescriber decision made with the "
    "patient and the specialist team that supplies it, never a substitution at dispensing. "
    "Prescribe and record the brand; arrange training if the device changes.",
)
NO_EQUIVALENT = BiosimilarRule(
    "BIOSIMILAR-NO-EQUIVALENT",
    "No matching product of the preferred biosimilar brand",
    "info",
    "Do not change route, strength or device type to reach the preferred brand: keep the current "
    "brand, or review the options with the specialist team.",
)
PRESCRIBE_BY_BRAND = BiosimilarRule(
    "BIOSIMILAR-PRESCRIBE-BY-BRAND",
    "Biological medicine prescribed without a brand",
    "mild",
    "Prescribe biological medicines by brand name, so that the patient receives the intended "
    "product and the brand given is recorded; choose the brand with the patient and the "
    "specialist team.",
)
BIOSIMILAR_RULES = (SWITCH, NO_EQUIVALENT, PRESCRIBE_BY_BRAND)
RATIONALE = (
    "MHRA: a biosimilar is interchangeable with its reference product, and with other "
    "biosimilars of it, at the prescriber's choice; biologics are prescribed by brand and never "
    "substituted at dispensing. NHS England: use the best-value biological medicine."
)
# Self-injection devices a patient can be trained to change between; a vial (part doses drawn
# up) or an infusion bag (dose-banded) is only ever matched with its own kind.
SELF_INJECTION = frozenset({"pre-filled-pen", "pre-filled-syringe", "cartridge"})
DAYS_PER_YEAR = 365.25
DEVICE_WORDS = {
    "pre-filled-pen": "pre-filled pen",
    "pre-filled-syringe": "pre-filled syringe",
    "cartridge": "cartridge",
    "vial": "vial",
    "infusion-bag": "infusion bag",
}


@dataclass(frozen=True, slots=True)
class _Context:
    """What every medicine's evaluation needs from the request, the table and the formulary."""

    table: BiosimilarTable
    formulary: Formulary | None
    as_of: datetime.date | None
    conditions: frozenset[str]
    exceptions: Mapping[str, tuple[BiologicException, ...]]  # by molecule VTM code
    proposed: frozenset[str]  # codes of proposed medicines

    def preferences(self, molecule: MoleculeTable) -> tuple[PreferredBrand, ...]:
        """Brands preferred on the as-of date (else the formulary's date), best first."""
        if self.formulary is None:
            return ()
        on = self.as_of or self.formulary.header.effective_date
        return self.formulary.preferred_brands(molecule.code, on)

    def exception(self, molecule: str, kind: BiologicExceptionKind) -> BiologicException | None:
        """The first exception of this kind for the molecule that is in force."""
        for exception in self.exceptions.get(molecule, ()):
            if exception.kind is kind and _in_force(exception, self.as_of):
                return exception
        return None


def biosimilar_findings(
    medications: Sequence[ResolvedMedication],
    request: CheckRequest,
    table: BiosimilarTable,
    formulary: Formulary | None,
) -> list[Finding]:
    """Switch, no-equivalent and prescribe-by-brand findings for each biologic on the list."""
    exceptions: dict[str, list[BiologicException]] = {}
    for exception in request.patient.biologic_exceptions:
        molecule = table.molecule_of(exception.molecule_code)
        if molecule is not None:
            exceptions.setdefault(molecule.code, []).append(exception)
    context = _Context(
        table,
        formulary,
        request.as_of,
        frozenset(request.patient.condition_codes),
        {code: tuple(found) for code, found in exceptions.items()},
        frozenset(
            m.resolved.concept.code
            for m in medications
            if m.entry.status is MedicationStatus.PROPOSED
        ),
    )
    findings: list[Finding] = []
    for medication in medications:
        concept = medication.resolved.concept
        product = table.products.get(concept.code)
        if product is not None:
            finding = _brand_finding(medication, product, context)
        else:
            molecule = _generic_molecule(table, concept.code, concept.level, concept.vtm)
            finding = None if molecule is None else _by_brand_finding(medication, molecule, context)
        if finding is not None:
            findings.append(finding)
    return findings


def equivalents(
    current: BrandProduct,
    pool: Iterable[BrandProduct],
    rank: Mapping[str, int],
    exclude_current: bool = True,
) -> tuple[BrandProduct, ...]:
    """Products of `pool` to suggest instead of `current`, best first.

    Never a different route or strength; a compatible device, and the same device type only
    whenever the pool has it (a pen is not swapped for a syringe when a pen exists).
    """
    matching = [
        q
        for q in pool
        if not (exclude_current and q.code == current.code)
        and q.entry.route == current.entry.route
        and q.entry.strength == current.entry.strength
        and devices_compatible(current, q)
    ]
    same_device = [q for q in matching if q.entry.presentation == current.entry.presentation]
    return tuple(
        sorted(
            same_device or matching,
            key=lambda q: (
                rank.get(q.entry.brand, len(rank)),
                q.entry.volume_ml != current.entry.volume_ml,
                bool(q.entry.citrate) and current.entry.citrate is False,
                q.entry.name,
            ),
        )
    )


def devices_compatible(current: BrandProduct, other: BrandProduct) -> bool:
    """Same presentation, or two self-injection devices (pen, syringe, cartridge)."""
    a, b = current.entry.presentation, other.entry.presentation
    return a == b or (a in SELF_INJECTION and b in SELF_INJECTION)


def annual_saving(current: BrandProduct, suggested: BrandProduct) -> tuple[float | None, str]:
    """Estimated saving a year from switching, and how it was worked out (or why it is unknown)."""
    missing = [_label(p) for p in (current, suggested) if p.entry.price is None]
    if missing:
        return None, f"unknown (no price recorded for {' or '.join(missing)})"
    interval = current.entry.usual_dose_interval_days
    if interval is None:
        return None, f"unknown (no usual dosing interval recorded for {_label(current)})"
    assert current.entry.price is not None and suggested.entry.price is not None
    was, now = current.entry.price.per_dose, suggested.entry.price.per_dose
    doses = DAYS_PER_YEAR / interval
    saving = (was - now) * doses
    basis = (
        f"{doses:.1f} doses a year at one every {interval:g} days; £{was:,.2f} and £{now:,.2f} a "
        f"dose ({current.entry.price.source}; {suggested.entry.price.source})"
    )
    if saving < 0:
        return saving, f"none: £{-saving:,.2f} a year more at these prices ({basis})"
    return saving, f"£{saving:,.2f} a year ({basis})"


def _brand_finding(
    medication: ResolvedMedication, product: BrandProduct, context: _Context
) -> Finding | None:
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
    if not _biosimilar_exists(product, molecule):
        return None  # nothing to switch to on this route and strength (e.g. SC trastuzumab)
    if context.exception(molecule.code, BiologicExceptionKind.FAILED_SWITCH) is not None:
        return None
    matching = equivalents(product, pool, rank)
    licensed = [q for q in matching if _coded_exclusion(q, context.conditions) is None]
    current = medication.entry.status is MedicationStatus.CURRENT
    if current and any(q.code in context.proposed for q in licensed):
        return None  # the switch is already being prescribed
    conditions = [
        f"{product.entry.brand} is the {product.role} brand of {molecule.name}",
        _preference_text(context, molecule, preferred),
        *_exception_conditions(context, molecule),
    ]
    if not licensed:
        why = _why_none(product, pool, context.conditions)
        return _finding(
            NO_EQUIVALENT,
            medication,
            molecule,
            context,
            f"{medication.resolved.concept.name} is {_describe(product)}. "
            f"{_preference_text(context, molecule, preferred)}. "
            f"No product can be suggested: {why}.",
            (),
            (*conditions, f"no suggestion: {why}"),
        )
    by_brand = {p.brand: p for p in preferred}
    suggestions = tuple(
        Suggestion(
            q.code,
            q.entry.name,
            _reason(product, q, by_brand.get(q.entry.brand), context.conditions, True),
        )
        for q in licensed
    )
    _, saving = annual_saving(product, licensed[0])
    detail = (
        f"{medication.resolved.concept.name} is {_describe(product)}. "
        f"{_preference_text(context, molecule, preferred)}. Suggested: {licensed[0].entry.name}. "
        f"Estimated annual saving: {saving}."
    )
    declined = context.exception(molecule.code, BiologicExceptionKind.DECLINED)
    severity = SWITCH.severity
    if declined is not None:
        severity = "info"
        detail += f" {_decline_text(declined, context.as_of)}"
    return _finding(
        SWITCH,
        medication,
        molecule,
        context,
        detail,
        suggestions,
        (
            *conditions,
            f"route kept: {product.entry.route}",
            f"strength kept: {product.entry.strength}",
        ),
        severity,
    )


def _by_brand_finding(
    medication: ResolvedMedication, molecule: MoleculeTable, context: _Context
) -> Finding:
    concept = medication.resolved.concept
    same_generic = [q for q in molecule.products if q.entry.generic == concept.code]
    preferred = context.preferences(molecule)
    rank = {p.brand: i for i, p in enumerate(preferred)}
    failed = context.exception(molecule.code, BiologicExceptionKind.FAILED_SWITCH)
    conditions = [
        _preference_text(context, molecule, preferred),
        *_exception_conditions(context, molecule),
    ]
    is_vtm = concept.level is Level.VTM or concept.code == molecule.code
    what = "the molecule only (VTM)" if is_vtm else f"a generic product ({concept.level.value})"
    detail = (
        f"{concept.name} is prescribed as {what}, but {molecule.name.lower()} is a biological "
        "medicine: prescribe it by brand, so that the product dispensed is the one chosen and the "
        "brand given is recorded."
    )
    candidates: tuple[BrandProduct, ...] = ()
    if failed is not None:
        detail += (
            f" A failed switch is recorded for {molecule.name}: prescribe the brand the patient "
            "is established on."
        )
    elif not same_generic:
        if is_vtm:
            detail += " Choose the brand and the product (strength, device)."
        brands = sorted({q.entry.brand for q in molecule.products})
        detail += f" Brands in the table: {', '.join(brands) or 'none with a dm+d code yet'}."
    elif preferred:
        pool = [q for q in molecule.products if q.entry.brand in rank]
        candidates = equivalents(same_generic[0], pool, rank, exclude_current=False)
    else:
        candidates = tuple(
            sorted(same_generic, key=lambda q: (q.role != "originator", q.entry.name))
        )
    licensed = [q for q in candidates if _coded_exclusion(q, context.conditions) is None]
    by_brand = {p.brand: p for p in preferred}
    suggestions = tuple(
        Suggestion(
            q.code,
            q.entry.name,
            _reason(same_generic[0], q, by_brand.get(q.entry.brand), context.conditions, False),
        )
        for q in licensed
    )
    return _finding(
        PRESCRIBE_BY_BRAND, medication, molecule, context, detail, suggestions, conditions
    )


def _finding(
    kind: BiosimilarRule,
    medication: ResolvedMedication,
    molecule: MoleculeTable,
    context: _Context,
    detail: str,
    suggestions: tuple[Suggestion, ...],
    conditions: Sequence[str],
    severity: str | None = None,
) -> Finding:
    concept = medication.resolved.concept
    product = context.table.products.get(concept.code)
    role = f"{product.role} brand {product.entry.brand}" if product else "generic prescription"
    citations = [
        Citation(source=c.source, reference=c.reference, url=c.url)
        for c in molecule.molecule.citations
    ]
    formulary = context.formulary
    if formulary is not None and molecule.code in formulary.biosimilars:
        citations.append(
            Citation(
                source=formulary.header.name,
                reference=f"version {formulary.header.version}, preferred {molecule.name} brands",
            )
        )
    entry = formulary.entry_for(medication.resolved.lineage) if formulary else None
    return Finding(
        rule_id=kind.rule_id,
        category="biosimilar",
        severity=severity or kind.severity,
        evidence="guideline",
        title=kind.title,
        detail=detail,
        recommendation=kind.recommendation,
        rationale=RATIONALE,
        citations=tuple(citations),
        medication_refs=(medication.entry.ref,),
        matched=(
            medication.matched(
                group=f"biosimilar:{molecule.name.lower().replace(' ', '-')}",
                via=f"{concept.level.value} {concept.code} -> {role} of {molecule.name} in the "
                f"biosimilar table ({molecule.file})",
                formulary_status=status_text(entry) if formulary else "",
            ),
        ),
        conditions=tuple(c for c in conditions if c),
        involves_proposed=medication.entry.status is MedicationStatus.PROPOSED,
        suggestions=suggestions,
    )


def _generic_molecule(
    table: BiosimilarTable, code: str, level: Level, vtm: str | None
) -> MoleculeTable | None:
    """The molecule of a generic (VMP or VTM) prescription of a biologic in the table."""
    molecule = table.molecule_of(code)
    if molecule is None and level is Level.VMP and vtm is not None:
        molecule = table.molecules.get(vtm)
    return molecule


def _biosimilar_exists(product: BrandProduct, molecule: MoleculeTable) -> bool:
    """True when another brand's biosimilar has this product's route and strength."""
    return any(
        q.role == "biosimilar"
        and q.entry.brand != product.entry.brand
        and q.entry.route == product.entry.route
        and q.entry.strength == product.entry.strength
        for q in molecule.products
    )


def _coded_exclusion(
    product: BrandProduct, conditions: frozenset[str]
) -> tuple[Exclusion, str] | None:
    """The licence exclusion, and the patient's condition code, that rule this product out."""
    for exclusion in product.not_licensed_for:
        for code in exclusion.codes:
            if code.code in conditions:
                return exclusion, code.code
    return None


def _why_none(
    product: BrandProduct, pool: Sequence[BrandProduct], conditions: frozenset[str]
) -> str:
    """Why no product of the pool can replace `product`."""
    brands = ", ".join(sorted({q.entry.brand for q in pool})) or "the preferred brands"
    entry = product.entry
    if not pool:
        return f"{brands} have no products in the biosimilar table"
    same_route = [q for q in pool if q.entry.route == entry.route]
    if not same_route:
        routes = ", ".join(sorted({q.entry.route for q in pool}))
        return f"{brands} come only as {routes} products, and a switch never changes the route"
    same_strength = [q for q in same_route if q.entry.strength == entry.strength]
    if not same_strength:
        strengths = ", ".join(sorted({q.entry.strength for q in same_route}))
        return (
            f"no {entry.route} product of {brands} has this strength ({entry.strength}; they "
            f"have {strengths})"
        )
    compatible = [q for q in same_strength if devices_compatible(product, q)]
    if not compatible:
        devices = ", ".join(sorted({_device(q) for q in same_strength}))
        return (
            f"no equivalent device: {brands} {entry.strength} comes as {devices}, not as a "
            f"{_device(product)}"
        )
    excluded = []
    for q in compatible:
        found = _coded_exclusion(q, conditions)
        if found is not None:
            excluded.append(
                f"{q.entry.brand} is not licensed for {found[0].indication} (the patient has "
                f"{found[1]})"
            )
    return "; ".join(sorted(set(excluded))) or "no matching product"


def _reason(
    current: BrandProduct,
    suggested: BrandProduct,
    preferred: PreferredBrand | None,
    conditions: frozenset[str],
    compare: bool,
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
        parts.append(f"same device type ({_device(suggested)})")
    else:
        parts.append(
            f"device changes from {_device(current)} to {_device(suggested)} (no "
            f"{_device(current)} of this brand): arrange training"
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


def _describe(product: BrandProduct) -> str:
    entry = product.entry
    molecule = product.molecule_name.lower()
    which = (
        f"the originator brand of {molecule} ({entry.brand})"
        if product.role == "originator"
        else f"a biosimilar of {molecule} ({entry.brand}) that the formulary does not prefer"
    )
    return f"{which}: {entry.route}, {entry.strength}, {_device(product)}"


def _device(product: BrandProduct) -> str:
    return DEVICE_WORDS[product.entry.presentation]


def _label(product: BrandProduct) -> str:
    """A short name, e.g. 'Humira 40mg pre-filled pen'."""
    return f"{product.entry.brand} {product.entry.strength} {_device(product)}"


def _preference_text(
    context: _Context, molecule: MoleculeTable, preferred: tuple[PreferredBrand, ...]
) -> str:
    if not preferred:
        return f"The local formulary names no preferred {molecule.name} brand in effect"
    formulary = context.formulary
    assert formulary is not None
    brands = ", ".join(f"{p.brand} (from {p.effective_from})" for p in preferred)
    return f"{formulary.version} prefers {brands}"


def _exception_conditions(context: _Context, molecule: MoleculeTable) -> list[str]:
    lines = []
    for exception in context.exceptions.get(molecule.code, ()):
        state = "in force" if _in_force(exception, context.as_of) else "expired"
        until = f" until {exception.expires_on}" if exception.expires_on else ", no expiry"
        lines.append(f"{exception.kind.value} recorded for {molecule.name}{until}: {state}")
    return lines


def _decline_text(declined: BiologicException, as_of: datetime.date | None) -> str:
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


def _in_force(exception: BiologicException, as_of: datetime.date | None) -> bool:
    """In force until its expiry date; with no as-of date, it cannot be shown to have expired."""
    if exception.expires_on is None or as_of is None:
        return True
    try:
        return as_of < datetime.date.fromisoformat(exception.expires_on)
    except ValueError:  # validation rejects these; never drop an exception on a bad date
        return True
