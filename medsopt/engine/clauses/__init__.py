"""One module per clause kind: its one-patient check beside its columnar (polars) plan.

Each module exposes `check(clause, view) -> Outcome | None` (None: the clause fails, so the
rule does not apply) and a columnar plan over a `Population`. Generating clauses
(`plan(...) -> LazyFrame`) yield the (patient, rule) pairs where they hold or lack data;
filtering clauses (`filter_plan(...) -> Filter`) add `fails`/`missing` expressions to those
pairs. `medsopt.engine.point_of_care` and `medsopt.engine.columnar` only compose them.
"""
