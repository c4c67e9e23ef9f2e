"""Committee test cases for indicators (rules/indicators/tests/*.yaml): a patient on a date and
where each named indicator must count them.

An outcome is `numerator` (in the denominator and the numerator: for a QOF indicator the goal
met, for PINCER the hazard), `not-numerator` (in the denominator only), `excluded:<reason>`
(met the denominator, then the exclusion with that reason held first) or `outside` (not in the
denominator). Every active indicator needs a `numerator` and a `not-numerator` case, and an
`excluded:<reason>` case for each of its exclusions, before it can be published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StringConstraints

from medsopt.analytics.compile import IndicatorSet
from medsopt.analytics.models import IndicatorId
from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind
from medsopt.authoring.fields import FileModel, SctIdText, Text
from medsopt.authoring.validate import validated_files
from medsopt.rules.match import Egfr
from medsopt.rules.models import Date

TESTS_DIR = "tests/"  # beside the indicator files
OUTCOME_PATTERN = r"^(numerator|not-numerator|outside|excluded:[a-z0-9][a-z0-9-]*)$"
Outcome = Annotated[str, StringConstraints(pattern=OUTCOME_PATTERN)]


class CaseEvent(FileModel):
    """A dated coded event of the test patient (a diagnosis, a result, a review)."""

    code: SctIdText
    date: Date
    value: float | None = None
    note: str = ""


class CaseItem(FileModel):
    """A dispensed item of the test patient."""

    code: str
    date: Date
    quantity: Annotated[float, Field(gt=0)] = 28
    note: str = ""


class CasePatient(FileModel):
    """The test patient's file: age, eGFR and undated problem-list codes."""

    age: Annotated[int, Field(ge=0, le=130)] | None = None
    egfr: Egfr | None = None
    conditions: tuple[SctIdText, ...] = ()


class IndicatorCase(FileModel):
    """A patient on `as_of` and the outcome expected for each named indicator."""

    name: Text
    as_of: Date
    patient: CasePatient = CasePatient()
    events: tuple[CaseEvent, ...] = ()
    dispensed: tuple[CaseItem, ...] = ()
    expect: Annotated[dict[IndicatorId, Outcome], Field(min_length=1)]


class IndicatorTestFile(FileModel):
    """A YAML file under rules/indicators/tests/."""

    cases: Annotated[tuple[IndicatorCase, ...], Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class LocatedIndicatorCase:
    """A case and where it is written."""

    case: IndicatorCase
    file: str
    line: int


def parse_indicator_cases(
    sources: Mapping[str, str],
) -> tuple[tuple[LocatedIndicatorCase, ...], tuple[Diagnostic, ...]]:
    """Every case in {path: YAML text}, and every problem in those files (file:line:column)."""
    cases: list[LocatedIndicatorCase] = []
    problems: list[Diagnostic] = []
    for path, model, source_map in validated_files(sources, sources, IndicatorTestFile, problems):
        for index, case in enumerate(model.cases):
            line, _ = source_map.locate(("cases", index))
            cases.append(LocatedIndicatorCase(case, path, line))
    return tuple(cases), tuple(problems)


def coverage(
    cases: tuple[LocatedIndicatorCase, ...], indicators: IndicatorSet
) -> tuple[Diagnostic, ...]:
    """Active indicators lacking a case, and cases naming an unknown indicator or reason."""
    seen = {(i, outcome) for c in cases for i, outcome in c.case.expect.items()}
    by_id = {i.id: i for i in indicators.indicators}
    problems = []
    for indicator in indicators.indicators:
        if indicator.status != "active":
            continue  # drafts run under --include-drafts but need no cases until published
        excluded = [f"excluded:{e.reason}" for e in indicator.exclusions]
        wanted = ["numerator", "not-numerator", *excluded]
        missing = [outcome for outcome in wanted if (indicator.id, outcome) not in seen]
        if missing:
            problems.append(
                Diagnostic(
                    indicators.files[indicator.id],
                    indicators.lines.get(indicator.id, 1),
                    1,
                    DiagnosticKind.UNTESTED_RULE,
                    f"active indicator {indicator.id} has no {', '.join(missing)} test case",
                    expected="cases in indicators/tests/ expecting each of " + ", ".join(wanted),
                )
            )
    for located in cases:
        for indicator_id, outcome in located.case.expect.items():
            known = by_id.get(indicator_id)
            if known is None:
                problems.append(
                    _case_problem(located, f"refers to unknown indicator {indicator_id}")
                )
                continue
            reason = outcome.removeprefix("excluded:")
            reasons = [e.reason for e in known.exclusions]
            if outcome.startswith("excluded:") and reason not in reasons:
                problems.append(
                    _case_problem(
                        located,
                        f"expects {indicator_id} to exclude for {reason!r}, which it does not name",
                        expected=", ".join(reasons) or "no exclusion: the indicator has none",
                    )
                )
    return tuple(sorted(problems))


def _case_problem(located: LocatedIndicatorCase, message: str, expected: str = "") -> Diagnostic:
    return Diagnostic(
        located.file,
        located.line,
        1,
        DiagnosticKind.UNKNOWN_REFERENCE,
        f"case {located.case.name!r} {message}",
        expected=expected,
    )
