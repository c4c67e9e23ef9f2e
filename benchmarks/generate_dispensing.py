"""Seeded synthetic dispensing and patient data with real dm+d codes, for scans and benchmarks.

Each patient takes 1-4 chronic medicines from classes the scan measures (statins, ACE
inhibitors/ARBs, non-insulin diabetes medicines) and from classes the safety rules look at
(NSAIDs, anticoagulants, antiplatelets, PPIs, SSRIs, ...): 28- or 56-day repeats with early
refills, late refills and gaps, and some switches between molecules of a class. Codes are real
VMP codes drawn from the bundled rule set's groups and the adherence classes.

    .venv/bin/python benchmarks/generate_dispensing.py --patients 100000 --out /tmp/d.parquet

`--dirty F` adds a share F of broken rows (bad dates, malformed or unknown codes, ...) and
writes every column as text, as a CSV export would arrive.
"""

from __future__ import annotations

import argparse
import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from medsopt.dmd.codes import with_check_digit
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations, build

AS_OF = datetime.date(2026, 6, 30)
HISTORY_DAYS = 400  # a 365-day period plus five weeks of earlier fills
ORAL_SOLID = r"(?i)\b(tablets|capsules)$"

# (class name, rule group or codelist, weight, dose text, daily units)
CHRONIC: tuple[tuple[str, str, float, str, float], ...] = (
    ("statins", "group:statins", 0.55, "one tablet daily", 1.0),
    ("ras", "group:ras-blockers", 0.45, "one tablet daily", 1.0),
    (
        "diabetes",
        "csv:adherence/non-insulin-antidiabetics.csv",
        0.25,
        "one tablet twice a day",
        2.0,
    ),
    ("ppi", "group:gastroprotection", 0.25, "one capsule daily", 1.0),
    ("antiplatelet", "group:antiplatelets", 0.2, "one tablet daily", 1.0),
    ("anticoagulant", "group:oral-anticoagulants", 0.1, "one tablet daily", 1.0),
    ("nsaid", "group:oral-nsaids", 0.12, "one tablet twice a day", 2.0),
    ("ssri", "group:ssris", 0.12, "one tablet daily", 1.0),
    ("diuretic", "group:diuretics", 0.15, "one tablet in the morning", 1.0),
)
CONDITION_GROUPS = ("heart-failure", "asthma", "peptic-ulcer", "diabetes", "atrial-fibrillation")


@dataclass(frozen=True, slots=True)
class Pools:
    """Real codes per chronic class (each a list of VMP codes, grouped by molecule)."""

    codes: list[list[str]]  # class index -> codes
    conditions: list[str]


def pools(ruleset: RuleSet) -> Pools:
    """Oral solid-dose VMPs per class, sorted, so a seed always gives the same data."""
    concepts = pl.DataFrame(
        [
            (c.code, c.name, c.vtm)
            for c in ruleset.dmd.concepts()
            if c.level.value == "VMP" and not c.invalid
        ],
        schema={"code": pl.String, "name": pl.String, "vtm": pl.String},
        orient="row",
    ).filter(pl.col("name").str.contains(ORAL_SOLID) & pl.col("vtm").is_not_null())
    result = []
    for _, source, *_ in CHRONIC:
        kind, _, ref = source.partition(":")
        if kind == "group":
            listed = {c for c, ms in ruleset.membership.items() if any(m.group == ref for m in ms)}
        else:
            listed = set(pl.read_csv(BUNDLED_FORMULARY / ref, infer_schema=False)["code"].to_list())
        chosen = concepts.filter(pl.col("code").is_in(sorted(listed))).sort("code")
        # Two strengths per molecule at most keeps a realistic spread of molecules.
        chosen = chosen.group_by("vtm", maintain_order=True).head(2)
        result.append(chosen["code"].to_list())
    conditions = sorted(
        code for g in CONDITION_GROUPS if g in ruleset.groups for code in ruleset.groups[g].codes
    )
    return Pools(result, conditions)


