"""Patient exceptions (failed switch, decline, unlicensed indication), effective dates and the
estimated saving.

The licence and price fixtures below are NOT real product data: they exist to exercise the
mechanism. The condition code is a real SNOMED CT code (84114007 heart failure) used only as a
stand-in indication, because no verified biosimilar licence gap with a code is in the table.
"""

from __future__ import annotations

import dataclasses
import datetime
from types import MappingProxyType

import pytest

from medsopt.dmd.index import DmdIndex
from medsopt.engine import PatientContext
from medsopt.engine.request import BiologicException, BiologicExceptionKind
from medsopt.formulary.biosimilars import Price, compile_biosimilars
from medsopt.formulary.equivalence import annual_saving
from medsopt.formulary.models import BiosimilarPreference, PreferredBrand, ProductRef
from medsopt.rules.ruleset import RuleSet
from tests.biosimilar.conftest import biosimilar, only, run, with_preferences, with_table

HUMIRA_PEN, AMGEVITA_PEN, HULIO_PEN = "11188011000001105", "36005111000001108", "36084111000001108"
ADALIMUMAB = "398728003"
STAND_IN_CONDITION = "84114007"
FAILED = BiologicExceptionKind.FAILED_SWITCH
DECLINED = BiologicExceptionKind.DECLINED

VMP = "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices"
FIXTURE = f"""molecule:
  code: "398728003"
  name: Adalimumab
  reference_product: Humira
  citations: [{{source: test fixture, reference: not real product data}}]
  generics:
    - {{code: "11236911000001103", name: {VMP}}}
  brands:
    - {{name: Humira, role: originator}}
    - name: Amgevita
      role: biosimilar
      not_licensed_for:
        - indication: stand-in indication
          codes: [{{code: "84114007", name: Heart failure}}]
          source: test fixture
    - name: Hulio
      role: biosimilar
      not_licensed_for: [{{indication: a text-only indication, source: test fixture}}]
  products:
    - code: "11188011000001105"
      name: Humira 40mg/0.8ml solution for injection pre-filled pens (AbbVie Ltd)
      brand: Humira
      generic: "11236911000001103"
      strength: 40mg
      volume_ml: 0.8
      route: subcutaneous
      presentation: pre-filled-pen
      usual_dose_interval_days: 14
      price: {{gbp: 200, per: pack, doses_per_pack: 2, source: fixture list, as_of: 2026-11-01}}
    - code: "36005111000001108"
      name: Amgevita 40mg/0.8ml solution for injection pre-filled pens (Amgen Ltd)
      brand: Amgevita
      generic: "11236911000001103"
      strength: 40mg
      volume_ml: 0.8
      route: subcutaneous
      presentation: pre-filled-pen
      price: {{gbp: 40, per: dose, source: fixture tender, as_of: 2026-11-01}}
    - code: "36084111000001108"
      name: Hulio 40mg/0.8ml solution for injection pre-filled pens (Mylan)
      brand: Hulio
      generic: "11236911000001103"
      strength: 40mg
      volume_ml: 0.8
      route: subcutaneous
      presentation: pre-filled-pen
"""


@pytest.fixture(scope="module")
def fixture_set(ruleset: RuleSet, dmd: DmdIndex) -> RuleSet:
    """Adalimumab only, with prices and licence exclusions; Amgevita then Hulio preferred."""
    preferred = with_preferences(ruleset, {ADALIMUMAB: ["Amgevita", "Hulio"]})
    table = compile_biosimilars({"adalimumab.yaml": FIXTURE}, dmd)
    return with_table(preferred, table, preferred.formulary)


def exception(
    kind: BiologicExceptionKind, expires: str | None = None, code: str = ADALIMUMAB
) -> PatientContext:
    return PatientContext(biologic_exceptions=(BiologicException(code, kind, expires),))


def test_a_failed_switch_suppresses_switch_findings(ruleset: RuleSet) -> None:
    assert biosimilar(run(ruleset, HUMIRA_PEN, patient=exception(FAILED))) == []
    assert biosimilar(run(ruleset, "19687311000001100", patient=exception(FAILED))) == []


def test_a_failed_switch_may_be_recorded_against_any_code_of_the_molecule(
    ruleset: RuleSet,
) -> None:
    patient = exception(FAILED, code=HUMIRA_PEN)
    assert biosimilar(run(ruleset, HUMIRA_PEN, patient=patient)) == []


def test_a_failed_switch_for_another_molecule_changes_nothing(ruleset: RuleSet) -> None:
    patient = exception(FAILED, code="118259007")  # etanercept
    assert only(run(ruleset, HUMIRA_PEN, patient=patient), "BIOSIMILAR-SWITCH").severity == "mild"


def test_an_expired_failed_switch_no_longer_suppresses(ruleset: RuleSet) -> None:
    patient = exception(FAILED, "2026-06-01")
    result = run(ruleset, HUMIRA_PEN, patient=patient, as_of=datetime.date(2026, 12, 1))
    finding = only(result, "BIOSIMILAR-SWITCH")
    assert "failed-switch recorded for Adalimumab until 2026-06-01: expired" in finding.conditions


def test_a_failed_switch_removes_suggestions_from_a_generic_prescription(
    ruleset: RuleSet,
) -> None:
    result = run(ruleset, "11236911000001103", patient=exception(FAILED))
    finding = only(result, "BIOSIMILAR-PRESCRIBE-BY-BRAND")
    assert finding.suggestions == ()
    assert "brand the patient is established on" in finding.detail


