"""Which brand products of a biologic can replace which: the equivalence logic, no wording.

MHRA: a biosimilar is interchangeable with its reference product at the prescriber's choice,
never by substitution at dispensing; a switch never changes route or strength, and changes the
device only between self-injection devices a patient can be trained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from medsopt.formulary.biosimilars import BrandProduct, Exclusion, MoleculeTable

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
    missing = [label(p) for p in (current, suggested) if p.entry.price is None]
    if missing:
        return None, f"unknown (no price recorded for {' or '.join(missing)})"
    interval = current.entry.usual_dose_interval_days
    if interval is None:
        return None, f"unknown (no usual dosing interval recorded for {label(current)})"
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


def biosimilar_exists(product: BrandProduct, molecule: MoleculeTable) -> bool:
    """True when another brand's biosimilar has this product's route and strength."""
    return any(
        q.role == "biosimilar"
        and q.entry.brand != product.entry.brand
        and q.entry.route == product.entry.route
        and q.entry.strength == product.entry.strength
        for q in molecule.products
    )


def coded_exclusion(
    product: BrandProduct, conditions: frozenset[str]
) -> tuple[Exclusion, str] | None:
    """The licence exclusion, and the patient's condition code, that rule this product out."""
    for exclusion in product.not_licensed_for:
        for code in exclusion.codes:
            if code.code in conditions:
                return exclusion, code.code
    return None


def why_none(
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
        devices = ", ".join(sorted({device(q) for q in same_strength}))
        return (
            f"no equivalent device: {brands} {entry.strength} comes as {devices}, not as a "
            f"{device(product)}"
        )
    excluded = []
    for q in compatible:
        found = coded_exclusion(q, conditions)
        if found is not None:
            excluded.append(
                f"{q.entry.brand} is not licensed for {found[0].indication} (the patient has "
                f"{found[1]})"
            )
    return "; ".join(sorted(set(excluded))) or "no matching product"


def device(product: BrandProduct) -> str:
    return DEVICE_WORDS[product.entry.presentation]


def label(product: BrandProduct) -> str:
    """A short name, e.g. 'Humira 40mg pre-filled pen'."""
    return f"{product.entry.brand} {product.entry.strength} {device(product)}"
