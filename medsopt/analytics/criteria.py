"""Indicator criteria over a population: which patients each holds for at a date, and each
indicator's denominator patients with their numerator and exclusion. Polars plans, no I/O.

Each criterion becomes a plan of the patient ids it holds for; entries of a denominator or
numerator are intersected (semi joins), `any_of` is a union, `none_of` a complement: within the
patients the other entries leave (a numerator's within its denominator), which is the same
answer for every patient that counts. The dispensing and events the criteria read are joined
to their code sets once, one frame per set, so a criterion at a date scans only its own set's
rows; which patients a set's dispensing or records (in a window or not) cover is worked out for
every date at once, and only first-record and latest-value tests run date by date.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from medsopt.analytics.models import Criterion, Indicator

PATIENT_ID = "patient_id"
PRACTICE_ID = "practice_id"


@dataclass(frozen=True, slots=True)
class PopulationData:
    """What indicators read, already cleaned (the scan's quarantine has run).

    patients: patient_id, practice_id, age (Int), egfr (Float) - one row per patient;
    dispensed: patient_id, code, concept_code, vmp, dispensed_on (Date);
    recorded: patient_id, code, recorded_on (Date; null = undated, e.g. a problem-list code),
      value (Float);
    membership: concept_code, group (rule-set medicine groups);
    code_sets: set_id, code - "condition:<id>", "test:<id>", "codelist:<path>".
    """

    patients: pl.DataFrame
    dispensed: pl.DataFrame
    recorded: pl.DataFrame
    membership: pl.DataFrame
    code_sets: pl.DataFrame


def set_id(criterion: Criterion) -> str:
    """The code set a dated criterion reads."""
    if criterion.medicine is not None:
        return f"group:{criterion.medicine}"
    if criterion.dispensed is not None:
        return f"codelist:{criterion.dispensed}"
    if criterion.condition is not None:
        return f"condition:{criterion.condition}"
    if criterion.test is not None:
        return f"test:{criterion.test}"
    return f"codelist:{criterion.codelist}"


def read_sets(criteria: Iterable[Criterion]) -> set[str]:
    """The code sets (`set_id`) the dated criteria among `criteria` read, nested ones too."""
    sets: set[str] = set()
    for criterion in criteria:
        nested = (*criterion.any_of, *criterion.none_of)
        if nested:
            sets |= read_sets(nested)
        elif criterion.age_at_least is None and criterion.egfr_below is None:
            sets.add(set_id(criterion))
    return sets


def _by_set(hits: pl.LazyFrame, sets: Collection[str]) -> dict[str, pl.LazyFrame]:
    """Each set's hits, its own frame (a criterion reads one set: it scans only that set's
    rows)."""
    return _split(hits.filter(pl.col("set_id").is_in(list(sets))).collect(), "set_id", sets)


def _split(frame: pl.DataFrame, column: str, keys: Iterable[Any]) -> dict[Any, pl.LazyFrame]:
    """`frame`'s rows by their value of `column`, without it, for each of `keys`; an empty
    frame for a key with none."""
    split = frame.partition_by(column, as_dict=True, include_key=False)
    empty = frame.drop(column).clear()
    return {key: split.get((key,), empty).lazy() for key in keys}


def _complements(criterion: Criterion) -> bool:
    """Whether the criterion takes a complement (`none_of`, maybe in an `any_of`)."""
    return bool(criterion.none_of) or any(_complements(c) for c in criterion.any_of)


class Evaluator:
    """Indicator plans over one population; frames joined once, reused for every date."""

    def __init__(
        self, data: PopulationData, sets: Collection[str], dates: Sequence[datetime.date]
    ) -> None:
        """`sets`: the code sets the criteria to evaluate read (`read_sets`); `dates`: the
        dates they are evaluated at."""
        self.dates = pl.DataFrame({"on": list(dates)}, schema={"on": pl.Date})
        self._held: dict[tuple[str, int | None, bool], dict[datetime.date, pl.LazyFrame]] = {}
        self.patients = data.patients.lazy().select(PATIENT_ID, PRACTICE_ID, "age", "egfr")
        groups = [s.removeprefix("group:") for s in sets if s.startswith("group:")]
        by_group = data.dispensed.lazy().join(
            data.membership.lazy().filter(pl.col("group").is_in(groups)), on="concept_code"
        )
        by_group = by_group.select(
            PATIENT_ID, (pl.lit("group:") + pl.col("group")).alias("set_id"), "dispensed_on"
        )
        listed = data.code_sets.lazy().filter(
            pl.col("set_id").str.starts_with("codelist:") & pl.col("set_id").is_in(list(sets))
        )
        by_list = pl.concat(
            [
                data.dispensed.lazy()
                .select(PATIENT_ID, pl.col(column).alias("code"), "dispensed_on")
                .join(listed, on="code")
                for column in ("code", "concept_code", "vmp")
            ]
        ).select(PATIENT_ID, "set_id", "dispensed_on")
        # One pass each, read by every criterion at every date: dispensing of the medicine
        # sets, events of the recorded ones.
        self.medicine_hits = _by_set(pl.concat([by_group, by_list]).unique(), sets)
        self.event_hits = _by_set(
            data.recorded.lazy()
            .join(data.code_sets.lazy(), on="code")
            .select(PATIENT_ID, "set_id", "recorded_on", "value"),
            sets,
        )

    def holds(
        self, criterion: Criterion, on: datetime.date, within: pl.LazyFrame | None = None
    ) -> pl.LazyFrame:
        """Patient ids for whom `criterion` holds on `on`: every one, or those `within` (patient
        ids) and maybe others (a complement is taken within them: it can be the population)."""
        day = pl.lit(on, dtype=pl.Date)
        if criterion.any_of:
            return pl.concat([self.holds(c, on, within) for c in criterion.any_of]).unique()
        if criterion.none_of:
            hit = pl.concat([self.holds(c, on, within) for c in criterion.none_of])
            universe = within if within is not None else self.patients.select(PATIENT_ID)
            return universe.join(hit, on=PATIENT_ID, how="anti")
        if criterion.age_at_least is not None:
            return self.patients.filter(pl.col("age") >= criterion.age_at_least).select(PATIENT_ID)
        if criterion.egfr_below is not None:
            return self.patients.filter(pl.col("egfr") < criterion.egfr_below).select(PATIENT_ID)
        if criterion.medicine is not None or criterion.dispensed is not None:
            assert criterion.within_days is not None  # the model requires a window for these
            return self.held(set_id(criterion), criterion.within_days, dispensed=True)[on]
        if criterion.first_recorded_within_days is None and criterion.latest_value_at_least is None:
            return self.held(set_id(criterion), criterion.within_days, dispensed=False)[on]
        # A first record's or a latest value's test, date by date. Undated codes (the patient
        # file's condition list) are read at any date, in no window.
        hits = self.event_hits[set_id(criterion)].filter(
            pl.col("recorded_on").is_null() | (pl.col("recorded_on") <= day)
        )
        if criterion.within_days is not None:
            hits = hits.filter(
                pl.col("recorded_on") > day - pl.duration(days=criterion.within_days)
            )
        if criterion.first_recorded_within_days is not None:
            cutoff = day - pl.duration(days=criterion.first_recorded_within_days)
            first = hits.group_by(PATIENT_ID).agg(
                pl.col("recorded_on").min().alias("first"),
                pl.col("recorded_on").is_null().any().alias("undated"),
            )
            return first.filter(~pl.col("undated") & (pl.col("first") > cutoff)).select(PATIENT_ID)
        assert criterion.latest_value_at_least is not None  # the only kind left
        latest = hits.filter(pl.col("recorded_on").is_not_null()).sort("recorded_on")
        return (
            latest.group_by(PATIENT_ID)
            .agg(pl.col("value").last())
            .filter(pl.col("value") >= criterion.latest_value_at_least)
            .select(PATIENT_ID)
        )

    def held(
        self, code_set: str, days: int | None, dispensed: bool
    ) -> dict[datetime.date, pl.LazyFrame]:
        """At each date, the patient ids with a dispensing (`dispensed`) or a record of
        `code_set` up to it, in the `days` before it when given (an undated record holds at
        every date, in no window): worked out once for every date (a range join), read at each.
        """
        key = (code_set, days, dispensed)
        if key not in self._held:
            if dispensed:
                hits = self.medicine_hits[code_set].select(PATIENT_ID, day="dispensed_on")
            else:
                hits = self.event_hits[code_set].select(PATIENT_ID, day="recorded_on")
            dates = self.dates.lazy()
            predicates = [pl.col("day") <= pl.col("on")]
            if days is not None:
                dates = dates.with_columns(since=pl.col("on") - pl.duration(days=days))
                predicates.append(pl.col("day") > pl.col("since"))
            found = [hits.drop_nulls("day").unique().join_where(dates, *predicates)]
            if days is None:
                undated = hits.filter(pl.col("day").is_null()).select(PATIENT_ID)
                found.append(undated.join(self.dates.lazy(), how="cross"))
            patients = pl.concat([f.select(PATIENT_ID, "on") for f in found]).unique().collect()
            self._held[key] = _split(patients, "on", self.dates["on"])
        return self._held[key]

    def all_hold(
        self, criteria: Sequence[Criterion], on: datetime.date, within: pl.LazyFrame | None = None
    ) -> pl.LazyFrame:
        """The patients `within` (patient ids), or every patient (id, practice), for whom every
        criterion holds. Complements come last, each taken within the patients the criteria
        before it left: a numerator is only read within its denominator, and a complement of
        the whole population is mostly patients no other criterion holds for."""
        plan = within if within is not None else self.patients.select(PATIENT_ID, PRACTICE_ID)
        for criterion in sorted(criteria, key=_complements):
            found = self.holds(criterion, on, plan.select(PATIENT_ID))
            plan = plan.join(found, on=PATIENT_ID, how="semi")
        return plan

    def patients_plan(self, indicator: Indicator, on: datetime.date) -> pl.LazyFrame:
        """Denominator patients with `numerator` true or false and `excluded`: the reason of
        the first exclusion that holds (null: counted). Excluded patients are never in the
        numerator."""
        eligible = self.all_hold(indicator.denominator, on)
        within = eligible.select(PATIENT_ID)
        reasons = [
            self.holds(e, on, within).with_columns(reason=pl.lit(e.reason), order=pl.lit(index))
            for index, e in enumerate(indicator.exclusions)
        ]
        if reasons:
            first = (
                pl.concat(reasons)
                .sort("order")
                .group_by(PATIENT_ID)
                .agg(pl.col("reason").first().alias("excluded"))
            )
            eligible = eligible.join(first, on=PATIENT_ID, how="left")
        else:
            eligible = eligible.with_columns(excluded=pl.lit(None, dtype=pl.String))
        numerator = self.all_hold(indicator.numerator, on, within).select(
            PATIENT_ID, numerator=pl.lit(True)
        )
        return eligible.join(numerator, on=PATIENT_ID, how="left").select(
            pl.lit(indicator.id).alias("indicator_id"),
            pl.lit(on, dtype=pl.Date).alias("on"),
            PATIENT_ID,
            PRACTICE_ID,
            (pl.col("numerator").fill_null(False) & pl.col("excluded").is_null()).alias(
                "numerator"
            ),
            "excluded",
        )
