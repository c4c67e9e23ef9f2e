"""The rule catalogue, rendered by the real CLI into a real directory."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

from medsopt.committee.cases import parse_cases
from medsopt.reports.catalogue import render_catalogue
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_RULES
from medsopt.store.sources import read_sources


def test_cli_writes_index_views_and_a_page_per_rule(tmp_path: Path, bundled: RuleSet) -> None:
    out = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "medsopt", "rules", "docs", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert {"index.html", "by-drug.html", "by-review.html"} <= {p.name for p in out.iterdir()}
    every = set(bundled.rules) | set(bundled.inactive)
    assert {p.stem for p in (out / "rules").iterdir()} == every
    page = (out / "rules" / "PINCER-D.html").read_text()
    assert "Warfarin 1mg tablets" in page  # groups resolved to dm+d names
    assert "https://doi.org/10.1016/S0140-6736(11)61817-5" in page  # citations
    assert "warfarin with naproxen fires PINCER-D" in page  # committee test cases
    assert "tests/pincer.yaml:" in page
    assert "<i>&lsaquo;medicines&rsaquo;</i>" in page


def test_overdue_reviews_are_highlighted(bundled: RuleSet) -> None:
    cases, _ = parse_cases(read_sources(BUNDLED_RULES))
    later = render_catalogue(bundled, cases, datetime.date(2030, 1, 1))
    now = render_catalogue(bundled, cases, datetime.date(2026, 11, 24))
    assert "0 rule(s) overdue" in now["by-review.html"]
    assert (
        f"{len(bundled.rules) + len(bundled.inactive)} rule(s) overdue" in later["by-review.html"]
    )
    assert "class=overdue" in later["index.html"]


def test_a_rule_page_shows_its_concern_and_whom_it_applies_to(bundled: RuleSet) -> None:
    pages = render_catalogue(bundled, (), datetime.date(2026, 12, 6))
    pincer_d = pages["rules/PINCER-D.html"]
    assert "Bleeding: oral anticoagulant with an NSAID" in pincer_d
    assert "STOPP-V2-C10" in pincer_d
    assert "sex female, age at least 12, age below 56" in pages["rules/PREG-ACEI.html"]
