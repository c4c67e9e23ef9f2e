"""Seeded synthetic dispensing and patient data with real dm+d codes, for scans and benchmarks.

A population as primary care sees it: ages skewed old; long-term conditions recorded with real
SNOMED CT codes at age-dependent prevalence, several per patient (multi-morbidity); medicines
that follow the conditions (statins and RAS blockers with diabetes or heart disease, an
anticoagulant with atrial fibrillation, a PPI with an antiplatelet, ...) plus common ones that do
not (NSAIDs, SSRIs, PPIs), so polypharmacy grows with age and morbidity; 28- or 56-day repeats
with early refills, late refills and gaps; some switches between molecules of a class; a third
of patients take their medicines poorly. Codes are real VMP codes drawn from the bundled rule
set's groups and the adherence classes; about 17 dispensing rows per patient.

    .venv/bin/python benchmarks/generate_dispensing.py --patients 100000 --out /tmp/d.parquet

`--dirty F` adds a share F of broken rows (bad dates, malformed or unknown codes, ...) and
writes every column as text, as a CSV export would arrive; patient rows then get a few
broken facts too. Large populations are generated in chunks of patients (bounded memory).
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
CHUNK = 250_000  # patients generated at once (bounded memory for large populations)

# (class name, rule group or codelist, dose text, daily units)
CHRONIC: tuple[tuple[str, str, str, float], ...] = (
    ("statins", "group:statins", "one tablet daily", 1.0),
    ("ras", "group:ras-blockers", "one tablet daily", 1.0),
    ("diabetes", "csv:adherence/non-insulin-antidiabetics.csv", "one tablet twice a day", 2.0),
    ("ppi", "group:gastroprotection", "one capsule daily", 1.0),
    ("antiplatelet", "group:antiplatelets", "one tablet daily", 1.0),
    ("anticoagulant", "group:oral-anticoagulants", "one tablet daily", 1.0),
    ("nsaid", "group:oral-nsaids", "one tablet twice a day", 2.0),
    ("ssri", "group:ssris", "one tablet daily", 1.0),
    ("diuretic", "group:diuretics", "one tablet in the morning", 1.0),
)
_CLASS = {name: index for index, (name, *_) in enumerate(CHRONIC)}
# Condition group, prevalence at age 70, growth per decade of age (a factor of exp(growth)).
CONDITIONS: tuple[tuple[str, float, float], ...] = (
    ("hypertension", 0.40, 0.35),
    ("diabetes", 0.15, 0.25),
    ("ischaemic-heart-disease", 0.10, 0.45),
    ("atrial-fibrillation", 0.07, 0.6),
    ("heart-failure", 0.04, 0.6),
    ("asthma", 0.07, 0.0),
    ("copd", 0.05, 0.4),
    ("chronic-kidney-disease", 0.08, 0.6),
    ("peptic-ulcer", 0.03, 0.2),
    ("osteoporosis", 0.06, 0.6),
    ("gout", 0.03, 0.3),
    ("dementia", 0.03, 1.0),
    ("falls", 0.04, 0.8),
)
_CONDITION = {name: index for index, (name, *_) in enumerate(CONDITIONS)}
# Medicine class -> (base chance, {condition: added chance}); the PPI also follows the
# medicines that call for gastroprotection.
PRESCRIBING: dict[str, tuple[float, dict[str, float]]] = {
    "statins": (0.12, {"diabetes": 0.55, "ischaemic-heart-disease": 0.6, "hypertension": 0.15}),
    "ras": (0.06, {"hypertension": 0.5, "diabetes": 0.35, "heart-failure": 0.5}),
    "diabetes": (0.0, {"diabetes": 0.85}),
    "antiplatelet": (0.03, {"ischaemic-heart-disease": 0.65}),
    "anticoagulant": (0.0, {"atrial-fibrillation": 0.75}),
    "nsaid": (0.09, {"gout": 0.3}),
    "ssri": (0.11, {"dementia": 0.1}),
    "diuretic": (0.05, {"heart-failure": 0.8, "hypertension": 0.15}),
    "ppi": (0.12, {"peptic-ulcer": 0.5}),
}


@dataclass(frozen=True, slots=True)
class Pools:
    """Real codes per chronic class (VMP codes, grouped by molecule) and per condition."""

    codes: list[list[str]]  # class index -> codes
    conditions: list[list[str]]  # condition index -> SNOMED CT codes


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
    conditions = [
        sorted(ruleset.groups[g].codes)[:20] if g in ruleset.groups else [] for g, *_ in CONDITIONS
    ]
    return Pools(result, conditions)


def generate(
    patients: int,
    seed: int,
    pool: Pools,
    as_of: datetime.date = AS_OF,
    explicit_share: float = 0.35,
    first_patient: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(dispensing, patients) frames for patients numbered from `first_patient`.

    `explicit_share` of rows carry days_supply; 60% of the others a dose instruction.
    """
    rng = np.random.default_rng(seed)
    age = (18 + rng.beta(2.4, 1.6, patients) * 80).astype(np.int32)
    decades = (age - 70) / 10
    has = np.stack(
        [rng.random(patients) < np.clip(p * np.exp(g * decades), 0, 0.9) for _, p, g in CONDITIONS],
        axis=1,
    )
    takes = np.zeros((patients, len(CHRONIC)), dtype=bool)
    for name, (base, added) in PRESCRIBING.items():
        chance = np.full(patients, base) * np.exp(0.3 * decades)
        for condition, extra in added.items():
            chance = chance + extra * has[:, _CONDITION[condition]]
        if name == "ppi":  # gastroprotection with an antiplatelet, anticoagulant or NSAID
            protect = takes[:, [_CLASS[c] for c in ("antiplatelet", "anticoagulant", "nsaid")]]
            chance = chance + 0.45 * protect.any(axis=1)
        takes[:, _CLASS[name]] = rng.random(patients) < np.clip(chance, 0, 0.95)
    patient_of, class_of = np.nonzero(takes)
    dispensing = _fills(rng, pool, patient_of, class_of, patients, first_patient, as_of)
    dispensing = _with_supply(dispensing, rng, explicit_share)
    practice_of = rng.integers(0, max(1, patients // 6000), patients) + first_patient // 6000
    ids = _ids("P", 8, np.arange(patients) + first_patient)
    dispensing = dispensing.with_columns(
        patient_id=pl.lit(ids).gather(pl.col("patient")),
        practice_id=pl.lit(_ids("A8", 4, practice_of)).gather(pl.col("patient")),
    ).select("patient_id", "code", "dispensed_on", "quantity", "days_supply", "dose_text",
             "practice_id")  # fmt: skip
    return dispensing.sort("dispensed_on", "patient_id"), _people(rng, pool, ids, age, has,
                                                                   practice_of)  # fmt: skip


def _fills(
    rng: np.random.Generator,
    pool: Pools,
    patient_of: np.ndarray,
    class_of: np.ndarray,
    patients: int,
    first_patient: int,
    as_of: datetime.date,
) -> pl.DataFrame:
    """Repeat dispensing of each (patient, medicine): patient, code, dispensed_on, class."""
    meds = len(class_of)
    sizes = np.array([len(p) for p in pool.codes])
    first_code = (rng.random(meds) * sizes[class_of]).astype(np.int64)
    interval = np.where(rng.random(meds) < 0.8, 28, 56)
    poor = rng.random(patients) < 0.3  # a third of patients take their medicines poorly
    # Fill times: a cumulative sum of intervals times a per-fill factor.
    max_fills = HISTORY_DAYS // 28 + 4
    factor = np.select(
        [rng.random((meds, max_fills)) < 0.2, poor[patient_of][:, None]],
        [rng.uniform(0.75, 0.95, (meds, max_fills)), rng.uniform(0.9, 2.2, (meds, max_fills))],
        rng.uniform(0.95, 1.1, (meds, max_fills)),
    )
    steps = factor * interval[:, None]
    # Some medicines started within the history (a new diagnosis), most before it.
    started = np.where(rng.random(meds) < 0.15, rng.uniform(0, HISTORY_DAYS, meds), 0)
    offsets = rng.uniform(0, 1, meds) * interval + started
    days = np.floor(np.cumsum(steps, axis=1) - steps[:, :1] + offsets[:, None]).astype(np.int64)
    # Some medicines stop (a course ends, a side effect): no fills after the stop day.
    stop = np.where(rng.random(meds) < 0.1, rng.uniform(60, HISTORY_DAYS, meds), HISTORY_DAYS)
    keep = days < stop[:, None]
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
    class_offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat_codes = pl.Series([code for codes in pool.codes for code in codes])
    return pl.DataFrame(
        {
            "patient": patient_of[med],
            "class": cls,
            "interval": interval[med],
            "code": flat_codes.gather(class_offset[cls] + code_index[keep]),
            "dispensed_on": pl.Series(days[keep]).cast(pl.Int32)
            + (start - datetime.date(1970, 1, 1)).days,
        }
    ).with_columns(pl.col("dispensed_on").cast(pl.Date))


def _with_supply(
    fills: pl.DataFrame, rng: np.random.Generator, explicit_share: float
) -> pl.DataFrame:
    """quantity, and days_supply or a dose instruction (or neither) as prescriptions carry."""
    units = pl.Series([c[3] for c in CHRONIC])
    doses = pl.Series([c[2] for c in CHRONIC])
    shape = pl.Series(rng.random(fills.height))
    with_text = pl.Series(rng.random(fills.height) < 0.6)
    return fills.with_columns(
        quantity=(pl.col("interval") * pl.lit(units).gather(pl.col("class"))).cast(pl.Float64),
        days_supply=pl.when(shape < explicit_share).then(pl.col("interval").cast(pl.Int32)),
        dose_text=pl.when((shape >= explicit_share) & with_text).then(
            pl.lit(doses).gather(pl.col("class"))
        ),
    )


def _people(
    rng: np.random.Generator,
    pool: Pools,
    ids: pl.Series,
    age: np.ndarray,
    has: np.ndarray,
    practice_of: np.ndarray,
) -> pl.DataFrame:
    """One row per patient: age, sex, eGFR (falls with age and CKD; 30% not recorded),
    recorded condition codes (one real code per condition), practice."""
    patients = len(age)
    ckd = has[:, _CONDITION["chronic-kidney-disease"]]
    egfr = np.clip(118 - 0.75 * (age - 20) - 25 * ckd + rng.normal(0, 12, patients), 8, 140)
    patient_of, condition_of = np.nonzero(has)
    picks = np.array([len(pool.conditions[c]) for c in condition_of])
    chosen = (rng.random(len(condition_of)) * np.maximum(picks, 1)).astype(np.int64)
    flat = [code for codes in pool.conditions for code in codes]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in pool.conditions])[:-1]])
    recorded = (
        pl.DataFrame({"patient": patient_of, "at": offsets[condition_of] + chosen, "n": picks})
        .filter(pl.col("n") > 0)
        .with_columns(code=pl.lit(pl.Series(flat, dtype=pl.String)).gather(pl.col("at")))
        .group_by("patient")
        .agg(pl.col("code").str.join(";").alias("condition_codes"))
    )
    return (
        pl.DataFrame(
            {
                "patient": np.arange(patients),
                "patient_id": ids,
                "age_years": age,
                "sex": np.where(rng.random(patients) < 0.52, "female", "male"),
                "egfr": np.round(egfr, 1),
                "has_egfr": rng.random(patients) >= 0.3,
                "practice_id": _ids("A8", 4, practice_of),
            }
        )
        .join(recorded, on="patient", how="left")
        .select(
            "patient_id",
            "age_years",
            "sex",
            pl.when(pl.col("has_egfr")).then(pl.col("egfr")).alias("egfr"),
            pl.col("condition_codes").fill_null(""),
            "practice_id",
        )
    )


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


