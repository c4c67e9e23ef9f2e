"""`medsopt rules simulate`: alert volumes of a proposed rule set over a generated population."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from benchmarks.generate_dispensing import generate, pools
from medsopt.reports.simulation import render_text
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.simulation import compare
from medsopt.store.activate import BUNDLED_RULES

AS_OF = "2026-06-30"


def findings(rows: list[tuple[str, str, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"patient_id": pl.String, "rule_id": pl.String, "codes": pl.List(pl.String)},
        orient="row",
    )


def test_compare_counts_patients_and_prescriptions_and_flags_changes() -> None:
    baseline = findings([("p1", "A", ["1", "2"]), ("p2", "A", ["1"]), ("p1", "GONE", ["3"])])
    proposed = findings(
        [("p1", "A", ["1", "2"]), ("p2", "A", ["1"]), ("p3", "A", ["4"]), ("p1", "NEW", ["5"])]
    )
    rows = {r["rule_id"]: r for r in compare(baseline, proposed, 0.2).iter_rows(named=True)}
    assert (rows["A"]["patients_baseline"], rows["A"]["patients_proposed"]) == (2, 3)
    assert (rows["A"]["prescriptions_baseline"], rows["A"]["prescriptions_proposed"]) == (3, 4)
    assert rows["A"]["relative_change"] == pytest.approx(0.5)
    assert rows["A"]["flagged"] and rows["NEW"]["flagged"] and rows["GONE"]["flagged"]
    assert not compare(baseline, baseline, 0.2)["flagged"].any()


def test_a_rule_that_fires_less_or_stops_shows_a_negative_change() -> None:
    # Counts come out of polars unsigned (pl.len, n_unique); new - old must not wrap to 2**32 - n.
    baseline = findings(
        [("p1", "A", ["1", "2"]), ("p2", "A", ["1"]), ("p3", "A", ["3"]), ("p1", "GONE", ["4"])]
    )
    ten = [(f"q{i}", "SMALL", [f"{i}"]) for i in range(10)]
    baseline = pl.concat([baseline, findings(ten)])
    proposed = findings([("p1", "A", ["1"]), *ten[:9]])
    comparison = compare(baseline, proposed, 0.2)
    for column in ("patients_change", "prescriptions_change"):
        assert comparison.schema[column].is_signed_integer(), column
    rows = {r["rule_id"]: r for r in comparison.iter_rows(named=True)}
    assert (rows["A"]["patients_change"], rows["A"]["prescriptions_change"]) == (-2, -3)
    assert rows["A"]["relative_change"] == pytest.approx(-2 / 3)
    assert (rows["GONE"]["patients_change"], rows["GONE"]["prescriptions_change"]) == (-1, -1)
    assert rows["GONE"]["relative_change"] == pytest.approx(-1.0)
    assert rows["SMALL"]["relative_change"] == pytest.approx(-0.1)
    assert rows["A"]["flagged"] and rows["GONE"]["flagged"] and not rows["SMALL"]["flagged"]
    assert comparison["rule_id"].to_list() == ["A", "GONE", "SMALL"]  # largest change first
    text = render_text(comparison, "now", "proposed", 0.2)
    [line] = [row for row in text.splitlines() if " A " in f" {row} "]
    assert line.split()[1:5] == ["A", "3", "1", "-2"]
    assert "4294967" not in text


def test_cli_shows_a_lowered_age_threshold_raising_pincer_a(
    bundled: RuleSet, tmp_path: Path
) -> None:
    dispensing, people = generate(400, seed=5, pool=pools(bundled))
    dispensing.write_parquet(tmp_path / "dispensing.parquet")
    people.write_parquet(tmp_path / "patients.parquet")
    proposed = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, proposed)
    pincer = proposed / "pincer.yaml"
    pincer.write_text(pincer.read_text().replace("age_at_least: 65", "age_at_least: 50", 1))
    html = tmp_path / "simulation.html"
    done = subprocess.run(
        [
            sys.executable, "-m", "medsopt", "rules", "simulate",
            "--population", str(tmp_path / "dispensing.parquet"),
            "--patients", str(tmp_path / "patients.parquet"),
            "--rules", str(proposed), "--as-of", AS_OF, "--html", str(html),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [line] = [row for row in done.stdout.splitlines() if " PINCER-A " in f" {row} "]
    assert line.startswith("!")  # flagged
    _, _, now, proposed_count, change, *_ = line.split()
    assert int(proposed_count) > int(now) and int(change) > 0
    assert "PINCER-A" in html.read_text() and 'class="flagged"' in html.read_text()


def test_cli_a_bad_as_of_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "medsopt", "rules", "simulate",
            "--population", str(tmp_path / "dispensing.parquet"), "--rules", str(BUNDLED_RULES),
            "--as-of", "30/06/2026",
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 2  # as for `medsopt scan`: 2 is a bad option, 1 a failed run
    assert "invalid --as-of '30/06/2026'" in done.stderr
