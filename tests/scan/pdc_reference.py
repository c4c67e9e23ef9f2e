"""A deliberately simple PDC: one Python set of covered days per patient and class.

The reference the interval-arithmetic `medsopt.scan.pdc` is checked against (STYLE.md habit
10); slow and obvious on purpose.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from medsopt.scan.pdc import MIN_DAYS_BEFORE_END


@dataclass(frozen=True, slots=True)
class Fill:
    patient_id: str
    drug_class: str
    molecule: str
    dispensed_on: datetime.date
    days_supply: int


def reference_pdc(
    fills: list[Fill], as_of: datetime.date, period_days: int
) -> dict[tuple[str, str], float | None]:
    """(patient, class) -> PDC, or None when not eligible."""
    start = as_of - datetime.timedelta(days=period_days - 1)
    groups: dict[tuple[str, str], list[Fill]] = defaultdict(list)
    for fill in fills:
        if start <= fill.dispensed_on <= as_of:
            groups[(fill.patient_id, fill.drug_class)].append(fill)
    result: dict[tuple[str, str], float | None] = {}
    for key, group in groups.items():
        index = min(f.dispensed_on for f in group)
        dates = {f.dispensed_on for f in group}
        if len(dates) < 2 or (as_of - index).days < MIN_DAYS_BEFORE_END:
            result[key] = None
            continue
        # Same molecule, same day: the longest supply counts.
        longest: dict[tuple[str, datetime.date], int] = {}
        for f in group:
            day_key = (f.molecule, f.dispensed_on)
            longest[day_key] = max(longest.get(day_key, 0), f.days_supply)
        covered: set[datetime.date] = set()
        for molecule in {m for m, _ in longest}:
            supply_ends = index  # the day after the molecule's supply so far
            for day in sorted(d for m, d in longest if m == molecule):
                begin = max(day, supply_ends)
                for offset in range(longest[(molecule, day)]):
                    covered.add(begin + datetime.timedelta(days=offset))
                supply_ends = begin + datetime.timedelta(days=longest[(molecule, day)])
        inside = {d for d in covered if index <= d <= as_of}
        result[key] = len(inside) / ((as_of - index).days + 1)
    return result
