"""Committee workflow: the bundled rules check clean, every case passes, and tests can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from medsopt.committee.cases import parse_cases
from medsopt.committee.runner import run_all
from medsopt.dmd.index import DmdIndex
from medsopt.engine.clauses import registry
from medsopt.engine.clauses.base import Lookups, Population
from medsopt.rules import ir
from medsopt.rules.compile import compile_ruleset
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_RULES
from medsopt.store.sources import read_sources

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"


def test_bundled_committee_cases_pass_and_cover_every_active_rule(bundled: RuleSet) -> None:
    cases, problems = parse_cases(read_sources(BUNDLED_RULES))
    assert not problems
    report = run_all(cases, bundled)
    assert report.ok, "\n".join(map(str, (*report.failures, *report.coverage_problems)))
    assert report.passed == len(cases) >= 2 * len(bundled.rules)


def test_every_active_rule_is_cited_and_governed(bundled: RuleSet) -> None:
    for compiled in bundled.rules.values():
        rule = compiled.rule
        assert rule.citations and all(c.reference for c in rule.citations), rule.id
        assert rule.rationale and rule.authored_by and rule.checked_by, rule.id


def test_removing_a_trigger_code_makes_the_committee_test_fail(
    tmp_path: Path, dmd: DmdIndex
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    codelist = rules / "codelists" / "pincer-anticoagulants.csv"
    lines = codelist.read_text().splitlines(keepends=True)
    codelist.write_text("".join(line for line in lines if not line.startswith("319733000,")))
    sources = read_sources(rules)
    compiled = compile_ruleset(sources, dmd)
    cases, _ = parse_cases(sources)
    report = run_all(cases, compiled.ruleset)
    failed = {f.case.case.name: f for f in report.failures}
    failure = failed["warfarin with naproxen fires PINCER-D"]
    assert "expected PINCER-D to fire, it did not" in failure.problems
    assert str(failure).startswith("tests/pincer.yaml:")


def medsopt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medsopt", *args], capture_output=True, text=True)


def test_cli_rules_check_is_clean_on_bundled_rules() -> None:
    result = medsopt("rules", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: medsopt-bundled")


def test_cli_rules_check_prints_positions_and_fails_on_a_broken_file() -> None:
    result = medsopt("rules", "check", str(BROKEN / "unknown-field"))
    assert result.returncode == 1
    assert "rules.yaml:12:5: error[unknown-field]: 'severty' is not a field here" in result.stderr
    assert "did you mean 'severity'?" in result.stderr


def test_cli_rules_check_names_the_line_of_a_typo_in_the_adherence_classes(
    formulary_copy: Path,
) -> None:
    classes = formulary_copy / "adherence-classes.yaml"
    lines = classes.read_text().splitlines(keepends=True)
    line = lines.index("    groups: [statins]\n")
    lines[line] = "    grups: [statins]\n"
    classes.write_text("".join(lines))
    result = medsopt("rules", "check", "--formulary", str(formulary_copy))
    assert result.returncode == 1, result.stdout
    assert (
        f"adherence-classes.yaml:{line + 1}:5: error[unknown-field]: 'grups' is not a field here"
        in result.stderr
    )
    assert "did you mean 'groups'?" in result.stderr


def test_cli_rules_test_passes_on_bundled_rules() -> None:
    result = medsopt("rules", "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed, 0 failed; 0 coverage problem(s)" in result.stdout


def test_a_draft_rule_can_be_tested_before_it_is_published(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    pincer = rules / "pincer.yaml"
    pincer.write_text(pincer.read_text().replace("status: active", "status: draft", 1))  # PINCER-A
    published = medsopt("rules", "test", str(rules))
    assert published.returncode == 1  # its cases now expect a rule that does not run
    assert "expected PINCER-A to fire, it did not" in published.stdout
    drafts = medsopt("rules", "test", str(rules), "--include-drafts")
    assert drafts.returncode == 0, drafts.stdout


def test_a_case_fails_when_the_columnar_evaluator_disagrees(
    bundled: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both evaluators answer every case: break one clause's columnar plan and cases fail."""
    cases, _ = parse_cases(read_sources(BUNDLED_RULES))
    real = registry.GENERATORS[ir.Duplicate]

    def never(
        clauses: Sequence[tuple[str, Any]], population: Population, lookups: Lookups
    ) -> pl.LazyFrame:
        return real(clauses, population, lookups).clear()

    monkeypatch.setitem(registry.GENERATORS, ir.Duplicate, never)
    report = run_all(cases, bundled)
    problems = [p for f in report.failures for p in f.problems]
    assert problems
    # A broken plan loses its findings; where one led a card merged by concern (DUP-SSRIS with
    # LOAD-SEROTONERGIC), the columnar answer shows the card led by the other rule instead.
    lacks = [p for p in problems if p.startswith("columnar evaluator lacks finding ('")]
    assert lacks
    assert all(
        p.startswith(("columnar evaluator lacks finding ('", "columnar evaluator adds finding ('"))
        for p in problems
    )


def copy_of_bundled_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    return rules


def test_cli_rules_test_exits_1_when_a_case_fails(tmp_path: Path) -> None:
    rules = copy_of_bundled_rules(tmp_path)
    codelist = rules / "codelists" / "pincer-anticoagulants.csv"
    lines = codelist.read_text().splitlines(keepends=True)
    codelist.write_text("".join(line for line in lines if not line.startswith("319733000,")))
    result = medsopt("rules", "test", str(rules))
    # 1 is "checks failed", as for `rules check`; 2 is the option parser's "bad option".
    assert result.returncode == 1, result.stdout + result.stderr
    assert "expected PINCER-D to fire, it did not" in result.stdout


def test_cli_rules_test_exits_1_when_an_active_rule_is_untested(tmp_path: Path) -> None:
    rules = copy_of_bundled_rules(tmp_path)
    cases = rules / "tests" / "pincer.yaml"
    text = cases.read_text()
    firing = "  - name: naproxen at 78 without a PPI fires PINCER-A\n"
    start = text.index(firing)
    cases.write_text(text[:start] + text[text.index("  - name:", start + len(firing)) :])
    result = medsopt("rules", "test", str(rules))
    assert result.returncode == 1, result.stdout + result.stderr
    assert " 0 failed; 1 coverage problem(s)" in result.stdout


def test_cli_rules_subcommands_keep_2_for_a_bad_option() -> None:
    for command in ("check", "test", "docs"):
        assert medsopt("rules", command, "--no-such-option").returncode == 2, command
