"""The `match:` of a rule: each clause a committee can write, validated at the file edge."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from medsopt.authoring.fields import FileModel, Identifier

Severity = Literal["severe", "moderate", "mild", "info"]
Egfr = Annotated[float, Field(ge=0, le=250)]

# Placeholders any rule's detail and recommendation may use; filled per patient by the engine.
PLACEHOLDERS = frozenset({"medicines", "age", "egfr", "count", "total", "contributors"})
# Placeholders filled by a per-medicine clause, usable only by rules that have that clause.
FORMULARY_PLACEHOLDERS = frozenset({"formulary_status", "formulary_version", "restrictions"})
BIOSIMILAR_PLACEHOLDERS = frozenset(
    {
        "product",
        "preference",
        "suggested",
        "saving",
        "why",
        "prescribed_as",
        "molecule",
        "advice",
        "decline",
    }
)


class Duplicate(FileModel):
    """At least `min_distinct` different molecules from one group."""

    group: Identifier
    min_distinct: Annotated[int, Field(ge=2, le=10)] = 2


class PatientCriteria(FileModel):
    """Patient facts a rule needs; absent facts make the rule 'not evaluated', never 'fired'."""

    age_at_least: Annotated[int, Field(ge=0, le=130)] | None = None
    age_below: Annotated[int, Field(ge=1, le=131)] | None = None
    egfr_below: Egfr | None = None
    egfr_at_least: Egfr | None = None
    sex: Literal["female", "male"] | None = None
    pregnant: bool | None = None
    # At least one of these condition groups recorded.
    conditions_any: tuple[Identifier, ...] = ()
    # Every one of these condition groups recorded (e.g. diabetes and chronic kidney disease).
    conditions_all: tuple[Identifier, ...] = ()
    # None of these condition groups recorded.
    conditions_none: tuple[Identifier, ...] = ()


class Applicability(FileModel):
    """Whom a rule can apply to. For anyone else it is skipped: neither fired nor 'not evaluated',
    so the answer never asks for data that cannot matter (a man's pregnancy status).

    A patient whose sex or age is not recorded is included: exclusion needs a known fact.
    """

    sex: tuple[Literal["female", "male"], ...] = ()  # empty: any sex
    age_at_least: Annotated[int, Field(ge=0, le=130)] | None = None
    age_below: Annotated[int, Field(ge=1, le=131)] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Applicability:
        if not (self.sex or self.age_at_least is not None or self.age_below is not None):
            raise ValueError("applies_to needs sex, age_at_least or age_below")
        return self


class MedicineCount(FileModel):
    """At least `at_least` distinct molecules on the list (in `group`, if given).

    Molecules, not packs: two brands or strengths of one VTM count once.
    """

    at_least: Annotated[int, Field(ge=2, le=100)]
    group: Identifier | None = None
    exclude_groups: tuple[Identifier, ...] = ()


class ScoreTotal(FileModel):
    """The patient's total on a scale (e.g. anticholinergic burden) is at least `at_least`."""

    scale: Identifier
    at_least: Annotated[int, Field(ge=1, le=100)]


class Duration(FileModel):
    """A medicine of `group` has been taken for at least `at_least_days` (needs start_date)."""

    group: Identifier
    at_least_days: Annotated[int, Field(ge=1, le=3650)]


class FormularyPosition(FileModel):
    """A medicine's place in the local formulary; the rule fires once per such medicine.

    One position per medicine, in this order: non-formulary, hospital-only,
    specialist-initiation (proposed medicines only), second-line (a second- or third-line
    choice with no first-line medicine of its therapeutic class on the list).
    """

    position: Literal["non-formulary", "hospital-only", "specialist-initiation", "second-line"]


class BiosimilarChoice(FileModel):
    """A biologic's brand choice (formulary/biosimilars/); the rule fires once per medicine.

    `switch`: a best-value brand has a matching product; `no-equivalent`: a biosimilar exists
    for the route and strength but no preferred product can be suggested; `prescribe-by-brand`:
    a biologic prescribed as a generic VMP or a VTM.
    """

    outcome: Literal["switch", "no-equivalent", "prescribe-by-brand"]
    # The severity while a recorded patient decline is in force (the suggestion is softened).
    declined_severity: Severity | None = None


class Monitoring(FileModel):
    """A test is due: no result of `tests` (a test group) within `within_days` before the as-of
    date. Not evaluated (asked) unless the request says from when its results are complete."""

    tests: Identifier
    within_days: Annotated[int, Field(ge=1, le=3650)]


class Match(FileModel):
    """What must be true of the patient's medicines and context for the rule to fire."""

    all_of: tuple[Identifier, ...] = ()
    none_of: tuple[Identifier, ...] = ()
    duplicate: Duplicate | None = None
    count: MedicineCount | None = None
    score: ScoreTotal | None = None
    duration: Duration | None = None
    patient: PatientCriteria | None = None
    formulary: FormularyPosition | None = None
    biosimilar: BiosimilarChoice | None = None
    # Whom the rule can apply to at all (e.g. pregnancy rules: females aged 12-55).
    applies_to: Applicability | None = None
    # A monitoring test due for a medicine on the list (category monitoring).
    monitoring: Monitoring | None = None

    @property
    def per_medicine(self) -> bool:
        """True when the rule fires once per matching medicine (formulary, biosimilar)."""
        return self.formulary is not None or self.biosimilar is not None

    @property
    def has_medicine_trigger(self) -> bool:
        """True when the rule needs some medicine on the list to fire."""
        return bool(
            self.all_of
            or self.duplicate
            or self.count
            or self.score
            or self.duration
            or self.per_medicine
        )

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders a rule with this match may use in its text."""
        extra = frozenset[str]()
        if self.formulary is not None:
            extra |= FORMULARY_PLACEHOLDERS
        if self.biosimilar is not None:
            extra |= BIOSIMILAR_PLACEHOLDERS
        return PLACEHOLDERS | extra

    @model_validator(mode="after")
    def _needs_something(self) -> Match:
        if self.per_medicine:
            others = [
                name
                for name in ("all_of", "none_of", "duplicate", "count", "score", "duration")
                if getattr(self, name)
            ]
            if self.monitoring is not None:
                others.append("monitoring")
            if self.formulary is not None and self.biosimilar is not None:
                others.append("formulary")
            if others:
                raise ValueError(
                    f"a formulary or biosimilar match stands alone; remove {', '.join(others)}"
                )
            return self
        if not (self.has_medicine_trigger or self.patient):
            raise ValueError(
                "match needs all_of, duplicate, count, score, duration or patient criteria"
            )
        if self.monitoring is not None and not self.has_medicine_trigger:
            raise ValueError("monitoring needs the medicine it is for (all_of, duration, ...)")
        if not self.has_medicine_trigger and not self.none_of:
            raise ValueError("a rule without a medicine trigger needs none_of (an omission)")
        return self
