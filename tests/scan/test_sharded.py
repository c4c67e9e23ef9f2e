"""Bounded memory: a partition keeps only counts in memory, its per-patient frames on disk."""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import polars as pl

from benchmarks.generate_dispensing import generate, pools
from medsopt.rules.ruleset import RuleSet
from medsopt.scan import schema as s
from medsopt.scan.core import ScanParams
from medsopt.scan.digest import DIGESTS
from medsopt.scan.inputs import read_dispensing, read_patients
from medsopt.scan.pdc import Period
from medsopt.scan.sharded import (
    KEPT,
    WRITTEN,
    rank_parts,
    scan_split,
    score_parts,
    split_inputs,
)
from medsopt.scan.tables import ScanTables
from medsopt.scan.worklist import rank

AS_OF = datetime.date(2026, 6, 30)


def test_partitions_keep_counts_in_memory_and_patients_on_disk(
    bundled: RuleSet, scan_tables: ScanTables, tmp_path: Path
) -> None:
    dispensing, people = generate(400, seed=7, pool=pools(bundled))
    dispensing.write_parquet(tmp_path / "dispensing.parquet")
    people.write_parquet(tmp_path / "patients.parquet")
    work = tmp_path / "work"
    inputs = split_inputs(
        read_dispensing(tmp_path / "dispensing.parquet"),
        read_patients(tmp_path / "patients.parquet"),
        None,
        work / "inputs",
        partition_rows=1000,
    )
    partitions = len(inputs.partitions)
    assert partitions > 3
    results = scan_split(inputs, scan_tables, ScanParams(Period(AS_OF, 365)), work)
    assert not inputs.folder.exists()  # the split inputs are removed once scanned
    optional = ("events_quarantine", "indicator_gaps")  # with events, with the analytics
    for name in (*KEPT, *(n for n in WRITTEN if n not in optional)):
        assert len(list((work / "parts" / name).glob("*.parquet"))) == partitions, name
    # In memory: counts and digests only; every patient's worklist row is on disk, once.
    assert set(results) <= {"outcomes", "supply_methods", "patient_outcomes", *DIGESTS}
    scores = score_parts(work / "parts")
    rows = pl.read_parquet(scores)
    assert rows[s.PATIENT_ID].is_unique().all()
    assert set(rows[s.PATIENT_ID]) <= set(dispensing[s.PATIENT_ID]) | set(people[s.PATIENT_ID])
    assert 0 < results["patient_counts"]["patients"].item() <= dispensing[s.PATIENT_ID].n_unique()
    assert s.PRACTICE_ID in rows.columns
    used = results["outcomes"].group_by("outcome").agg(pl.col("rows").sum())["rows"].sum()
    assert used == dispensing.height  # every row used or quarantined, counted once
    # The worklist ranked a slice of scores at a time is the worklist ranked whole.
    sliced = rank_parts(scores, tmp_path / "ranked", slice_rows=20)
    assert len(sliced) > 3
    whole = rank(rows.lazy()).collect()
    assert pl.read_parquet(sliced).equals(whole)
    assert whole["rank"].to_list() == list(range(1, whole.height + 1))


def test_the_workbook_holds_the_top_of_the_worklist(tmp_path: Path) -> None:
    from medsopt.reports.spreadsheet import write_workbook
    from medsopt.scan.files import XLSX_PATIENTS

    worklist = pl.DataFrame(
        {
            "rank": range(1, XLSX_PATIENTS + 51),
            s.PATIENT_ID: [f"P{i:05d}" for i in range(XLSX_PATIENTS + 50)],
            "score": [1.0 / (1 + i) for i in range(XLSX_PATIENTS + 50)],
            "first_seen": [AS_OF] * (XLSX_PATIENTS + 50),
            "adherent": [True, None] * ((XLSX_PATIENTS + 50) // 2),
        }
    )
    write_workbook(tmp_path / "w.xlsx", {"worklist": worklist.head(XLSX_PATIENTS)})
    sheet = openpyxl.load_workbook(tmp_path / "w.xlsx")["worklist"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("rank", s.PATIENT_ID, "score", "first_seen", "adherent")
    assert len(rows) == XLSX_PATIENTS + 1
    assert rows[1][:3] == (1, "P00000", 1.0)
    assert rows[1][3].date() == AS_OF
    assert rows[2][4] is None and rows[1][4] is True
    assert sheet.freeze_panes == "A2"