def generate(
    patients: int,
    seed: int,
    pool: Pools,
    as_of: datetime.date = AS_OF,
    explicit_share: float = 0.35,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(dispensing, patients) frames; roughly 25 dispensing rows per patient.

    `explicit_share` of rows carry days_supply; 40% of the others a dose instruction.
    """
    rng = np.random.default_rng(seed)
    n_classes = len(CHRONIC)
    weights = np.array([c[2] for c in CHRONIC])
    # 1-4 chronic medicines per patient, drawn without replacement by class weight.
    per_patient = rng.choice([1, 2, 3, 4], size=patients, p=[0.25, 0.35, 0.28, 0.12])
    keys = rng.random((patients, n_classes)) ** (1 / weights)
    order = np.argsort(-keys, axis=1)
    take = np.arange(n_classes)[None, :] < per_patient[:, None]
    patient_of = np.repeat(np.arange(patients), per_patient)
    class_of = order[take]
    meds = len(class_of)
    sizes = np.array([len(p) for p in pool.codes])
    first_code = (rng.random(meds) * sizes[class_of]).astype(np.int64)
    interval = np.where(rng.random(meds) < 0.7, 28, 56)
    poor = rng.random(patients) < 0.3  # a third of patients take their medicines poorly
    # Fill times: a cumulative sum of intervals times a per-fill factor.
    max_fills = HISTORY_DAYS // 28 + 4
    factor = np.select(
        [rng.random((meds, max_fills)) < 0.2, np.repeat(poor[patient_of], 1)[:, None]],
        [rng.uniform(0.75, 0.95, (meds, max_fills)), rng.uniform(0.9, 2.2, (meds, max_fills))],
        rng.uniform(0.95, 1.1, (meds, max_fills)),
    )
    steps = factor * interval[:, None]
    offsets = rng.uniform(0, 1, meds) * interval
    days = np.floor(np.cumsum(steps, axis=1) - steps[:, :1] + offsets[:, None]).astype(np.int64)
    keep = days < HISTORY_DAYS
    # 8% of medicines switch molecule (another code of the class) half-way.
    switch = rng.random(meds) < 0.08
    second_code = (first_code + 1 + (rng.random(meds) * (sizes[class_of] - 1))).astype(np.int64)
    second_code %= sizes[class_of]
    switched = switch[:, None] & (np.arange(max_fills)[None, :] >= max_fills // 2)
    med_index = np.repeat(np.arange(meds)[:, None], max_fills, axis=1)
    code_index = np.where(switched, second_code[:, None], first_code[:, None])
    start = as_of - datetime.timedelta(days=HISTORY_DAYS - 1)
    med = med_index[keep]
    cls = class_of[med]
    patient = patient_of[med]
    class_offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat_codes = pl.Series([code for codes in pool.codes for code in codes])
    units = np.array([c[4] for c in CHRONIC])
    doses = pl.Series([c[3] for c in CHRONIC])
    practice_of = rng.integers(0, max(1, patients // 6000), patients)
    shape = rng.random(len(med))
    fill_interval = interval[med]
    dispensing = pl.DataFrame(
        {
            "patient_id": _ids("P", 8, patient),
            "code": flat_codes.gather(class_offset[cls] + code_index[keep]),
            "dispensed_on": pl.Series(days[keep]).cast(pl.Int32)
            + (start - datetime.date(1970, 1, 1)).days,
            "quantity": (fill_interval * units[cls]).astype(np.float64),
            "days_supply": pl.Series(np.where(shape < explicit_share, fill_interval, -1)).cast(
                pl.Int32
            ),
            "dose_text": doses.gather(cls),
            "practice_id": _ids("A8", 4, practice_of[patient]),
        }
    ).with_columns(
        pl.col("dispensed_on").cast(pl.Date),
        pl.when(pl.col("days_supply") > 0).then(pl.col("days_supply")),
        pl.when(
            (pl.lit(pl.Series(shape)) >= explicit_share)
            & (pl.lit(pl.Series(rng.random(len(med)))) < 0.6)
        ).then(pl.col("dose_text")),
    )
    dispensing = dispensing.sort("dispensed_on", "patient_id")
    n_conditions = rng.choice([0, 0, 0, 1, 1, 2], patients)
    picks = rng.integers(0, len(pool.conditions), (patients, 2))
    condition_codes = pl.Series(pool.conditions)
    first = condition_codes.gather(picks[:, 0])
    second = condition_codes.gather(picks[:, 1])
    people = pl.DataFrame(
        {
            "patient_id": _ids("P", 8, np.arange(patients)),
            "age_years": rng.integers(30, 96, patients).astype(np.int32),
            "sex": np.where(rng.random(patients) < 0.52, "female", "male"),
            "egfr": np.round(rng.uniform(15, 110, patients), 1),
            "has_egfr": rng.random(patients) >= 0.3,
            "first": first,
            "second": second,
            "n_conditions": n_conditions,
            "practice_id": _ids("A8", 4, practice_of),
        }
    ).select(
        "patient_id",
        "age_years",
        "sex",
        pl.when(pl.col("has_egfr")).then(pl.col("egfr")).alias("egfr"),
        pl.when(pl.col("n_conditions") == 0)
        .then(pl.lit(""))
        .when(pl.col("n_conditions") == 1)
        .then(pl.col("first"))
        .otherwise(pl.col("first") + ";" + pl.col("second"))
        .alias("condition_codes"),
        "practice_id",
    )
    return dispensing, people


def _ids(prefix: str, width: int, numbers: np.ndarray) -> pl.Series:
    """'P00000042'-style ids, built column-wise."""
    frame = pl.DataFrame({"n": numbers})
    return frame.select(pl.lit(prefix) + pl.col("n").cast(pl.String).str.zfill(width)).to_series()


def dirty(dispensing: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """Every column as text, and a share of rows broken in one way each (the scan's reasons)."""
    rng = np.random.default_rng(seed + 1)
    text = dispensing.with_columns(pl.all().cast(pl.String))
    broken = text.sample(fraction=share, seed=seed, with_replacement=False)
    kind = rng.integers(0, 8, broken.height)
    unknown = with_check_digit("999999991000001" + "10")[:-1]
    fixes = [
        pl.col("dispensed_on").str.replace_all("-", "/"),  # bad date
        pl.lit("2099-01-01"),  # future date
        pl.lit("-28"),  # non-positive quantity
        pl.col("code").str.slice(0, 8) + pl.lit("00000000"),  # spreadsheet-rounded code
        pl.lit(with_check_digit(unknown)),  # well-formed, not in dm+d
        pl.lit(""),  # missing patient id
        pl.lit("many"),  # not a number
        pl.col("code"),  # a duplicate of a real row
    ]
    columns = ["dispensed_on", "dispensed_on", "quantity", "code", "code", "patient_id"]
    columns += ["quantity", "code"]
    broken = broken.with_columns(pl.Series("kind", kind))
    parts = []
    for index, (column, fix) in enumerate(zip(columns, fixes, strict=True)):
        part = broken.filter(pl.col("kind") == index).drop("kind")
        parts.append(part.with_columns(fix.alias(column)))
    return pl.concat([text, *parts]).sample(fraction=1.0, shuffle=True, seed=seed)


def write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True, help="dispensing .parquet or .csv")
    parser.add_argument("--patients-out", type=Path, help="patient table .parquet or .csv")
    parser.add_argument("--dirty", type=float, default=0.0, help="share of broken rows to add")
    parser.add_argument("--explicit-share", type=float, default=0.35, help="rows with days_supply")
    args = parser.parse_args()
    ruleset = build(Locations(BUNDLED_RULES, BUNDLED_FORMULARY)).ruleset
    dispensing, people = generate(
        args.patients, args.seed, pools(ruleset), explicit_share=args.explicit_share
    )
    if args.dirty:
        dispensing = dirty(dispensing, args.dirty, args.seed)
    write(dispensing, args.out)
    if args.patients_out:
        write(people, args.patients_out)
    print(f"{dispensing.height:,} dispensing rows for {args.patients:,} patients -> {args.out}")


if __name__ == "__main__":
    main()
