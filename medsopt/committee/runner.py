"""Run committee cases against a compiled rule set and check every active rule is tested."""

from __future__ import annotations

from dataclasses import dataclass

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind
from medsopt.committee.both_evaluators import Answer, columnar_answers, point_of_care_answer
from medsopt.committee.cases import LocatedCase
from medsopt.engine.lookups import build_lookups
from medsopt.engine.point_of_care import check
from medsopt.engine.validation import validate_request
from medsopt.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class CaseFailure:
    """A case whose outcome differed from what the committee expected."""

    case: LocatedCase
    problems: tuple[str, ...]
    fired: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"{self.case.file}:{self.case.line}: FAIL {self.case.case.name}"]
        lines += [f"    {problem}" for problem in self.problems]
        lines.append(f"    fired: {', '.join(self.fired) or '(nothing)'}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RunReport:
    """Outcome of a committee test run."""

    passed: int
    failures: tuple[CaseFailure, ...]
    coverage_problems: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.coverage_problems


def run_case(
    located: LocatedCase, ruleset: RuleSet, columnar: Answer | None = None
) -> CaseFailure | None:
    """None when the case passes, else what went wrong.

    `columnar`: the case's answer from the columnar evaluator, which must equal the
    point-of-care answer (see `both_evaluators`).
    """
    request = located.request()
    problems = [
        f"invalid test patient: {v.field}: {v.description}" for v in validate_request(request)
    ]
    if problems:
        return CaseFailure(located, tuple(problems), ())
    result = check(request, ruleset)
    # A rule fired when it is behind a finding, alone or as one source of a concern's card.
    fired = tuple(
        sorted(
            {f.rule_id for f in result.findings}
            | {s.rule_id for f in result.findings for s in f.sources}
        )
    )
    problems += [
        f"medication {u.entry.ref} ({u.entry.code}) did not resolve: {u.message}"
        for u in result.unresolved
    ]
    case = located.case
    for rule_id in case.expect_fired:
        if rule_id not in fired:
            waiting = [n for n in result.not_evaluated if n.rule_id == rule_id]
            why = f" (not evaluated: missing {', '.join(waiting[0].missing)})" if waiting else ""
            problems.append(f"expected {rule_id} to fire, it did not{why}")
    problems += [
        f"expected {rule_id} not to fire, it fired"
        for rule_id in case.expect_not_fired
        if rule_id in fired
    ]
    asked = {n.rule_id: n for n in result.not_evaluated}
    for rule_id in case.expect_skipped:
        if rule_id in fired:
            problems.append(f"expected {rule_id} to be skipped (cannot apply), it fired")
        elif rule_id in asked:
            problems.append(
                f"expected {rule_id} to be skipped (cannot apply), it asked for "
                f"{', '.join(asked[rule_id].missing)}"
            )
    if columnar is not None:
        problems += _disagreements(point_of_care_answer(result), columnar)
    return CaseFailure(located, tuple(problems), fired) if problems else None


def _disagreements(point_of_care: Answer, columnar: Answer) -> list[str]:
    """How the columnar answer differs from the point-of-care one (empty when equal)."""
    problems = []
    for what, ours, theirs in (
        ("finding", point_of_care[0], columnar[0]),
        ("not evaluated", point_of_care[1], columnar[1]),
    ):
        problems += [
            f"columnar evaluator lacks {what} {item}" for item in sorted(ours - theirs, key=str)
        ]
        problems += [
            f"columnar evaluator adds {what} {item}" for item in sorted(theirs - ours, key=str)
        ]
    return problems


def coverage(cases: tuple[LocatedCase, ...], ruleset: RuleSet) -> tuple[Diagnostic, ...]:
    """An active rule needs a case where it fires and one where it must not."""
    fires = {rule_id for c in cases for rule_id in c.case.expect_fired}
    silent = {
        rule_id for c in cases for rule_id in (*c.case.expect_not_fired, *c.case.expect_skipped)
    }
    problems = []
    for rule_id, compiled in sorted(ruleset.rules.items()):
        if compiled.rule.status != "active":
            continue  # drafts run under --include-drafts but need no cases until published
        missing = [
            word for word, ids in (("firing", fires), ("non-firing", silent)) if rule_id not in ids
        ]
        if missing:
            problems.append(
                Diagnostic(
                    compiled.file,
                    compiled.line,
                    1,
                    DiagnosticKind.UNTESTED_RULE,
                    f"active rule {rule_id} has no {' and no '.join(missing)} test case",
                    expected="cases in rules/tests/ with expect_fired and expect_not_fired",
                )
            )
    known = set(ruleset.rules) | set(ruleset.inactive)
    for c in cases:
        for rule_id in (*c.case.expect_fired, *c.case.expect_not_fired, *c.case.expect_skipped):
            if rule_id not in known:
                problems.append(
                    Diagnostic(
                        c.file,
                        c.line,
                        1,
                        DiagnosticKind.UNKNOWN_REFERENCE,
                        f"case {c.case.name!r} refers to unknown rule {rule_id}",
                    )
                )
    return tuple(sorted(problems))


def run_all(cases: tuple[LocatedCase, ...], ruleset: RuleSet) -> RunReport:
    """Run every case through both evaluators, and the coverage check.

    The columnar evaluator (the population scan's) must give each case the same answer as the
    point-of-care engine; a case where they disagree fails.
    """
    columnar = columnar_answers(cases, ruleset, build_lookups(ruleset, None))
    failures = tuple(
        f
        for f in (run_case(c, ruleset, columnar.get(i)) for i, c in enumerate(cases))
        if f is not None
    )
    return RunReport(len(cases) - len(failures), failures, coverage(cases, ruleset))