def dirty_patients(people: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """Every column as text, a share of rows with one broken fact (age, sex, eGFR)."""
    rng = np.random.default_rng(seed + 2)
    kind = pl.Series(
        np.where(rng.random(people.height) < share, rng.integers(0, 3, people.height), -1)
    )
    text = people.with_columns(pl.all().cast(pl.String))
    return text.with_columns(
        age_years=pl.when(kind == 0).then(pl.lit("200")).otherwise("age_years"),
        sex=pl.when(kind == 1).then(pl.lit("X")).otherwise("sex"),
        egfr=pl.when(kind == 2).then(pl.lit("n/a")).otherwise("egfr"),
    )


def write(frame: pl.LazyFrame | pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lazy = frame.lazy()
    if path.suffix == ".csv":
        lazy.sink_csv(path)
    else:
        lazy.sink_parquet(path)


def generate_files(
    patients: int,
    seed: int,
    pool: Pools,
    out: Path,
    patients_out: Path | None = None,
    dirty_share: float = 0.0,
    explicit_share: float = 0.35,
) -> int:
    """Write a population of `patients` in chunks (bounded memory); the dispensing row count."""
    parts = out.parent / f".{out.name}.parts"
    parts.mkdir(parents=True, exist_ok=True)
    try:
        for number, first in enumerate(range(0, patients, CHUNK)):
            size = min(CHUNK, patients - first)
            dispensing, people = generate(
                size, seed + number, pool, explicit_share=explicit_share, first_patient=first
            )
            if dirty_share:
                dispensing = dirty(dispensing, dirty_share, seed + number)
                people = dirty_patients(people, dirty_share / 4, seed + number)
            dispensing.write_parquet(parts / f"d{number:05d}.parquet")
            people.write_parquet(parts / f"p{number:05d}.parquet")
        write(pl.scan_parquet(parts / "d*.parquet"), out)
        if patients_out is not None:
            write(pl.scan_parquet(parts / "p*.parquet"), patients_out)
        rows: int = pl.scan_parquet(parts / "d*.parquet").select(pl.len()).collect().item()
    finally:
        for file in parts.glob("*.parquet"):
            file.unlink()
        parts.rmdir()
    return rows


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
    rows = generate_files(
        args.patients,
        args.seed,
        pools(ruleset),
        args.out,
        args.patients_out,
        args.dirty,
        args.explicit_share,
    )
    print(f"{rows:,} dispensing rows for {args.patients:,} patients -> {args.out}")


if __name__ == "__main__":
    main()
