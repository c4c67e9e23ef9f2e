"""The dispensing a scan uses: clean rows resolved, days' supply derived, keyed by integers.

Patients, codes and practices are positions in their sorted distinct values (`keys`), so the
stages after it (PDC, current medicines, practices) sort and group integers, and look each
code's facts up once per distinct code instead of joining every row to the tables.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import polars as pl

from medsopt.scan import keys
from medsopt.scan import schema as s
from medsopt.scan.current import current_filter
from medsopt.scan.supply import (
    METHODS,
    SupplyMethod,
    derived_days,
    derived_method,
    method_name,
    units_per_day,
)
from medsopt.scan.tables import ScanTables

_DAY_OFFSET = 1 << 31  # makes any Int32 day number non-negative (below 2**32), for packing
_NARROW_KEYS = 1 << 32  # patient and code keys below this are grouped as UInt32


@dataclass(frozen=True, slots=True)
class Fills:
    """Used dispensing rows (patient, code, practice as positions) and what they index."""

    rows: pl.DataFrame  # patient, code, practice (UInt32), dispensed_on, days_supply,
    # supply_method (UInt8: a position in `supply.METHODS`)
    patients: pl.Series  # patient_id at each patient position
    codes: pl.DataFrame  # code, concept_code, molecule at each code position
    practices: pl.Series  # practice_id at each practice position


def keyed_fills(annotated: pl.DataFrame, tables: ScanTables) -> Fills:
    """The clean rows of `quarantine.annotate`, resolved, with days' supply and its method."""
    missing = [c for c in (s.DOSE_TEXT, s.PRACTICE_ID) if c not in annotated.columns]
    annotated = annotated.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
    text = {
        s.PATIENT_ID: pl.col("_patient_id"),
        s.CODE: pl.col("_code"),
        **{c: pl.col(c).cast(pl.String) for c in (s.DOSE_TEXT, s.PRACTICE_ID)},
    }
    # Keys are encoded on every row and the used rows kept after (filtering integers is
    # cheaper than filtering text); a quarantined row's values only widen the dictionaries.
    patients, patient = keys.encoded(annotated.select(text[s.PATIENT_ID]).to_series())
    codes, practices, texts = (
        keys.distinct(annotated.select(text[c]).to_series())
        for c in (s.CODE, s.PRACTICE_ID, s.DOSE_TEXT)
    )
    facts = _code_facts(codes, tables)
    per_day = units_per_day(pl.lit(texts))
    instructions = pl.select(per_day).to_series() if len(texts) else texts.cast(pl.Float64)
    looked_up = (
        annotated.select(
            patient=pl.lit(patient),
            code=keys.position(text[s.CODE], codes),
            practice=keys.position(text[s.PRACTICE_ID], practices),
            dispensed_on="_dispensed_on",
            explicit="_days_supply",
            quantity="_quantity",
            stated=keys.lookup(text[s.DOSE_TEXT], texts, instructions),
            used=pl.col("_reason").is_null(),
        )
        .filter("used")
        .with_columns(
            pl.col("explicit").cast(pl.Int32),
            default=pl.lit(facts["default"]).gather(pl.col("code")),
        )
    )
    explicit, stated, default = pl.col("explicit"), pl.col("stated"), pl.col("default")
    rows = looked_up.select(
        "patient",
        "code",
        "practice",
        "dispensed_on",
        days_supply=derived_days(explicit, stated, default, pl.col("quantity")),
        supply_method=derived_method(explicit, stated, default),
    )
    return Fills(rows, patients, facts.select("code", "concept_code", "molecule"), practices)


def _code_facts(codes: pl.Series, tables: ScanTables) -> pl.DataFrame:
    """Per distinct code (in `codes` order): concept, molecule and default daily dose (an AMP
    uses its VMP's default)."""
    doses = tables.doses.select("code", "daily_units")
    facts = codes.to_frame("code")
    # Each table has one row per key; every code keeps its place.
    for table, key in (
        (tables.resolution.select("code", "concept_code", "vmp", "molecule"), "code"),
        (doses.rename({"code": "concept_code", "daily_units": "_by_concept"}), "concept_code"),
        (doses.rename({"code": "vmp", "daily_units": "_by_vmp"}), "vmp"),
    ):
        facts = facts.join(table, on=key, how="left", validate="m:1", maintain_order="left")
    return facts.with_columns(default=pl.coalesce("_by_concept", "_by_vmp"))


