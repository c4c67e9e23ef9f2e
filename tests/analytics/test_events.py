"""Clinical events: every row used or quarantined with a reason; the events feed the scan's
monitoring rules as the point-of-care request's dated results do."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from medsopt.engine.point_of_care import check
from medsopt.engine.request import (
    CheckRequest,
    MedicationEntry,
    MedicationStatus,
    MonitoringResult,
    PatientContext,
    Sex,
)
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.core import ScanParams, scan_partition
from medsopt.scan.events import ClinicalEvents, annotate_events, clean_events, quarantined_events
from medsopt.scan.pdc import Period
from medsopt.scan.tables import ScanTables

AS_OF = datetime.date(2026, 6, 30)
SERUM_LITHIUM = "1006681000000100"  # Serum lithium level (rules/codelists/tests/lithium-level.csv)
# Camcolit 250 tablets (Essential Pharma Ltd), rules/codelists/pincer-lithium.csv
CAMCOLIT = "879511000001105"
COLUMNS = ("patient_id", "code", "recorded_on", "value", "unit")


def events(*values: tuple[str | None, ...]) -> pl.LazyFrame:
    frame = pl.DataFrame(
        [list(v) for v in values], schema=dict.fromkeys(COLUMNS, pl.String), orient="row"
    )
    return frame.with_row_index("source_row").lazy()


def test_every_row_is_used_or_quarantined_with_its_reason() -> None:
    raw = events(
        ("P1", SERUM_LITHIUM, "2026-06-01", "0.6", "mmol/L"),  # used
        ("", SERUM_LITHIUM, "2026-06-01", "", ""),
        ("P1", "1006681000000101", "2026-06-01", "", ""),  # check digit fails
        ("P1", "1.00668E+15", "2026-06-01", "", ""),  # spreadsheet-mangled
        ("P1", SERUM_LITHIUM, "01/06/2026", "", ""),
        ("P1", SERUM_LITHIUM, "2026-07-01", "", ""),
        ("P1", SERUM_LITHIUM, "2026-06-02", "high", ""),
        ("P1", SERUM_LITHIUM, "2026-06-03", "", "mmol/L"),
        ("P1", SERUM_LITHIUM, "2026-06-01", "0.6", "mmol/L"),  # copy of the first
        (" P2 ", SERUM_LITHIUM, "2026-06-04", None, None),  # used, id trimmed
    )
    annotated = annotate_events(raw, AS_OF).sort("source_row").collect()
    assert annotated["_reason"].to_list() == [
        None,
        "missing_patient_id",
        "malformed_code",
        "malformed_code",
        "bad_date",
        "future_date",
        "bad_value",
        "unit_without_value",
        "duplicate",
        None,
    ]
    clean = clean_events(annotated.lazy()).collect()
    quarantined = quarantined_events(annotated.lazy()).collect()
    assert clean.height + quarantined.height == raw.collect().height
    assert clean["patient_id"].to_list() == ["P1", "P2"]
    assert clean["code"].dtype == pl.String
    assert clean["value"].to_list() == [0.6, None]
    assert quarantined.columns == ["source_row", *COLUMNS, "reason", "detail"]


def lithium_scan(tables: ScanTables, given: ClinicalEvents | None) -> dict[str, pl.DataFrame]:
    dispensing = pl.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "code": [CAMCOLIT, CAMCOLIT],
            "dispensed_on": ["2026-04-01", "2026-06-01"],
            "quantity": ["100", "100"],
        }
    ).with_row_index("source_row")
    patients = pl.DataFrame({"patient_id": ["P1"], "age_years": ["60"], "sex": ["female"]})
    params = ScanParams(Period(AS_OF, 365))
    return scan_partition(dispensing.lazy(), patients.lazy(), tables, params, given)


def rule_ids(frame: pl.DataFrame) -> set[str]:
    return {r for r in frame["rule_id"].to_list() if r.startswith("MON-LITHIUM-LEVEL")}


def test_without_events_the_monitoring_rule_asks(scan_tables: ScanTables) -> None:
    results = lithium_scan(scan_tables, None)
    assert rule_ids(results["not_evaluated"]) == {"MON-LITHIUM-LEVEL"}
    assert not rule_ids(results["findings"])


def test_complete_events_without_a_level_fire_the_rule(scan_tables: ScanTables) -> None:
    none = ClinicalEvents(
        clean_events(annotate_events(events(), AS_OF)).collect(), datetime.date(2025, 1, 1)
    )
    results = lithium_scan(scan_tables, none)
    assert rule_ids(results["findings"]) == {"MON-LITHIUM-LEVEL"}
    assert not rule_ids(results["not_evaluated"])


def test_a_recent_level_passes_the_rule(scan_tables: ScanTables) -> None:
    level = events(("P1", SERUM_LITHIUM, "2026-06-10", "0.7", "mmol/L"))
    given = ClinicalEvents(
        clean_events(annotate_events(level, AS_OF)).collect(), datetime.date(2025, 1, 1)
    )
    results = lithium_scan(scan_tables, given)
    assert not rule_ids(results["findings"])
    assert not rule_ids(results["not_evaluated"])


@pytest.mark.parametrize(
    ("levels", "complete_from"),
    [
        ((), None),  # asks
        ((), datetime.date(2025, 1, 1)),  # fires: complete and no level
        (("2026-06-10",), datetime.date(2025, 1, 1)),  # passes: a recent level
        (("2025-12-01",), datetime.date(2025, 1, 1)),  # fires: the level is too old
    ],
)
def test_batch_and_point_of_care_agree_on_monitoring(
    scan_tables: ScanTables,
    bundled: RuleSet,
    levels: tuple[str, ...],
    complete_from: datetime.date | None,
) -> None:
    raw = events(*((("P1", SERUM_LITHIUM, day, "", "")) for day in levels))
    given = ClinicalEvents(clean_events(annotate_events(raw, AS_OF)).collect(), complete_from)
    batch = lithium_scan(scan_tables, given if complete_from or levels else None)
    request = CheckRequest(
        medications=(
            MedicationEntry(
                ref=CAMCOLIT,
                code=CAMCOLIT,
                status=MedicationStatus.CURRENT,
                start_date="2026-04-01",
            ),
        ),
        patient=PatientContext(
            age_years=60,
            sex=Sex.FEMALE,
            monitoring=tuple(MonitoringResult(SERUM_LITHIUM, day) for day in levels),
            monitoring_from=complete_from.isoformat() if complete_from else None,
        ),
        as_of=AS_OF,
    )
    answer = check(request, bundled)
    fired = {f.rule_id for f in answer.findings if f.rule_id.startswith("MON-")}
    asked = {n.rule_id for n in answer.not_evaluated if n.rule_id.startswith("MON-")}
    assert {r for r in batch["findings"]["rule_id"].to_list() if r.startswith("MON-")} == fired
    assert {r for r in batch["not_evaluated"]["rule_id"].to_list() if r.startswith("MON-")} == asked
