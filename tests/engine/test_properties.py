"""Hypothesis properties of the engine over the bundled rule set and real dm+d codes."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsopt.dmd.codes import code_problem, with_check_digit
from medsopt.dmd.concepts import Level
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.findings import CheckResult
from medsopt.rules.ruleset import RuleSet

CONDITIONS = ["84114007", "195967001", "13200003", "49436004", "52448006"]
# Well-formed SNOMED CT ids (valid partition and check digit) that no dm+d release holds.
UNKNOWN_CODES = [with_check_digit(p) for p in ("9999999100000110", "999999900", "8888888100000110")]


@pytest.fixture(scope="module")
def related_codes(bundled: RuleSet) -> list[str]:
    """A few codes from every medicine group, so combinations actually fire rules."""
    codes: set[str] = set()
    for group in bundled.groups.values():
        if group.kind == "medicine":
            codes.update(sorted(c for c in group.codes if c in bundled.dmd)[:4])
    return sorted(codes)


@pytest.fixture(scope="module")
def unrelated_codes(bundled: RuleSet) -> list[str]:
    """Real VMPs that belong to no group of the rule set."""
    return sorted(
        c.code
        for c in bundled.dmd.concepts()
        if c.level is Level.VMP and not c.invalid and not bundled.groups_of(c.code)
    )[:200]


def patients() -> st.SearchStrategy[PatientContext]:
    return st.builds(
        PatientContext,
        age_years=st.one_of(st.none(), st.integers(0, 110)),
        egfr=st.one_of(st.none(), st.floats(5, 120)),
        condition_codes=st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True).map(tuple),
    )


def summary(result: CheckResult) -> tuple[frozenset[tuple[str, tuple[str, ...]]], frozenset[str]]:
    return (
        frozenset((f.rule_id, f.medication_refs) for f in result.findings),
        frozenset(n.rule_id for n in result.not_evaluated),
    )


def entries(codes: list[str]) -> tuple[MedicationEntry, ...]:
    return tuple(MedicationEntry(f"m{i}", code) for i, code in enumerate(codes))


settings.register_profile(
    "engine", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings.get_profile("engine")
@given(data=st.data(), patient=patients())
def test_order_of_medicines_does_not_change_findings(
    bundled: RuleSet, related_codes: list[str], data: st.DataObject, patient: PatientContext
) -> None:
    codes = data.draw(st.lists(st.sampled_from(related_codes), min_size=1, max_size=8, unique=True))
    meds = entries(codes)
    shuffled = data.draw(st.permutations(meds))
    before = check(CheckRequest(meds, patient), bundled)
    after = check(CheckRequest(tuple(shuffled), patient), bundled)
    assert summary(before) == summary(after)
    assert [f.rule_id for f in before.findings] == [f.rule_id for f in after.findings]


@settings.get_profile("engine")
@given(data=st.data(), patient=patients())
def test_adding_an_unrelated_medicine_never_removes_a_finding(
    bundled: RuleSet,
    related_codes: list[str],
    unrelated_codes: list[str],
    data: st.DataObject,
    patient: PatientContext,
) -> None:
    codes = data.draw(st.lists(st.sampled_from(related_codes), min_size=1, max_size=8, unique=True))
    extra = data.draw(st.sampled_from(unrelated_codes))
    before = check(CheckRequest(entries(codes), patient), bundled)
    after = check(
        CheckRequest((*entries(codes), MedicationEntry("extra", extra)), patient), bundled
    )
    assert summary(before)[0] <= summary(after)[0]


@settings.get_profile("engine")
@given(data=st.data(), patient=patients())
def test_any_unresolvable_code_makes_the_answer_incomplete_and_is_listed(
    bundled: RuleSet, related_codes: list[str], data: st.DataObject, patient: PatientContext
) -> None:
    codes = data.draw(st.lists(st.sampled_from(related_codes), max_size=5, unique=True))
    # Real-shaped extension ids (valid check digit) that the extract does not hold.
    unknown = data.draw(st.sampled_from(UNKNOWN_CODES))
    assert code_problem(unknown) is None and bundled.dmd.concept(unknown) is None
    meds = (*entries(codes), MedicationEntry("x", unknown))
    result = check(CheckRequest(meds, patient), bundled)
    assert not result.complete
    assert ("x", unknown) in [(u.entry.ref, u.entry.code) for u in result.unresolved]


# Pairs of codes for one molecule: (VMP, one of its AMPs) in the bundled extract.
SAME_MOLECULE = [
    ("319733000", "421411000001103"),  # Warfarin 1mg tablets / (A A H Pharmaceuticals Ltd)
    ("321987003", "10394411000001109"),  # Citalopram 20mg tablets (old VMP id) / an AMP
]
SPEC_POOL = [
    "319733000",
    "329806007",
    "329653008",
    "317291008",
    "318902004",
    "318956006",
    "321987003",
    "39704111000001102",
    "317972000",
]


@settings.get_profile("engine")
@given(data=st.data())
def test_count_and_scale_findings_ignore_order_and_duplicate_packs(
    spec: RuleSet, data: st.DataObject
) -> None:
    codes = data.draw(st.lists(st.sampled_from(SPEC_POOL), min_size=1, max_size=7, unique=True))
    vmp, amp = data.draw(st.sampled_from(SAME_MOLECULE))
    base = entries([*codes, vmp] if vmp not in codes else codes)
    with_pack = (*base, MedicationEntry("dup", amp))
    shuffled = tuple(data.draw(st.permutations(with_pack)))
    patient = PatientContext(age_years=70, egfr=60.0)

    def counted(meds: tuple[MedicationEntry, ...]) -> set[tuple[str, str]]:
        result = check(CheckRequest(meds, patient), spec)
        return {
            (f.rule_id, f.detail.split("(count ")[1])
            for f in result.findings
            if f.rule_id in {"S-COUNT", "S-SCORE"}
        }

    assert counted(base) == counted(with_pack) == counted(shuffled)


@pytest.fixture(scope="module")
def condition_pool(bundled: RuleSet) -> list[str]:
    """A few codes from every condition group, so condition-keyed rules get their chance."""
    codes: set[str] = set()
    for group in bundled.groups.values():
        if group.kind == "condition":
            codes.update(sorted(group.codes)[:3])
    return sorted(codes)


@settings.get_profile("engine")
@given(data=st.data())
def test_the_trigger_indexes_never_hide_a_rule(
    bundled: RuleSet, related_codes: list[str], condition_pool: list[str], data: st.DataObject
) -> None:
    # The same rule set with no index: every active rule evaluated for every request.
    unindexed = replace(
        bundled,
        triggers=MappingProxyType({}),
        condition_triggers=MappingProxyType({}),
        untriggered=tuple(sorted(bundled.rules)),
    )
    codes = data.draw(st.lists(st.sampled_from(related_codes), max_size=8, unique=True))
    patient = PatientContext(
        age_years=data.draw(st.one_of(st.none(), st.integers(40, 100))),
        egfr=data.draw(st.one_of(st.none(), st.floats(5, 120))),
        condition_codes=tuple(
            data.draw(st.lists(st.sampled_from(condition_pool), max_size=4, unique=True))
        ),
    )
    request = CheckRequest(entries(codes) or entries([related_codes[0]]), patient)
    assert summary(check(request, bundled)) == summary(check(request, unindexed))


@settings.get_profile("engine")
@given(data=st.data(), patient=patients())
def test_no_two_findings_share_a_concern_and_a_medicine(
    bundled: RuleSet, related_codes: list[str], data: st.DataObject, patient: PatientContext
) -> None:
    """One card per clinical concern: overlapping findings of one concern are always merged."""
    codes = data.draw(
        st.lists(st.sampled_from(related_codes), min_size=2, max_size=12, unique=True)
    )
    result = check(CheckRequest(entries(codes), replace(patient, age_years=78)), bundled)
    raised = [f for f in result.findings if f.concern]
    for i, first in enumerate(raised):
        assert first.sources and first.sources[0].rule_id == first.rule_id
        for second in raised[i + 1 :]:
            assert first.concern != second.concern or not (
                set(first.medication_refs) & set(second.medication_refs)
            ), (first.rule_id, second.rule_id)


def test_a_concern_raised_by_two_programmes_is_one_card(bundled: RuleSet) -> None:
    """Warfarin with naproxen: PINCER-D and STOPP C10 raise one bleeding concern, one card."""
    result = check(
        CheckRequest(entries(["319733000", "329806007"]), PatientContext(age_years=78)),
        bundled,
    )
    bleeding = [f for f in result.findings if f.concern == "bleeding-anticoagulant-nsaid"]
    assert len(bleeding) == 1
    card = bleeding[0]
    assert [s.rule_id for s in card.sources] == ["PINCER-D", "STOPP-V2-C10"]
    assert card.title == bundled.concerns["bleeding-anticoagulant-nsaid"].title
    assert card.severity == "severe"
    assert {c.source for c in card.citations} >= {"PINCER"}
