"""Which module gives each clause kind its meaning: the only table both evaluators share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from medsopt.engine.clauses import (
    absent,
    applicability,
    biosimilar,
    conditions,
    count,
    duplicate,
    duration,
    formulary,
    medicines,
    monitoring,
    patient_facts,
    score,
)
from medsopt.engine.clauses.base import Filter, Lookups, Outcome, PatientView, Population
from medsopt.rules import ir

Check = Callable[[Any, PatientView], Outcome | None]
CheckEach = Callable[[Any, PatientView], tuple[tuple[str, Outcome], ...]]
Plan = Callable[[Sequence[tuple[str, Any]], Population, Lookups], pl.LazyFrame]
FilterPlan = Callable[[Sequence[tuple[str, Any]], Population, Lookups], Filter]

# One-patient checks of clauses that hold or fail once per patient.
CHECKS: Mapping[type, Check] = {
    ir.AppliesTo: applicability.check,
    ir.AllOf: medicines.check,
    ir.Duplicate: duplicate.check,
    ir.Count: count.check,
    ir.Score: score.check,
    ir.Duration: duration.check,
    ir.NoneOf: absent.check,
    ir.PatientFacts: patient_facts.check,
    ir.ConditionsPresent: conditions.check_present,
    ir.ConditionsAbsent: conditions.check_absent,
    ir.MonitoringDue: monitoring.check,
}
# One-patient checks of per-medicine clauses: one outcome per matching medicine.
CHECK_EACH: Mapping[type, CheckEach] = {
    ir.FormularyPosition: formulary.check_each,
    ir.BiosimilarChoice: biosimilar.check_each,
}
# Every clause kind's one-patient check, with whether it yields one outcome per medicine: one
# lookup per clause on the hot path.
DISPATCH: Mapping[type, tuple[bool, Check | CheckEach]] = {
    **{kind: (False, check) for kind, check in CHECKS.items()},
    **{kind: (True, check) for kind, check in CHECK_EACH.items()},
}
# Columnar plans of clauses that yield the pairs where they hold (candidates).
GENERATORS: Mapping[type, Plan] = {
    ir.AllOf: medicines.plan,
    ir.Duplicate: duplicate.plan,
    ir.Count: count.plan,
    ir.Score: score.plan,
    ir.Duration: duration.plan,
    ir.ConditionsPresent: conditions.plan_present,
    ir.FormularyPosition: formulary.plan,
    ir.BiosimilarChoice: biosimilar.plan,
}
# Columnar plans of clauses that only narrow the candidates, in the order they are applied.
FILTERS: Mapping[type, FilterPlan] = {
    ir.AppliesTo: applicability.filter_plan,
    ir.NoneOf: absent.filter_plan,
    ir.PatientFacts: patient_facts.filter_plan,
    ir.ConditionsAbsent: conditions.filter_absent,
    ir.MonitoringDue: monitoring.filter_plan,
}
