"""A seeded ICB-sized population for the analytics: patients, clinical events and 24 months of
dispensing (cardiovascular, renal, PINCER-relevant medicines and biologics), with real codes.

Practices differ on purpose (each has its own propensity to treat, test and switch brands), so
indicators and uptake spread across the ICB's deciles and move month by month. Codes come from
the bundled rule set's groups, the indicator codelists and the biosimilar table; nothing is
made up except the ids of patients and practices.

    .venv/bin/python benchmarks/generate_population.py --patients 200000 --out /tmp/icb/
"""

from __future__ import annotations

import argparse
import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_RULES, Locations, build

AS_OF = datetime.date(2026, 11, 30)
MONTHS = 24
ORAL_SOLID = r"(?i)\b(tablets|capsules)$"
INDICATOR_CODELISTS = BUNDLED_RULES / "indicators" / "codelists"
# condition -> (share of patients, rule-set condition group or indicator codelist)
CONDITIONS = {
    "af": (0.05, "group:atrial-fibrillation"),
    "chd": (0.06, "group:ischaemic-heart-disease"),
    "stroke": (0.02, "csv:stroke.csv"),
    "pad": (0.01, "csv:peripheral-arterial-disease.csv"),
    "hf": (0.03, "group:heart-failure"),
    "ckd": (0.06, "group:chronic-kidney-disease"),
    "asthma": (0.08, "group:asthma"),
    "ulcer": (0.03, "group:peptic-ulcer"),
    "diabetes": (0.08, "group:diabetes"),
    "hypertension": (0.2, "group:hypertension"),
}
LVSD = "csv:heart-failure-lvsd.csv"
# medicine -> rule-set group or dm+d codelist (oral solid VMPs are chosen)
MEDICINES = {
    "anticoagulant": "group:oral-anticoagulants",
    "antiplatelet": "group:antiplatelets",
    "ras": "group:ras-blockers",
    "hf_beta_blocker": "csv:beta-blockers-licensed-for-heart-failure.csv",
    "nsaid": "group:oral-nsaids",
    "ppi": "group:gastroprotection",
    "methotrexate": "group:methotrexate",
    "lithium": "group:lithium",
    "amiodarone": "group:amiodarone",
    "ns_beta_blocker": "group:non-selective-beta-blockers",
}
MONITORED = {
    "methotrexate": ("full-blood-count-tests", "liver-function-tests"),
    "lithium": ("lithium-level-tests",),
    "amiodarone": ("thyroid-function-tests",),
}
TESTS = (
    "renal-function-tests",
    "full-blood-count-tests",
    "liver-function-tests",
    "lithium-level-tests",
    "thyroid-function-tests",
    "electrolyte-tests",
)


@dataclass(frozen=True, slots=True)
class Codes:
    """Real codes to draw from, each list sorted so a seed always gives the same data."""

    conditions: dict[str, list[str]]
    lvsd: list[str]
    medicines: dict[str, list[str]]
    tests: dict[str, list[str]]
    # molecule -> (originator AMP, its biosimilar AMPs of the same generic VMP)
    biologics: dict[str, list[tuple[str, list[str]]]]


def _listed(ruleset: RuleSet, source: str) -> set[str]:
    kind, _, ref = source.partition(":")
    if kind == "group":
        return set(ruleset.groups[ref].codes)
    frame = pl.read_csv(INDICATOR_CODELISTS / ref, infer_schema=False)
    return set(frame["code"].to_list())


