"""Point of care vs batch: Hypothesis patients through `medsopt.engine.check` and the columnar
scan (`medsopt.scan.safety`) must give the same findings and the same rules not evaluated."""

from __future__ import annotations

import datetime
import random
from collections import Counter
from dataclasses import dataclass

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.lookups import build_lookups
from medsopt.engine.request import Sex
from medsopt.rules.ir import ConditionsPresent
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import vocabulary
from medsopt.scan.screening import Screening, screen
from medsopt.scan.tables import ScanTables
from medsopt.scan.vocabulary import RESOLVED_OK
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES

AS_OF = datetime.date(2026, 6, 30)
UNKNOWN_CODE = "9999999100000112"  # in no dm+d release
CONDITION_LISTS = BUNDLED_RULES / "codelists" / "conditions"
SUPERSEDED = BUNDLED_FORMULARY / "dmd" / "bundled" / "superseded.parquet"


@dataclass(frozen=True)
class Patient:
    codes: tuple[str, ...]
    starts: tuple[datetime.date | None, ...]
    age: int | None
    sex: Sex
    egfr: float | None
    pregnant: bool | None
    conditions: tuple[str, ...]
    # A dispensed code that did not resolve (quarantined by the scan; sent to the engine).
    unresolved: bool = False


@dataclass(frozen=True)
class Setup:
    ruleset: RuleSet
    screening: Screening
    codes: list[str]
    conditions: list[str]


