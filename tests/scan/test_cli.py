"""`python -m medsopt scan` as a subprocess on small generated data: files, columns, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.generate_dispensing import dirty, generate, pools
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.schema import ADHERENCE_COLUMNS, FINDINGS_COLUMNS, WORKLIST_COLUMNS

AS_OF = "2026-06-30"
CONTRACT = {
    "adherence.parquet": ADHERENCE_COLUMNS,
    "findings.parquet": FINDINGS_COLUMNS,
    "worklist.parquet": WORKLIST_COLUMNS,
    "quarantine.parquet": ("reason",),
}


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medsopt", "scan", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def inputs(bundled: RuleSet, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("scan-inputs")
    dispensing, people = generate(300, seed=11, pool=pools(bundled))
    dirty(dispensing, 0.03, seed=11).write_csv(folder / "dispensing.csv")
    people.write_parquet(folder / "patients.parquet")
    return folder / "dispensing.csv", folder / "patients.parquet"


@pytest.fixture(scope="module")
def scans(inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The same scan with 1 and with 2 worker processes."""
    dispensing, patients = inputs
    outputs = {}
    for workers in (1, 2):
        out = tmp_path_factory.mktemp(f"scan-{workers}") / "out"
        done = run(
            "--dispensing", dispensing, "--patients", patients, "--as-of", AS_OF,
            "--out", out, "--workers", str(workers),
        )  # fmt: skip
        assert done.returncode == 3, done.stderr  # written, with quarantined rows
        assert "quarantined" in done.stdout
        outputs[workers] = out
    return outputs


