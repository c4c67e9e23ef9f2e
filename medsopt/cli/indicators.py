"""Indicator files in `medsopt rules check` and `rules test`: compiled with file:line:column
diagnostics, then (for `rules test`) their committee cases run through the scan's own path."""

from __future__ import annotations

import sys

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.rules.ruleset import RuleSet
from medsopt.store.locations import Locations

EXIT_OK = 0
EXIT_INVALID = 1
LABEL = "indicators/"  # diagnostics name files relative to the rules directory


def check_indicators(
    locations: Locations, ruleset: RuleSet, run_cases: bool, quiet: bool = False
) -> int:
    """0 when the indicator files compile (and, with `run_cases`, their cases pass and every
    active indicator is tested); 1 with diagnostics otherwise. No indicators/ directory: 0.

    `quiet`: print nothing when all is well (publishing says only what it published).
    """
    from medsopt.cli.committee import print_case_report
    from medsopt.scan.analytics_inputs import read_indicators
    from medsopt.scan.indicator_cases import read_indicator_cases, run_indicator_cases

    directory = locations.rules_dir / "indicators"
    if not directory.is_dir():
        return EXIT_OK
    try:
        indicators = read_indicators(directory, ruleset, LABEL)
    except RuleSetError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"indicators: {len(error.diagnostics)} error(s)", file=sys.stderr)
        return EXIT_INVALID
    active = sum(i.status == "active" for i in indicators.indicators)
    if not run_cases:
        if quiet:
            return EXIT_OK
        print(f"ok: {len(indicators.indicators)} indicators ({active} active)")
        return EXIT_OK
    cases, problems = read_indicator_cases(directory, LABEL)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_INVALID
    report = run_indicator_cases(cases, indicators, ruleset, locations)
    if quiet and report.ok:
        return EXIT_OK
    print_case_report(report, "indicators: ")
    return EXIT_OK if report.ok else EXIT_INVALID