def supply_methods(fills: Fills) -> pl.DataFrame:
    """supply_method, rows: how each used row's days' supply was found."""
    counts = fills.rows.group_by("supply_method").agg(pl.len().alias("rows"))
    return counts.with_columns(method_name(pl.col("supply_method")))


def class_fills(fills: Fills, tables: ScanTables) -> tuple[pl.DataFrame, pl.Series]:
    """The fills of codes in an adherence class, for `pdc.keyed_pdc`, and the class names
    at each class position (a code in two classes counts in each)."""
    facts = fills.codes.drop("code").with_row_index("code")
    classes = keys.distinct(tables.classes["drug_class"])
    molecules = keys.distinct(facts["molecule"])
    members = facts.join(tables.classes, on="concept_code", maintain_order="left").select(
        pl.col("code").cast(pl.UInt32),
        drug_class=keys.position(pl.col("drug_class"), classes),
        molecule=keys.position(pl.col("molecule"), molecules).fill_null(len(molecules)),
    )
    keyed = fills.rows.join(members, on="code").select(
        "patient",
        "drug_class",
        "molecule",
        d=pl.col("dispensed_on").cast(pl.Int32),
        ds=pl.col("days_supply").cast(pl.Int64),
        guessed=pl.col("supply_method") == METHODS.index(SupplyMethod.QUANTITY_AS_DAYS.value),
    )
    return keyed, classes


def medicines(fills: Fills) -> pl.DataFrame:
    """Per patient and code dispensed (`key`: patient * code count + code): first and last
    day, the last fill's supply and the latest practice (packed, for `latest_practices`)."""
    day = (pl.col("dispensed_on").cast(pl.Int64) + _DAY_OFFSET).cast(pl.UInt64)
    # The last fill's supply: of the latest day's fills, the longest (one packed maximum).
    last = (day * (1 << 32) + pl.col("days_supply").cast(pl.UInt64)).max()
    size, practices = max(len(fills.codes), 1), len(fills.practices) + 1
    # Grouped on 32 bits when the keys fit (about a fifth faster than on 64).
    narrow = len(fills.patients) * size < _NARROW_KEYS
    key = pl.col("patient").cast(pl.UInt32 if narrow else pl.UInt64) * size + pl.col("code")
    # Lazy: the eager group_by takes about half as long again for the same plan.
    return (
        fills.rows.lazy()
        .group_by(key=key)
        .agg(
            pl.col("dispensed_on").min().alias("start_date"),
            pl.col("dispensed_on").max().alias("last_dispensed_on"),
            (last % (1 << 32)).cast(pl.Int32).alias("last_days_supply"),
            (day * practices + pl.col("practice")).max().alias("latest_practice"),
        )
        .with_columns(pl.col("key").cast(pl.UInt64))
        .collect()
    )


def current_medicines(
    fills: Fills, dispensed: pl.DataFrame, as_of: datetime.date, current_days: int
) -> pl.DataFrame:
    """patient_id, code, start_date, last_dispensed_on for every current medicine
    (`current.current_filter`); `dispensed` is `medicines(fills)`."""
    size = max(len(fills.codes), 1)
    return dispensed.filter(current_filter(as_of, current_days)).select(
        keys.lookup_position(pl.col("key") // size, fills.patients).alias(s.PATIENT_ID),
        keys.lookup_position(pl.col("key") % size, fills.codes["code"]).alias(s.CODE),
        "start_date",
        "last_dispensed_on",
    )


def latest_practices(fills: Fills, dispensed: pl.DataFrame) -> pl.DataFrame:
    """Each patient's practice on their latest dispensing (null when never given); of
    several on that day, the last in text order."""
    size, practices = max(len(fills.codes), 1), len(fills.practices) + 1
    return (
        dispensed.lazy()
        .group_by(patient=pl.col("key") // size)
        .agg(pl.col("latest_practice").max())
        .select(
            keys.lookup_position(pl.col("patient"), fills.patients).alias(s.PATIENT_ID),
            keys.lookup_position(pl.col("latest_practice") % practices, fills.practices).alias(
                "dispensing_practice"
            ),
        )
        .collect()
    )