@pytest.mark.parametrize(
    ("expires", "as_of", "severity", "text"),
    [
        ("2027-06-01", datetime.date(2026, 12, 1), "info", "offer it again after that date"),
        ("2027-06-01", datetime.date(2027, 6, 1), "mild", None),  # expires that day
        ("2027-06-01", None, "info", "with no as-of date the decline is taken as in force"),
        (None, datetime.date(2030, 1, 1), "info", "no expiry recorded"),
    ],
    ids=["in-force", "expired", "no-as-of", "no-expiry"],
)
def test_a_decline_softens_until_it_expires(
    ruleset: RuleSet,
    expires: str | None,
    as_of: datetime.date | None,
    severity: str,
    text: str | None,
) -> None:
    result = run(ruleset, HUMIRA_PEN, patient=exception(DECLINED, expires), as_of=as_of)
    finding = only(result, "BIOSIMILAR-SWITCH")
    assert finding.severity == severity
    assert finding.suggestions  # softened, not hidden
    if text is None:
        assert "declined" not in finding.detail
    else:
        assert text in finding.detail


def test_a_coded_unlicensed_indication_removes_that_brand(fixture_set: RuleSet) -> None:
    ill = PatientContext(condition_codes=(STAND_IN_CONDITION,))
    finding = only(run(fixture_set, HUMIRA_PEN, patient=ill), "BIOSIMILAR-SWITCH")
    assert [s.code for s in finding.suggestions] == [HULIO_PEN]  # Amgevita is ruled out
    well = only(run(fixture_set, HUMIRA_PEN), "BIOSIMILAR-SWITCH")
    assert [s.code for s in well.suggestions] == [AMGEVITA_PEN, HULIO_PEN]


def test_when_every_preferred_brand_is_unlicensed_the_suggestion_is_suppressed(
    fixture_set: RuleSet,
) -> None:
    amgevita_only = with_preferences(fixture_set, {ADALIMUMAB: ["Amgevita"]})
    ill = PatientContext(condition_codes=(STAND_IN_CONDITION,))
    result = run(amgevita_only, HUMIRA_PEN, patient=ill)
    assert [f.rule_id for f in biosimilar(result)] == ["BIOSIMILAR-NO-EQUIVALENT"]
    assert "Amgevita is not licensed for stand-in indication (the patient has 84114007)" in (
        result.findings[-1].detail
    )


def test_a_text_only_exclusion_is_shown_not_checked(fixture_set: RuleSet) -> None:
    finding = only(run(fixture_set, HUMIRA_PEN), "BIOSIMILAR-SWITCH")
    hulio = finding.suggestions[1]
    assert "not licensed for a text-only indication (not machine-checked" in hulio.reason


def test_the_saving_is_estimated_when_prices_and_interval_are_known(fixture_set: RuleSet) -> None:
    finding = only(run(fixture_set, HUMIRA_PEN), "BIOSIMILAR-SWITCH")
    # (£100 - £40) a dose x 365.25 / 14 doses a year = £1,565.36.
    assert "Estimated annual saving: £1,565.36 a year (26.1 doses a year at one every 14 days" in (
        finding.detail
    )
    assert "estimated annual saving £1,565.36" in finding.suggestions[0].reason
    table = fixture_set.biosimilars
    assert table is not None
    _, text = annual_saving(table.products[HUMIRA_PEN], table.products[HULIO_PEN])
    assert text == "unknown (no price recorded for Hulio 40mg pre-filled pen)"


def test_the_saving_is_unknown_without_an_interval_and_negative_when_dearer(
    fixture_set: RuleSet,
) -> None:
    table = fixture_set.biosimilars
    assert table is not None
    humira, amgevita = table.products[HUMIRA_PEN], table.products[AMGEVITA_PEN]
    no_interval = dataclasses.replace(
        humira, entry=humira.entry.model_copy(update={"usual_dose_interval_days": None})
    )
    assert annual_saving(no_interval, amgevita) == (
        None,
        "unknown (no usual dosing interval recorded for Humira 40mg pre-filled pen)",
    )
    dear = Price(gbp=250, per="dose", source="fixture", as_of=datetime.date(2026, 11, 1))
    dearer = dataclasses.replace(amgevita, entry=amgevita.entry.model_copy(update={"price": dear}))
    saving, text = annual_saving(humira, dearer)
    assert saving is not None
    assert saving < 0
    assert text.startswith("none: £3,913.39 a year more")  # (£250 - £100) x 365.25 / 14


def test_preferences_follow_their_effective_dates(ruleset: RuleSet) -> None:
    assert ruleset.formulary is not None
    preference = BiosimilarPreference(
        molecule=ProductRef(code="126212009", name="Insulin glargine"),
        preferred=(
            PreferredBrand(
                brand="Abasaglar",
                effective_from=datetime.date(2027, 1, 1),
                effective_to=datetime.date(2027, 12, 31),
            ),
        ),
    )
    formulary = dataclasses.replace(
        ruleset.formulary,
        biosimilars=MappingProxyType({**ruleset.formulary.biosimilars, "126212009": preference}),
    )
    dated = dataclasses.replace(ruleset, formulary=formulary)
    semglee = "36082811000001107"  # a biosimilar: flagged only while another brand is preferred
    assert biosimilar(run(dated, semglee, as_of=datetime.date(2026, 12, 31))) == []
    assert biosimilar(run(dated, semglee, as_of=datetime.date(2027, 1, 1)))
    assert biosimilar(run(dated, semglee, as_of=datetime.date(2027, 12, 31)))
    assert biosimilar(run(dated, semglee, as_of=datetime.date(2028, 1, 1))) == []