def _setup(ruleset: RuleSet, screening: Screening) -> Setup:
    resolution = screening.resolution
    usable = set(resolution.filter(pl.col("resolution") == RESOLVED_OK)["code"].to_list())
    codes: set[str] = set()
    for group in ruleset.groups.values():
        if group.kind == "medicine":
            members = sorted(
                c for c, ms in ruleset.membership.items() if group.id in {m.group for m in ms}
            )
            codes.update(members[:3] + members[-2:])
    if ruleset.formulary is not None:
        codes.update(ruleset.formulary.products)
    if ruleset.biosimilars is not None:  # brands, generic biologic products and molecules
        table = ruleset.biosimilars
        codes.update([*table.products, *table.generics, *table.molecules])
    # Retired ids resolve to their current concept; the scan must screen them the same way.
    retired = resolution.filter(
        pl.col("concept_code").is_in(sorted(codes)) & (pl.col("code") != pl.col("concept_code"))
    )["code"].to_list()
    codes.update(retired[:20])
    # Condition codes spread over each whole published list, so the child concepts the clusters
    # list (e.g. "Mild persistent asthma uncontrolled") are drawn as well as parents.
    conditions: set[str] = set()
    for path in sorted(CONDITION_LISTS.glob("*.csv")):
        listed = pl.read_csv(path, infer_schema=False)["code"].to_list()
        conditions.update(listed[:: max(1, len(listed) // 5)])
    for group in ruleset.groups.values():
        if group.kind == "condition":
            conditions.update(sorted(group.codes)[:2])
    return Setup(ruleset, screening, sorted(codes & usable), sorted(conditions))


@pytest.fixture(scope="module")
def bundled_setup(bundled: RuleSet, scan_tables: ScanTables) -> Setup:
    return _setup(
        bundled, Screening(scan_tables.resolution, scan_tables.rules, scan_tables.lookups)
    )


@pytest.fixture(scope="module")
def spec_setup(spec: RuleSet) -> Setup:
    retired = pl.read_parquet(SUPERSEDED)["previous_code"].to_list()
    return _setup(
        spec,
        Screening(
            vocabulary.resolution_table(spec, retired),
            tuple(c.ir for _, c in sorted(spec.rules.items())),
            build_lookups(spec, AS_OF),
        ),
    )


def patients(setup: Setup) -> st.SearchStrategy[list[Patient]]:
    def one(draw: st.DrawFn) -> Patient:
        codes = tuple(
            sorted(
                draw(st.lists(st.sampled_from(setup.codes), min_size=1, max_size=8, unique=True))
            )
        )
        start = st.one_of(
            st.none(), st.integers(0, 400).map(lambda d: AS_OF - datetime.timedelta(days=d))
        )
        return Patient(
            codes=codes,
            starts=tuple(draw(start) for _ in codes),
            age=draw(st.one_of(st.none(), st.integers(0, 110))),
            sex=draw(st.sampled_from(list(Sex))),
            egfr=draw(st.one_of(st.none(), st.floats(5, 120))),
            pregnant=draw(st.one_of(st.none(), st.booleans())),
            conditions=tuple(
                draw(st.lists(st.sampled_from(setup.conditions), max_size=4, unique=True))
            ),
        )

    return st.lists(st.composite(one)(), min_size=1, max_size=25)


def point_of_care(
    setup: Setup, people: list[Patient]
) -> tuple[
    Counter[tuple[str, str, tuple[str, ...], str, str]],
    set[tuple[str, str, tuple[str, ...], tuple[str, ...]]],
]:
    findings: Counter[tuple[str, str, tuple[str, ...], str, str]] = Counter()
    not_evaluated: set[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = set()
    for number, person in enumerate(people):
        request = CheckRequest(
            medications=tuple(
                MedicationEntry(code, code, start_date=start.isoformat() if start else None)
                for code, start in zip(person.codes, person.starts, strict=True)
            )
            + ((MedicationEntry("unresolved", UNKNOWN_CODE),) if person.unresolved else ()),
            patient=PatientContext(
                person.age, person.sex, person.egfr, person.pregnant, person.conditions
            ),
            as_of=AS_OF,
        )
        result = check(request, setup.ruleset)
        pid = f"p{number}"
        findings.update(
            (pid, f.rule_id, f.medication_refs, f.detail, f.recommendation) for f in result.findings
        )
        not_evaluated.update(
            (pid, n.rule_id, n.medication_refs, n.missing) for n in result.not_evaluated
        )
    return findings, not_evaluated


def batch(
    setup: Setup, people: list[Patient]
) -> tuple[
    Counter[tuple[str, str, tuple[str, ...], str, str]],
    set[tuple[str, str, tuple[str, ...], tuple[str, ...]]],
]:
    current = pl.DataFrame(
        [
            (f"p{n}", code, start)
            for n, p in enumerate(people)
            for code, start in zip(p.codes, p.starts, strict=True)
        ],
        schema={"patient_id": pl.String, "code": pl.String, "start_date": pl.Date},
        orient="row",
    )
    facts = pl.DataFrame(
        [
            (f"p{n}", p.age, p.sex.value, p.egfr, p.pregnant, list(p.conditions))
            for n, p in enumerate(people)
        ],
        schema={
            "patient_id": pl.String,
            "age_years": pl.Int32,
            "sex": pl.String,
            "egfr": pl.Float64,
            "pregnant": pl.Boolean,
            "condition_codes": pl.List(pl.String),
        },
        orient="row",
    )
    unresolved = pl.DataFrame(
        {"patient_id": [f"p{n}" for n, p in enumerate(people) if p.unresolved]},
        schema={"patient_id": pl.String},
    )
    result = screen(current, facts, unresolved, setup.screening, AS_OF)
    found, unknown = result.findings, result.not_evaluated
    return (
        Counter(
            (p, r, tuple(c), d, rec)
            for p, r, c, d, rec in found.select(
                "patient_id", "rule_id", "codes", "detail", "recommendation"
            ).iter_rows()
        ),
        {
            (p, r, tuple(c), tuple(m))
            for p, r, c, m in unknown.select(
                "patient_id", "rule_id", "codes", "missing"
            ).iter_rows()
        },
    )


settings.register_profile(
    "differential",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings.get_profile("differential")
@given(data=st.data())
def test_bundled_rules_batch_equals_point_of_care(
    bundled_setup: Setup, data: st.DataObject
) -> None:
    people = data.draw(patients(bundled_setup))
    assert batch(bundled_setup, people) == point_of_care(bundled_setup, people)


@settings.get_profile("differential")
@given(data=st.data())
def test_spec_rules_batch_equals_point_of_care(spec_setup: Setup, data: st.DataObject) -> None:
    """The spec rule set has one rule per engine behaviour: count, scale score, duration,
    duplicate, omission, supersedes, exact (brand) groups."""
    people = data.draw(patients(spec_setup))
    assert batch(spec_setup, people) == point_of_care(spec_setup, people)


def seeded_patients(setup: Setup, count: int, seed: int) -> list[Patient]:
    """A fixed crowd of patients (no Hypothesis), large enough for most rules to fire."""
    rng = random.Random(seed)
    crowd = []
    for _ in range(count):
        codes = tuple(sorted(rng.sample(setup.codes, rng.randint(1, 8))))
        crowd.append(
            Patient(
                codes=codes,
                starts=tuple(
                    rng.choice([None, AS_OF - datetime.timedelta(days=rng.randint(0, 400))])
                    for _ in codes
                ),
                age=rng.choice([None, rng.randint(0, 110)]),
                sex=rng.choice(list(Sex)),
                egfr=rng.choice([None, rng.uniform(5, 120)]),
                pregnant=rng.choice([None, True, False]),
                conditions=tuple(rng.sample(setup.conditions, rng.randint(0, 4))),
                unresolved=rng.random() < 0.1,
            )
        )
    return crowd


def test_a_seeded_crowd_agrees_and_exercises_most_rules(bundled_setup: Setup) -> None:
    """Also guards against a differential test that passes because nothing fires."""
    crowd = seeded_patients(bundled_setup, 1500, seed=5)
    expected = point_of_care(bundled_setup, crowd)
    assert batch(bundled_setup, crowd) == expected
    fired, not_evaluated = expected
    assert len({finding[1] for finding in fired}) >= 20
    assert len({rule for _, rule, _, _ in not_evaluated}) >= 5
    needs_condition = {
        rule_id
        for rule_id, compiled in bundled_setup.ruleset.rules.items()
        if any(isinstance(clause, ConditionsPresent) for clause in compiled.ir.clauses)
    }
    # Recorded conditions (parents and child concepts) fire rules in both evaluators.
    assert len({finding[1] for finding in fired} & needs_condition) >= 30
    assert {finding[1] for finding in fired} >= {
        "BIOSIMILAR-SWITCH",
        "BIOSIMILAR-PRESCRIBE-BY-BRAND",
    }  # biologics are in the crowd, and the batch answers for them too
