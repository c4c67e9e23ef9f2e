"""`medsopt rules check`, `rules test`, `rules publish` and `rules docs`."""

from __future__ import annotations

import datetime
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.committee.cases import parse_cases
from medsopt.committee.runner import run_all
from medsopt.dmd.release.files import DmdExtractError
from medsopt.rules.compile import Compiled
from medsopt.store.activate import CommitteeTestsFailedError, Locations, compile_sources

EXIT_OK = 0
EXIT_INVALID = 1  # the rule set does not compile, or its committee tests fail or miss a rule
# 2 is the option parser's (typer/click) "bad option"; a failed check must never look like one.


class CaseReport(Protocol):
    """What a run of committee cases reports (rule cases, indicator cases)."""

    @property
    def passed(self) -> int: ...
    @property
    def failures(self) -> Sequence[object]: ...
    @property
    def coverage_problems(self) -> Sequence[object]: ...


def print_case_report(report: CaseReport, label: str = "") -> None:
    """Each failure and coverage problem, then the counts (`label` names what was tested)."""
    for failure in report.failures:
        print(failure)
    for problem in report.coverage_problems:
        print(problem)
    print(
        f"{label}{report.passed} passed, {len(report.failures)} failed; "
        f"{len(report.coverage_problems)} coverage problem(s)"
    )


def _compile(
    locations: Locations, include_drafts: bool = False
) -> tuple[Compiled, dict[str, str]] | int:
    try:
        compiled, sources = compile_sources(locations, include_drafts)
    except DmdExtractError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except RuleSetError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"{len(error.diagnostics)} error(s)", file=sys.stderr)
        return EXIT_INVALID
    for warning in compiled.warnings:
        print(warning, file=sys.stderr)
    return compiled, sources


def run_rules_check(locations: Locations) -> int:
    """Exit code 0 when the rule set compiles, 1 with diagnostics otherwise."""
    outcome = _compile(locations)
    if isinstance(outcome, int):
        return outcome
    compiled, _ = outcome
    ruleset = compiled.ruleset
    print(
        f"ok: {ruleset.identity.name} {ruleset.identity.version}: {len(ruleset.rules)} active "
        f"rules, {len(ruleset.inactive)} draft/retired, {len(ruleset.groups)} groups, "
        f"{len(compiled.warnings)} warning(s)"
    )
    from medsopt.cli.indicators import check_indicators

    return check_indicators(locations, ruleset, run_cases=False)


def run_rules_test(locations: Locations, include_drafts: bool = False) -> int:
    """Exit code 0 when every case passes and every active rule is covered, 1 otherwise."""
    outcome = _compile(locations, include_drafts)
    if isinstance(outcome, int):
        return outcome
    compiled, sources = outcome
    cases, problems = parse_cases(sources)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_INVALID
    report = run_all(cases, compiled.ruleset)
    print_case_report(report)
    from medsopt.cli.indicators import check_indicators

    indicators = check_indicators(locations, compiled.ruleset, run_cases=True)
    return EXIT_OK if report.ok and indicators == EXIT_OK else EXIT_INVALID


def run_rules_publish(locations: Locations) -> int:
    """Check, run the committee tests (the indicators' too) and, only if all pass, write the
    manifest the server verifies (rules/PUBLISHED.json). Exit code 0 when published, 1
    otherwise."""
    from medsopt.cli.indicators import check_indicators
    from medsopt.store.publish import FilesChangedError, publish

    # Indicators are published with the rules (their files are in the manifest), so their
    # files must compile and their committee cases pass too.
    outcome = _compile(locations)
    if isinstance(outcome, int) or check_indicators(
        locations, outcome[0].ruleset, run_cases=True, quiet=True
    ):
        print("not published", file=sys.stderr)
        return EXIT_INVALID
    try:
        published = publish(locations)
    except RuleSetError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"not published: {len(error.diagnostics)} error(s)", file=sys.stderr)
        return EXIT_INVALID
    except (CommitteeTestsFailedError, DmdExtractError, FilesChangedError) as error:
        print(error, file=sys.stderr)
        print("not published", file=sys.stderr)
        return EXIT_INVALID
    print(
        f"published {published.name} {published.version}: {published.files} files in "
        f"{locations.rules_dir / 'PUBLISHED.json'} (sha256 {published.manifest_sha256[:12]})"
    )
    return EXIT_OK


def run_rules_docs(locations: Locations, out: Path, today: datetime.date) -> int:
    """Write the HTML catalogue into `out` (built aside, then renamed into place)."""
    from medsopt.reports.catalogue import render_catalogue

    outcome = _compile(locations)
    if isinstance(outcome, int):
        return outcome
    compiled, sources = outcome
    cases, problems = parse_cases(sources)
    for problem in problems:
        print(problem, file=sys.stderr)
    pages = render_catalogue(compiled.ruleset, cases, today)
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for relative, html in pages.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    print(f"wrote {len(pages)} pages to {out}/index.html")
    return EXIT_OK