def codes_for(ruleset: RuleSet) -> Codes:
    """Draw pools from the rule set, the indicator codelists and the biosimilar table."""
    concepts = pl.DataFrame(
        [(c.code, c.name, c.level.value) for c in ruleset.dmd.concepts() if not c.invalid],
        schema={"code": pl.String, "name": pl.String, "level": pl.String},
        orient="row",
    )
    vmps = set(
        concepts.filter((pl.col("level") == "VMP") & pl.col("name").str.contains(ORAL_SOLID))[
            "code"
        ].to_list()
    )
    known = set(concepts["code"].to_list())
    medicines = {}
    for name, source in MEDICINES.items():
        kind, _, ref = source.partition(":")
        listed = (
            {c for c, ms in ruleset.membership.items() if any(m.group == ref for m in ms)}
            if kind == "group"
            else _listed(ruleset, source)
        )
        # Oral solid VMPs where the source has them; else any current product it lists.
        medicines[name] = sorted(listed & vmps)[:6] or sorted(listed & known)[:6]
    biologics: dict[str, list[tuple[str, list[str]]]] = {}
    table = ruleset.biosimilars
    assert table is not None, "the bundled formulary has a biosimilar table"
    for code, molecule in sorted(table.molecules.items()):
        pairs = []
        for product in sorted(molecule.products, key=lambda p: p.code):
            same = sorted(
                p.code
                for p in molecule.products
                if p.role == "biosimilar" and p.entry.generic == product.entry.generic
            )
            if product.role == "originator" and same:
                pairs.append((product.code, same))
        if pairs:
            biologics[code] = pairs
    return Codes(
        conditions={k: sorted(_listed(ruleset, s))[:40] for k, (_, s) in CONDITIONS.items()},
        lvsd=sorted(_listed(ruleset, LVSD)),
        medicines=medicines,
        tests={t: sorted(ruleset.groups[t].codes)[:5] for t in TESTS},
        biologics=biologics,
    )


