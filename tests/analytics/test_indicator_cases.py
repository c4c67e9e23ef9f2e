"""Committee tests for indicators: `medsopt rules test` runs rules/indicators/tests/*.yaml
through the scan's own path and fails on a wrong outcome or an untested active indicator;
`rules check` names a bad indicator file's problems at file:line:column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medsopt.analytics.cases import coverage, parse_indicator_cases
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import read_indicators
from medsopt.scan.indicator_cases import read_indicator_cases, run_indicator_cases
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

LOCATIONS = Locations(BUNDLED_RULES, BUNDLED_FORMULARY)


def medsopt(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "medsopt", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the bundled rules a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, target)
    return target


def test_every_bundled_indicator_case_passes_and_covers(bundled: RuleSet) -> None:
    indicators = read_indicators(BUNDLED_RULES / "indicators", bundled)
    cases, problems = read_indicator_cases(BUNDLED_RULES / "indicators")
    assert problems == ()
    report = run_indicator_cases(cases, indicators, bundled, LOCATIONS)
    assert [str(f) for f in report.failures] == []
    assert report.coverage_problems == ()
    outcomes = {o for c in cases for o in c.case.expect.values()}
    assert {"numerator", "not-numerator", "outside", "excluded:palliative-care"} <= outcomes


def test_rules_test_fails_on_a_wrong_outcome(rules: Path) -> None:
    cases = rules / "indicators/tests/qof.yaml"
    text = cases.read_text()
    wrong = "expect: {VAS1: numerator}"
    assert text.count(wrong) == 1
    cases.write_text(text.replace(wrong, "expect: {VAS1: not-numerator}"))
    done = medsopt("rules", "test", str(rules))
    assert done.returncode == 1, done.stdout + done.stderr
    line = text[: text.index(wrong)].count("\n") - 4  # the case's "- name:" line
    assert (
        f"indicators/tests/qof.yaml:{line}: FAIL myocardial infarction with aspirin in the year"
        in done.stdout
    )
    assert "expected VAS1: not-numerator, got numerator" in done.stdout
    # ... and VAS1 has lost its only numerator case.
    assert "active indicator VAS1 has no numerator test case" in done.stdout
    assert "indicators: 38 passed, 1 failed; 1 coverage problem(s)" in done.stdout


def test_an_untested_active_indicator_is_named_at_its_line(rules: Path, bundled: RuleSet) -> None:
    sources = {"tests/pincer.yaml": (rules / "indicators/tests/pincer.yaml").read_text()}
    cases, _ = parse_indicator_cases(sources)  # no QOF cases at all
    indicators = read_indicators(rules / "indicators", bundled, "indicators/")
    found = [str(d) for d in coverage(cases, indicators)]
    line = indicators.lines["VAS1"]
    assert (
        f"indicators/qof.yaml:{line}:1: error[untested-rule]: active indicator VAS1 has no "
        "numerator, not-numerator, excluded:newly-diagnosed, excluded:palliative-care test "
        "case (expected cases in indicators/tests/ expecting each of numerator, not-numerator, "
        "excluded:newly-diagnosed, excluded:palliative-care)"
    ) in found
    assert any(f.startswith(f"indicators/qof.yaml:{line}:1:") and "VAS1" in f for f in found)
    assert any("HF1 has no numerator" in f for f in found)
    assert not any("AF2" in f for f in found)  # a draft needs no case until it is published


def test_a_case_with_an_exclusion_the_indicator_lacks_is_refused(bundled: RuleSet) -> None:
    text = """\
cases:
  - name: x
    as_of: 2026-11-30
    patient: {age: 70}
    expect: {PINCER-A: "excluded:palliative-care", NOPE-1: outside}
"""
    cases, problems = parse_indicator_cases({"tests/x.yaml": text})
    assert problems == ()
    indicators = read_indicators(BUNDLED_RULES / "indicators", bundled)
    found = [str(d) for d in coverage(cases, indicators) if d.file == "tests/x.yaml"]
    assert found == [
        "tests/x.yaml:2:1: error[unknown-reference]: case 'x' expects PINCER-A to exclude for "
        "'palliative-care', which it does not name (expected no exclusion: the indicator has "
        "none)",
        "tests/x.yaml:2:1: error[unknown-reference]: case 'x' refers to unknown indicator NOPE-1",
    ]


def test_a_bad_case_file_is_named_at_its_position() -> None:
    text = """\
cases:
  - {name: y, as_of: 2026-11-30, expect: {VAS1: outside}}
  - name: x
    as_of: 2026-11-30
    expect: {VAS1: fired}
"""
    _, problems = parse_indicator_cases({"tests/x.yaml": text})
    assert [str(p) for p in problems] == [
        "tests/x.yaml:5:14: error[invalid-value]: cases[1].expect.VAS1: 'fired' String should "
        "match pattern '^(numerator|not-numerator|outside|excluded:[a-z0-9][a-z0-9-]*)$'"
    ]


def test_an_unresolved_item_fails_the_case_not_silently(bundled: RuleSet) -> None:
    text = """\
cases:
  - name: a typo in the code
    as_of: 2026-11-30
    patient: {age: 78}
    dispensed:
      - {code: "329806008", date: 2026-10-01, note: naproxen with a wrong check digit}
    expect: {PINCER-A: outside}
"""
    cases, _ = parse_indicator_cases({"tests/x.yaml": text})
    indicators = read_indicators(BUNDLED_RULES / "indicators", bundled)
    report = run_indicator_cases(cases, indicators, bundled, LOCATIONS)
    assert len(report.failures) == 1
    assert "1 dispensed item(s) quarantined or not resolved" in str(report.failures[0])


def test_rules_check_names_a_bad_indicator_file_at_file_line_column(rules: Path) -> None:
    qof = rules / "indicators/qof.yaml"
    text = qof.read_text()
    qof.write_text(text.replace("first_recorded_within_days: 91", "first_recorded_within: 91", 1))
    done = medsopt("rules", "check", str(rules))
    assert done.returncode == 1
    broken = text[: text.index("first_recorded_within_days: 91")].count("\n") + 1
    assert f"indicators/qof.yaml:{broken}:" in done.stderr
    assert "'first_recorded_within' is not a field here" in done.stderr
    assert "did you mean 'first_recorded_within_days'?" in done.stderr


def test_a_failing_indicator_case_blocks_publishing(rules: Path) -> None:
    manifest = rules / "PUBLISHED.json"
    before = manifest.read_bytes()
    cases = rules / "indicators/tests/pincer.yaml"
    text = cases.read_text()
    cases.write_text(text.replace("expect: {PINCER-LI: numerator}", "expect: {PINCER-LI: outside}"))
    done = medsopt("rules", "publish", str(rules))
    assert done.returncode == 1
    assert "expected PINCER-LI: outside, got numerator" in done.stdout
    assert "not published" in done.stderr
    assert manifest.read_bytes() == before
    cases.write_text(text)
    done = medsopt("rules", "publish", str(rules))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("published medsopt-bundled ")
