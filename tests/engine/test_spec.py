"""Table-driven specification of the point-of-care engine, over the spec rule set."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest

from medsopt.dmd.concepts import UnresolvedReason
from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check
from medsopt.engine.request import MedicationStatus
from medsopt.engine.text import question
from medsopt.rules.ruleset import RuleSet

WARFARIN, NAPROXEN, IBUPROFEN, OMEPRAZOLE = "319733000", "329806007", "329653008", "317291008"
RAMIPRIL, LOSARTAN, FUROSEMIDE, BENDROFLUMETHIAZIDE = (
    "318902004",
    "318956006",
    "317972000",
    "317919004",
)
CITALOPRAM, SERTRALINE, HEART_FAILURE = "321987003", "321959007", "84114007"
WARFARIN_AMP, WARFARIN_VTM = "421411000001103", "48603004"


@dataclass(frozen=True)
class Case:
    name: str
    codes: tuple[str, ...]
    patient: PatientContext = field(default_factory=lambda: PatientContext(age_years=50, egfr=90.0))
    fired: frozenset[str] = frozenset()
    not_evaluated: frozenset[str] = field(default_factory=frozenset)


CASES = [
    Case("pair fires", (WARFARIN, NAPROXEN), fired=frozenset({"S-PAIR"})),
    Case("pair needs both", (WARFARIN,)),
    Case(
        "AMP matches through its VMP (and is the listed brand)",
        (WARFARIN_AMP, NAPROXEN),
        fired=frozenset({"S-PAIR", "S-BRAND"}),
    ),
    Case("VTM matches through its products", (WARFARIN_VTM, NAPROXEN), fired=frozenset({"S-PAIR"})),
    Case(
        "triple supersedes the pair it contains",
        (RAMIPRIL, FUROSEMIDE, IBUPROFEN),
        fired=frozenset({"S-TRIPLE"}),
    ),
    Case(
        "composed group: ARB counts as RAS",
        (LOSARTAN, BENDROFLUMETHIAZIDE),
        fired=frozenset({"S-RAS-DIURETIC"}),
    ),
    Case("none_of present blocks", (NAPROXEN, OMEPRAZOLE), PatientContext(age_years=80, egfr=90.0)),
    Case(
        "age threshold met",
        (NAPROXEN,),
        PatientContext(age_years=65, egfr=90.0),
        frozenset({"S-NSAID-OLD"}),
    ),
    Case("age threshold not met", (NAPROXEN,), PatientContext(age_years=64, egfr=90.0)),
    Case(
        "missing age: not evaluated, never fired",
        (NAPROXEN,),
        PatientContext(egfr=90.0),
        not_evaluated=frozenset({"S-NSAID-OLD"}),
    ),
    Case(
        "eGFR below threshold",
        (NAPROXEN,),
        PatientContext(age_years=50, egfr=44.9),
        frozenset({"S-NSAID-EGFR"}),
    ),
    Case("eGFR at threshold does not fire", (NAPROXEN,), PatientContext(age_years=50, egfr=45.0)),
    Case(
        "missing eGFR: not evaluated",
        (NAPROXEN,),
        PatientContext(age_years=50),
        not_evaluated=frozenset({"S-NSAID-EGFR"}),
    ),
    Case(
        "drug-condition",
        (NAPROXEN,),
        PatientContext(age_years=50, egfr=90.0, condition_codes=(HEART_FAILURE,)),
        frozenset({"S-NSAID-HF", "S-HF-NO-RAS"}),
    ),
    Case(
        "omission rule fires with no trigger medicine",
        (WARFARIN,),
        PatientContext(age_years=50, condition_codes=(HEART_FAILURE,)),
        frozenset({"S-HF-NO-RAS"}),
    ),
    Case(
        "omission rule silent when the group is present",
        (RAMIPRIL,),
        PatientContext(age_years=50, condition_codes=(HEART_FAILURE,)),
    ),
    Case(
        "duplicate needs two molecules (they also score 2 + 1; the retired sertraline id counts)",
        (CITALOPRAM, SERTRALINE),
        fired=frozenset({"S-DUP-SSRI", "S-SCORE", "S-RETIRED"}),
        not_evaluated=frozenset({"S-DURATION"}),
    ),
    Case(
        "one molecule is not a duplicate; an undated SSRI leaves the duration rule open",
        (CITALOPRAM,),
        not_evaluated=frozenset({"S-DURATION"}),
    ),
]


def request(codes: tuple[str, ...], patient: PatientContext) -> CheckRequest:
    return CheckRequest(
        medications=tuple(MedicationEntry(f"m{i}", c) for i, c in enumerate(codes)),
        patient=patient,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_spec(case: Case, spec: RuleSet) -> None:
    result = check(request(case.codes, case.patient), spec)
    assert {f.rule_id for f in result.findings} == case.fired
    assert {n.rule_id for n in result.not_evaluated} == case.not_evaluated
    assert not result.unresolved


def test_same_rule_reported_once_for_all_matching_medicines(spec: RuleSet) -> None:
    result = check(
        request((WARFARIN, NAPROXEN, IBUPROFEN), PatientContext(age_years=50, egfr=90.0)), spec
    )
    pair = [f for f in result.findings if f.rule_id == "S-PAIR"]
    assert len(pair) == 1
    assert pair[0].medication_refs == ("m0", "m1", "m2")


def test_finding_text_is_specific_to_the_patient(spec: RuleSet) -> None:
    result = check(request((NAPROXEN,), PatientContext(age_years=70, egfr=30.0)), spec)
    detail = {f.rule_id: f.detail for f in result.findings}["S-NSAID-EGFR"]
    assert detail == "Naproxen 250mg tablets spec detail (age 70 years, eGFR 30)."


def test_explanation_walks_code_concept_group(spec: RuleSet) -> None:
    result = check(request((WARFARIN_AMP, NAPROXEN), PatientContext(age_years=50, egfr=90.0)), spec)
    matched = {m.ref: m for m in result.findings[0].matched}
    assert matched["m0"].concept_name.startswith("Warfarin 1mg tablets")
    assert matched["m0"].via == (
        "AMP 421411000001103 -> VMP 319733000 (Warfarin 1mg tablets) listed in group anticoag"
    )


def test_unknown_code_makes_the_answer_incomplete(spec: RuleSet) -> None:
    result = check(
        request((WARFARIN, "99999991000001109"), PatientContext(age_years=50, egfr=90.0)), spec
    )
    assert not result.complete
    assert [u.entry.code for u in result.unresolved] == ["99999991000001109"]


def test_superseded_code_fires_like_its_successor(bundled: RuleSet) -> None:
    patient = PatientContext(age_years=70, egfr=90.0)
    old = check(request((WARFARIN, "329847005"), patient), bundled)  # retired naproxen MR id
    new = check(request((WARFARIN, "36030111000001106"), patient), bundled)  # its successor
    assert [(ref, s.current_code) for ref, s in old.superseded] == [("m1", "36030111000001106")]
    assert {f.rule_id for f in old.findings} == {f.rule_id for f in new.findings}
    assert "PINCER-D" in {f.rule_id for f in old.findings}


AMITRIPTYLINE = "321745007"  # Amitriptyline 10mg tablets: no group, no scale entry
SERTRALINE_NOW = "39704111000001102"  # current id of Sertraline 50mg tablets


def fired(
    spec: RuleSet,
    codes: tuple[str, ...],
    start: str | None = None,
    as_of: datetime.date | None = None,
) -> set[str]:
    """Rule ids that fired, and '?'-prefixed ids that could not be evaluated."""
    meds = tuple(MedicationEntry(f"m{i}", c, start_date=start) for i, c in enumerate(codes))
    patient = PatientContext(age_years=50, egfr=90.0)
    result = check(CheckRequest(meds, patient, as_of=as_of), spec)
    return {f.rule_id for f in result.findings} | {f"?{n.rule_id}" for n in result.not_evaluated}


def test_count_counts_molecules_not_packs(spec: RuleSet) -> None:
    assert "S-COUNT" in fired(spec, (WARFARIN, NAPROXEN, OMEPRAZOLE, RAMIPRIL))
    # A second warfarin product (AMP of the same VTM) is the same molecule.
    assert "S-COUNT" not in fired(spec, (WARFARIN, WARFARIN_AMP, NAPROXEN, OMEPRAZOLE))


def test_scale_total_counts_each_molecule_once(spec: RuleSet) -> None:
    assert "S-SCORE" in fired(spec, (CITALOPRAM, SERTRALINE_NOW))  # 2 + 1
    assert "S-SCORE" not in fired(spec, (CITALOPRAM, "321987003", AMITRIPTYLINE))  # 2, once
    result = check(
        CheckRequest(
            (MedicationEntry("a", CITALOPRAM), MedicationEntry("b", NAPROXEN)),
            PatientContext(age_years=50, egfr=90.0),
        ),
        spec,
    )
    score = {f.rule_id: f for f in result.findings}["S-SCORE"]
    assert "total 3: Citalopram 2, Naproxen 250mg tablets 1" in score.detail


def test_duration_needs_a_start_date_and_an_as_of_date(spec: RuleSet) -> None:
    today = datetime.date(2026, 11, 24)
    assert "S-DURATION" in fired(spec, (CITALOPRAM,), start="2026-09-01", as_of=today)
    assert "S-DURATION" not in fired(spec, (CITALOPRAM,), start="2026-11-10", as_of=today)
    assert "?S-DURATION" in fired(spec, (CITALOPRAM,), as_of=today)  # no start date
    assert "?S-DURATION" in fired(spec, (CITALOPRAM,), start="2026-09-01")  # no as-of date


def test_exact_group_matches_only_the_listed_brand(spec: RuleSet) -> None:
    assert "S-BRAND" in fired(spec, (WARFARIN_AMP,))
    assert "S-BRAND" not in fired(spec, (WARFARIN,))
    assert "S-BRAND" not in fired(spec, (WARFARIN_VTM,))


def test_a_listed_retired_id_still_captures_its_successor(spec: RuleSet) -> None:
    assert "S-RETIRED" in fired(spec, (SERTRALINE_NOW,))
    assert "S-RETIRED" in fired(spec, ("321959007",))


ASTHMA = "195967001"


def conditions_fired(spec: RuleSet, *conditions: str) -> set[str]:
    meds = (MedicationEntry("p", OMEPRAZOLE),)
    patient = PatientContext(age_years=50, egfr=90.0, condition_codes=conditions)
    return {f.rule_id for f in check(CheckRequest(meds, patient), spec).findings}


def test_conditions_any_needs_one_group_and_conditions_all_needs_every_group(
    spec: RuleSet,
) -> None:
    assert {"S-PPI-HF-OR-ASTHMA"} <= conditions_fired(spec, HEART_FAILURE)
    assert "S-PPI-HF-AND-ASTHMA" not in conditions_fired(spec, HEART_FAILURE)
    assert {"S-PPI-HF-OR-ASTHMA", "S-PPI-HF-AND-ASTHMA"} <= conditions_fired(
        spec, HEART_FAILURE, ASTHMA
    )
    assert not {"S-PPI-HF-OR-ASTHMA", "S-PPI-HF-AND-ASTHMA"} & conditions_fired(spec)


def test_an_omission_is_not_asserted_while_a_code_is_unresolved(spec: RuleSet) -> None:
    unknown = "99999991000001109"  # well formed, in no release: it could be the missing drug
    patient = PatientContext(age_years=50, condition_codes=(HEART_FAILURE,))
    meds = (MedicationEntry("w", WARFARIN), MedicationEntry("x", unknown))
    result = check(CheckRequest(meds, patient), spec)
    assert "S-HF-NO-RAS" not in {f.rule_id for f in result.findings}
    [pending] = [n for n in result.not_evaluated if n.rule_id == "S-HF-NO-RAS"]
    assert pending.missing == ("resolvable codes for every medicine",)


def test_an_absence_is_not_asserted_while_a_code_is_unresolved_even_with_a_trigger(
    spec: RuleSet,
) -> None:
    # "NSAID and no PPI": the unknown code may be the PPI, so the rule must not assert "no PPI".
    unknown = "99999991000001109"
    naproxen = "329806007"  # Naproxen 250mg tablets
    meds = (MedicationEntry("n", naproxen), MedicationEntry("x", unknown))
    result = check(CheckRequest(meds, PatientContext(age_years=70)), spec)
    assert "S-NSAID-OLD" not in {f.rule_id for f in result.findings}
    [pending] = [n for n in result.not_evaluated if n.rule_id == "S-NSAID-OLD"]
    assert pending.missing == ("resolvable codes for every medicine",)
    assert pending.medication_refs == ("n",)
    alone = check(CheckRequest(meds[:1], PatientContext(age_years=70)), spec)
    assert "S-NSAID-OLD" in {f.rule_id for f in alone.findings}


def test_scale_contributors_do_not_depend_on_order_or_packs(spec: RuleSet) -> None:
    citalopram_amp = "10394411000001109"  # an AMP of the same molecule as CITALOPRAM
    orders = [
        (CITALOPRAM, citalopram_amp, SERTRALINE_NOW),
        (SERTRALINE_NOW, citalopram_amp, CITALOPRAM),
    ]
    answers = set()
    for codes in orders:
        meds = tuple(MedicationEntry(code, code) for code in codes)
        result = check(CheckRequest(meds, PatientContext(age_years=50, egfr=90.0)), spec)
        score = {f.rule_id: f for f in result.findings}["S-SCORE"]
        answers.add((score.medication_refs, score.detail))
    assert len(answers) == 1
    [(refs, _)] = answers
    assert set(refs) == {CITALOPRAM, citalopram_amp, SERTRALINE_NOW}


def test_a_concept_nothing_places_is_reported_not_passed(bundled: RuleSet) -> None:
    """Aricept 5mg tablets (Eisai) is in the bundled extract by name only: no dm+d level, no
    VMP or VTM, and no group lists it. No rule could match it, so it is not 'checked'."""
    result = check(
        CheckRequest(
            (MedicationEntry("m1", "734511000001105"), MedicationEntry("m2", "322236009"))
        ),
        bundled,
    )
    assert [(u.entry.ref, u.reason) for u in result.unresolved] == [
        ("m1", UnresolvedReason.NOT_PLACED)
    ]
    assert not result.complete
    # Paracetamol 500mg tablets is placed under its VTM: it resolves and is screened.
    assert [m.entry.ref for m in result.resolved] == ["m2"]


def test_a_monitoring_rule_asks_for_results_it_cannot_see(bundled: RuleSet) -> None:
    """Lithium for 18 months, no results sent: the level is not assumed missing, it is asked."""
    as_of = datetime.date(2026, 12, 1)
    result = check(
        CheckRequest(
            (MedicationEntry("m1", "13177001000001108", start_date="2025-06-01"),),
            PatientContext(age_years=60),
            as_of=as_of,
        ),
        bundled,
    )
    asked = {n.rule_id: n.missing for n in result.not_evaluated}
    assert asked["MON-LITHIUM-LEVEL"] == ("results of a lithium level since 2026-09-01",)
    assert question(asked["MON-LITHIUM-LEVEL"][0]).startswith(
        "Send the patient's results of a lithium level since 2026-09-01"
    )
    assert "MON-LITHIUM-LEVEL" not in {f.rule_id for f in result.findings}


def test_the_prescribing_moment_puts_the_proposed_medicine_first_and_can_filter(
    bundled: RuleSet,
) -> None:
    """Warfarin and naproxen are current; amiodarone is being prescribed now."""
    medications = (
        MedicationEntry("m1", "319733000"),  # warfarin
        MedicationEntry("m2", "329806007"),  # naproxen
        MedicationEntry("m3", "13177001000001108"),  # lithium, current
        MedicationEntry("m4", "318901006", status=MedicationStatus.PROPOSED),  # ramipril
    )
    patient = PatientContext(age_years=70, egfr=80)
    everything = check(CheckRequest(medications, patient), bundled)
    assert any(not f.involves_proposed for f in everything.findings)
    proposed = [f.involves_proposed for f in everything.findings]
    assert proposed == sorted(proposed, reverse=True)  # proposed first
    moment = check(CheckRequest(medications, patient, proposed_only=True), bundled)
    assert moment.findings and all(f.involves_proposed for f in moment.findings)
    assert all("m4" in n.medication_refs for n in moment.not_evaluated)
    severe = check(CheckRequest(medications, patient, minimum_severity="severe"), bundled)
    assert severe.findings and all(f.severity == "severe" for f in severe.findings)
    assert {f.rule_id for f in severe.findings} <= {f.rule_id for f in everything.findings}


def test_a_monitoring_rule_with_patient_facts_asks_for_both_in_clause_order(
    bundled: RuleSet,
) -> None:
    """Ramipril for 2.5 years, no age, no results: PINCER AC asks for the age, then the
    results, in the order the columnar evaluator applies its filters (monitoring last)."""
    result = check(
        CheckRequest(
            (MedicationEntry("m1", "318901006", start_date="2024-06-01"),),
            PatientContext(),
            as_of=datetime.date(2026, 12, 1),
        ),
        bundled,
    )
    asked = {n.rule_id: n.missing for n in result.not_evaluated}
    assert asked["MON-PINCER-AC-RENAL"] == (
        "age_years",
        "results of a renal function test (creatinine or eGFR) since 2025-08-31",
    )