def test_a_scan_writes_every_contracted_output(
    inputs: tuple[Path, Path], scans: dict[int, Path]
) -> None:
    out = scans[1]
    for name, columns in CONTRACT.items():
        frame = pl.read_parquet(out / name)
        assert set(columns) <= set(frame.columns), name
    for name in ("worklist.xlsx", "report.html", "summary.json", "adherence.csv", "findings.csv"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_in"] == pl.read_csv(inputs[0], infer_schema=False).height
    assert summary["rows_in"] == summary["rows_used"] + sum(
        summary["quarantined_by_reason"].values()
    )
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert dict(quarantine.group_by("reason").len().iter_rows()) == summary["quarantined_by_reason"]
    expected = {"malformed_code", "unknown_code", "bad_date", "future_date", "duplicate"}
    assert expected <= set(quarantine["reason"])
    worklist = pl.read_parquet(out / "worklist.parquet")
    assert worklist["rank"].to_list() == list(range(1, worklist.height + 1))
    assert worklist["score"].is_sorted(descending=True)
    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.schema["codes"] == pl.List(pl.String)
    sheet = openpyxl.load_workbook(out / "worklist.xlsx", read_only=True)["findings"]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    cells = [row[header.index("codes")] for row in rows]
    # Codes are text, never numbers that Excel would round; an omission finding names no
    # medicine, and its empty cell reads back as None.
    assert any(isinstance(c, str) for c in cells)
    assert all(c is None or isinstance(c, str) for c in cells)
    assert {c or "" for c in cells} <= {";".join(codes) for codes in findings["codes"]}
    html = (out / "report.html").read_text()
    assert "<svg" in html and "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_workers_do_not_change_the_result(scans: dict[int, Path]) -> None:
    for name in ("adherence.parquet", "findings.parquet", "worklist.parquet"):
        assert pl.read_parquet(scans[1] / name).equals(pl.read_parquet(scans[2] / name)), name


SORTED_BY = {
    "adherence.parquet": ["patient_id", "drug_class"],
    "findings.parquet": ["patient_id", "rule_id", "codes"],
    "not_evaluated.parquet": ["patient_id", "rule_id", "codes"],
    "quarantine.parquet": ["source_row"],
    "patients_quarantine.parquet": ["patient_id", "reason"],
}


def test_patient_hash_partitions_do_not_change_the_result(
    inputs: tuple[Path, Path], scans: dict[int, Path], tmp_path: Path
) -> None:
    """Several bounded partitions (each scanned and written on its own) give the rows of one."""
    dispensing, patients = inputs
    out = tmp_path / "out"
    done = run(
        "--dispensing", dispensing, "--patients", patients, "--as-of", AS_OF,
        "--out", out, "--partition-rows", "1500",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    for name, keys in SORTED_BY.items():
        whole, parts = (pl.read_parquet(d / name) for d in (scans[1], out))
        order = [pl.col(k).list.join(";") if k == "codes" else pl.col(k) for k in keys]
        assert whole.sort(order).equals(parts.sort(order)), name
    # Scores are sums of floats over another grouping: equal to the last bits, ranks identical.
    assert_frame_equal(
        pl.read_parquet(scans[1] / "worklist.parquet"),
        pl.read_parquet(out / "worklist.parquet"),
        check_exact=False,
    )
    csv = pl.read_csv(out / "findings.csv", infer_schema=False)
    assert csv.height == pl.read_parquet(out / "findings.parquet").height
    whole_summary, parts_summary = (
        json.loads((d / "summary.json").read_text()) for d in (scans[1], out)
    )
    for summary in (whole_summary, parts_summary):
        summary.pop("timings_seconds")
    assert whole_summary == parts_summary


def test_missing_columns_write_nothing_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,code\np1,319733000\n")
    done = run("--dispensing", bad, "--as-of", AS_OF, "--out", tmp_path / "out")
    assert done.returncode == 1
    assert "missing column(s) dispensed_on, quantity" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_directory_holding_other_files_is_not_replaced(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = run("--dispensing", inputs[0], "--as-of", AS_OF, "--out", out)
    assert done.returncode == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_a_bad_as_of_is_a_usage_error(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    assert (
        run("--dispensing", inputs[0], "--as-of", "30/06/2026", "--out", tmp_path / "o").returncode
        == 2
    )


def test_the_last_line_counts_each_input_separately(bundled: RuleSet, tmp_path: Path) -> None:
    dispensing, people = generate(10, seed=7, pool=pools(bundled))
    dirty(dispensing, 0.1, seed=7).write_csv(tmp_path / "dispensing.csv")
    people = people.with_columns(pl.col("age_years").cast(pl.String))
    people = people.with_columns(  # one bad patient row, and only one
        age_years=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("old")).otherwise("age_years")
    )
    people.write_csv(tmp_path / "patients.csv")
    out = tmp_path / "out"
    done = run(
        "--dispensing", tmp_path / "dispensing.csv", "--patients", tmp_path / "patients.csv",
        "--as-of", AS_OF, "--out", out,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    rows_in = pl.read_csv(tmp_path / "dispensing.csv", infer_schema=False).height
    assert summary["patient_rows_quarantined_by_reason"] == {"bad_age": 1}
    assert 0 < summary["rows_quarantined"] < rows_in
    expected = (
        f"{rows_in} dispensing rows: {summary['rows_used']} used, "
        f"{summary['rows_quarantined']} quarantined; "
        f"{people.height} patient rows: {people.height - 1} used, 1 quarantined; "
    )
    [last] = done.stdout.splitlines()[-1:]
    assert last.startswith(expected), last


def test_a_broken_adherence_class_file_is_named_with_its_line(
    inputs: tuple[Path, Path], formulary_copy: Path, tmp_path: Path
) -> None:
    classes = formulary_copy / "adherence-classes.yaml"
    lines = classes.read_text().splitlines(keepends=True)
    line = lines.index("    label: statin\n")
    lines[line] = "    lable: statin\n"
    classes.write_text("".join(lines))
    out = tmp_path / "out"
    done = run(
        "--dispensing", inputs[0], "--as-of", AS_OF, "--out", out, "--formulary", formulary_copy
    )
    assert done.returncode == 1
    expected = f"adherence-classes.yaml:{line + 1}:5: error[unknown-field]: 'lable' is not a field"
    assert expected in done.stderr
    assert not out.exists()
    # The inputs are split while the rule set is built: the split is removed too.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_the_command_sets_polars_allocator_before_polars_loads() -> None:
    """Freed pages kept five seconds (see `medsopt.cli`), unless the user chose otherwise."""

    def allocator(setting: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
        if setting is not None:
            env["_RJEM_MALLOC_CONF"] = setting
        probe = "import medsopt.cli, os, polars; print(os.environ['_RJEM_MALLOC_CONF'])"
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
        )
        return done.stdout.strip()

    # polars appends the setting it finds to its defaults; the last value of an option wins.
    ours = "dirty_decay_ms:5000,muzzy_decay_ms:5000"
    assert allocator(None).endswith(f",{ours}")
    # Inherited from a parent that imported polars (its default): not a choice, replaced.
    assert allocator("dirty_decay_ms:500,muzzy_decay_ms:1000").endswith(f",{ours}")
    assert allocator("dirty_decay_ms:0").endswith(",dirty_decay_ms:0")