def generate(
    patients: int, practices: int, seed: int, codes: Codes, as_of: datetime.date = AS_OF
) -> dict[str, pl.DataFrame]:
    """{"patients", "events", "dispensing"} frames, every column text (as a CSV export)."""
    rng = np.random.default_rng(seed)
    start = as_of - datetime.timedelta(days=MONTHS * 30 + 60)
    practice_ids = [f"Y{90000 + i:05d}" for i in range(practices)]
    care = rng.beta(5, 2, practices)  # each practice's propensity to treat, test and review
    switching = rng.beta(2, 2, practices)  # and to move patients to best-value biologics
    patient_rows, events, fills = [], [], []

    def pick(pool: list[str]) -> str:
        return pool[int(rng.integers(len(pool)))]

    def day_between(first: datetime.date, last: datetime.date) -> datetime.date:
        return first + datetime.timedelta(days=int(rng.integers(0, (last - first).days + 1)))

    def repeats(pid: str, code: str, first: datetime.date, every: int, quantity: int) -> None:
        stop = as_of if rng.random() < 0.85 else day_between(first, as_of)
        day = first
        while day <= stop:
            fills.append((pid, code, day.isoformat(), str(quantity)))
            day += datetime.timedelta(days=every + int(rng.integers(-3, 8)))

    for number in range(patients):
        pid = f"P{number:07d}"
        practice = int(rng.integers(practices))
        q = float(care[practice])
        age = int(np.clip(rng.normal(62, 16), 18, 99))
        has = {
            k: rng.random() < share * (1.6 if age >= 65 else 0.6)
            for k, (share, _) in CONDITIONS.items()
        }
        listed: list[str] = []
        for condition, present in has.items():
            if not present:
                continue
            code = pick(codes.conditions[condition])
            if rng.random() < 0.5:
                listed.append(code)  # on the problem list, undated
            else:
                diagnosed = day_between(as_of - datetime.timedelta(days=6 * 365), as_of)
                events.append((pid, code, diagnosed.isoformat(), "", ""))
        lvsd = has["hf"] and rng.random() < 0.6
        if lvsd:
            events.append((pid, pick(codes.lvsd), day_between(start, as_of).isoformat(), "", ""))
        egfr = rng.uniform(15, 59) if has["ckd"] else rng.uniform(45, 110)
        patient_rows.append(
            (
                pid,
                str(age),
                "female" if rng.random() < 0.5 else "male",
                f"{egfr:.0f}" if rng.random() < 0.7 else "",
                ";".join(listed),
                practice_ids[practice],
            )
        )

        def treat(medicine: str, chance: float, pid: str = pid) -> bool:
            if rng.random() >= chance:
                return False
            # Most treatment began before the series does; some starts fall inside it.
            first = max(start, day_between(start - datetime.timedelta(days=1500), as_of))
            repeats(pid, pick(codes.medicines[medicine]), first, 28, 28)
            return True

        if has["af"]:
            treat("anticoagulant", 0.55 + 0.4 * q)
        if has["chd"] or has["stroke"] or has["pad"]:
            treat("antiplatelet", 0.5 + 0.45 * q)
        on_ras = (lvsd and treat("ras", 0.5 + 0.45 * q)) or (has["ckd"] and treat("ras", 0.6 * q))
        if on_ras and lvsd:
            treat("hf_beta_blocker", 0.3 + 0.6 * q)
        if rng.random() < (0.08 if age >= 65 else 0.04):
            repeats(pid, pick(codes.medicines["nsaid"]), day_between(start, as_of), 30, 60)
            treat("ppi", 0.3 + 0.6 * q)
        for medicine, share in (("methotrexate", 0.01), ("lithium", 0.006), ("amiodarone", 0.01)):
            if treat(medicine, share) and rng.random() < q:
                for test in MONITORED[medicine]:  # a practice that monitors, on a schedule
                    day = day_between(start, start + datetime.timedelta(days=90))
                    while day <= as_of:
                        events.append((pid, pick(codes.tests[test]), day.isoformat(), "", ""))
                        day += datetime.timedelta(days=int(rng.integers(50, 130)))
        if has["asthma"]:
            treat("ns_beta_blocker", 0.08 * (1.2 - q))
        for test in TESTS:
            if rng.random() < 0.3 + 0.5 * q:
                for _ in range(int(rng.integers(1, 4))):
                    taken = day_between(start, as_of).isoformat()
                    events.append((pid, pick(codes.tests[test]), taken, "", ""))
        if rng.random() < 0.02:
            molecule = sorted(codes.biologics)[int(rng.integers(len(codes.biologics)))]
            pairs = codes.biologics[molecule]
            originator, biosimilar = pairs[int(rng.integers(len(pairs)))]
            first = day_between(start, as_of)
            switch_on = day_between(first, as_of) if rng.random() < switching[practice] else None
            day = first
            while day <= as_of:
                on_biosimilar = switch_on is not None and day >= switch_on
                code = biosimilar[0] if on_biosimilar else originator
                fills.append((pid, code, day.isoformat(), "2"))
                day += datetime.timedelta(days=28)
    # A few broken event rows, as an export delivers them: each is quarantined with a reason.
    for index in range(max(3, len(events) // 500)):
        pid, code, recorded, _, _ = events[index * 7 % len(events)]
        events.append((pid, code[:-1] + str((int(code[-1]) + 1) % 10), recorded, "", ""))
        events.append((pid, code, "31/02/2026", "", ""))
    return {
        "patients": pl.DataFrame(
            patient_rows,
            schema=["patient_id", "age_years", "sex", "egfr", "condition_codes", "practice_id"],
            orient="row",
        ),
        "events": pl.DataFrame(
            events, schema=["patient_id", "code", "recorded_on", "value", "unit"], orient="row"
        ),
        "dispensing": pl.DataFrame(
            fills, schema=["patient_id", "code", "dispensed_on", "quantity"], orient="row"
        ),
    }


def write(frames: dict[str, pl.DataFrame], out: Path) -> dict[str, Path]:
    """Each frame as `out/<name>.csv`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        paths[name] = out / f"{name}.csv"
        frame.write_csv(paths[name])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--practices", type=int, default=0, help="default: one per 5,000")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    codes = codes_for(build(Locations()).ruleset)
    practices = args.practices or max(10, args.patients // 5000)
    paths = write(generate(args.patients, practices, args.seed, codes), args.out)
    for name, path in paths.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
