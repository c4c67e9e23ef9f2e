"""Point of care = columnar for requests with everything a request can carry: proposed
medicines, start dates, age, sex, eGFR, pregnancy, conditions, monitoring results and their
completeness date, biologic exceptions. Covers the rule kinds the scan's differential test cannot
(monitoring results, proposed medicines) besides concerns, applicability and duplication."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsopt.committee.both_evaluators import columnar_answers_for, point_of_care_answer
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.clauses.base import Lookups
from medsopt.engine.lookups import build_lookups
from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    MedicationStatus,
    MonitoringResult,
    Sex,
)
from medsopt.rules.ruleset import RuleSet

AS_OF = datetime.date(2026, 12, 1)


@pytest.fixture(scope="module")
def lookups(bundled: RuleSet) -> Lookups:
    return build_lookups(bundled, None)


@pytest.fixture(scope="module")
def pools(bundled: RuleSet) -> tuple[list[str], list[str], list[str]]:
    """Medicine codes from every medicine group, condition codes, test codes."""
    medicines: set[str] = set()
    conditions: set[str] = set()
    tests: set[str] = set()
    for group in bundled.groups.values():
        listed = sorted(c for c in group.codes if group.kind != "medicine" or c in bundled.dmd)
        if group.kind == "medicine":
            medicines.update(listed[:3])
        elif group.kind == "condition":
            conditions.update(listed[:2])
        else:
            tests.update(listed[:3])
    if bundled.biosimilars is not None:
        medicines.update(sorted(bundled.biosimilars.products)[:10])
    return sorted(medicines), sorted(conditions), sorted(tests)


def requests(pools: tuple[list[str], list[str], list[str]]) -> st.SearchStrategy[CheckRequest]:
    medicines, conditions, tests = pools
    # Window edges (3, 6, 12, 15 months) and age limits are drawn often: off-by-one bugs live there.
    days = st.one_of(
        st.integers(0, 900), st.sampled_from([0, 89, 90, 91, 92, 182, 183, 184, 365, 366, 457])
    )
    day = days.map(lambda d: AS_OF - datetime.timedelta(days=d))

    @st.composite
    def one(draw: st.DrawFn) -> CheckRequest:
        codes = draw(st.lists(st.sampled_from(medicines), min_size=1, max_size=8, unique=True))
        return CheckRequest(
            medications=tuple(
                MedicationEntry(
                    f"m{i}",
                    code,
                    status=draw(st.sampled_from(list(MedicationStatus))),
                    start_date=draw(st.one_of(st.none(), day.map(str))),
                )
                for i, code in enumerate(codes)
            ),
            patient=PatientContext(
                age_years=draw(
                    st.one_of(
                        st.none(),
                        st.integers(0, 100),
                        st.sampled_from([11, 12, 55, 56, 64, 65, 75]),
                    )
                ),
                sex=draw(st.sampled_from(list(Sex))),
                egfr=draw(st.one_of(st.none(), st.floats(5, 120))),
                pregnant=draw(st.one_of(st.none(), st.booleans())),
                condition_codes=tuple(
                    draw(st.lists(st.sampled_from(conditions), max_size=3, unique=True))
                ),
                monitoring=tuple(
                    MonitoringResult(code, str(date))
                    for code, date in draw(
                        st.lists(st.tuples(st.sampled_from(tests), day), max_size=4)
                    )
                ),
                monitoring_from=draw(st.one_of(st.none(), day.map(str))),
                biologic_exceptions=tuple(
                    BiologicException("398728003", kind, None)
                    for kind in draw(
                        st.lists(
                            st.sampled_from(
                                [
                                    BiologicExceptionKind.DECLINED,
                                    BiologicExceptionKind.FAILED_SWITCH,
                                ]
                            ),
                            max_size=1,
                        )
                    )
                ),
            ),
            as_of=draw(st.sampled_from([AS_OF, None])),
        )

    return one()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_point_of_care_equals_columnar(
    bundled: RuleSet,
    lookups: Lookups,
    pools: tuple[list[str], list[str], list[str]],
    data: st.DataObject,
) -> None:
    batch = data.draw(st.lists(requests(pools), min_size=1, max_size=20))
    columnar = columnar_answers_for(batch, bundled, lookups)
    for index, request in enumerate(batch):
        assert columnar[index] == point_of_care_answer(check(request, bundled)), index


def test_both_evaluators_agree_at_the_edges(bundled: RuleSet, lookups: Lookups) -> None:
    """Age limits of applicability and the first and last day of a monitoring window."""
    valproate, lithium, lithium_level = "322956002", "13177001000001108", "1006681000000100"
    batch = [
        CheckRequest(
            (MedicationEntry("m1", valproate),),
            PatientContext(age_years=age, sex=Sex.FEMALE),
            as_of=AS_OF,
        )
        for age in (11, 12, 55, 56)
    ]
    for days_ago in (90, 91, 92):
        for complete_days_ago in (90, 91, 92):
            batch.append(
                CheckRequest(
                    (MedicationEntry("m1", lithium, start_date="2025-01-01"),),
                    PatientContext(
                        age_years=60,
                        monitoring=(
                            MonitoringResult(
                                lithium_level, str(AS_OF - datetime.timedelta(days=days_ago))
                            ),
                        ),
                        monitoring_from=str(AS_OF - datetime.timedelta(days=complete_days_ago)),
                    ),
                    as_of=AS_OF,
                )
            )
    columnar = columnar_answers_for(batch, bundled, lookups)
    answers = [point_of_care_answer(check(request, bundled)) for request in batch]
    assert [columnar[i] for i in range(len(batch))] == answers
    # The edges matter: the answers differ across them.
    assert answers[1] != answers[0] and answers[3] != answers[2]
    assert len(set(answers[4:])) > 1


def test_both_evaluators_agree_when_several_filters_lack_data(
    bundled: RuleSet, lookups: Lookups
) -> None:
    """The columnar filters judge each rule's candidates apart (only the filters the rule has):
    what a rule lacks is still listed in the engine's order, and one patient's data gaps do not
    reach another patient's rules."""
    atrial_fibrillation, bisoprolol, apixaban = "49436004", "42371511000001109", "42206511000001102"
    unknown = "99999991000001109"  # a well-formed dm+d id that does not resolve
    batch = [
        CheckRequest(
            tuple(MedicationEntry(f"m{i}", code) for i, code in enumerate(codes)),
            PatientContext(age_years=age, condition_codes=(atrial_fibrillation,)),
            as_of=AS_OF,
        )
        for codes, age in (
            ((bisoprolol, unknown), None),  # lacks resolvable codes and age
            ((bisoprolol, unknown), 75),  # lacks resolvable codes
            ((bisoprolol,), None),  # lacks age
            ((bisoprolol,), 75),  # fires
            ((bisoprolol,), 40),  # outside the age limit
            ((apixaban, unknown), None),  # treated: fails whatever it lacks
        )
    ]
    columnar = columnar_answers_for(batch, bundled, lookups)
    answers = [point_of_care_answer(check(request, bundled)) for request in batch]
    assert [columnar[i] for i in range(len(batch))] == answers

    def start_a1(answer: tuple[frozenset[tuple[object, ...]], ...]) -> tuple[object, ...]:
        fired = {row[0] for row in answer[0]}
        waiting = {row[0]: row[2] for row in answer[1]}
        return ("START-V2-A1" in fired, waiting.get("START-V2-A1"))

    assert [start_a1(a) for a in answers] == [
        (False, ("resolvable codes for every medicine", "age_years")),
        (False, ("resolvable codes for every medicine",)),
        (False, ("age_years",)),
        (True, None),
        (False, None),
        (False, None),
    ]
