"""Analytics fixtures: a generated ICB population scanned once per session, with palliative
care and resolved codes (real) for some patients so every indicator exclusion counts someone.

The three draft indicators (AF2, CKD1, G1) need clusters that are not in the project yet. To
exercise their logic the tests copy rules/indicators/ and fill those codelists with STAND-IN
codes: real SNOMED CT gout concepts, which no indicator and no generated patient otherwise uses.
They stand for "a CHA2DS2-VASc score", "a urine ACR" and "a medication review" only here.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks.generate_population import AS_OF, codes_for, generate, write
from medsopt.analytics.compile import IndicatorSet
from medsopt.rules.ruleset import RuleSet
from medsopt.scan.analytics_inputs import AnalyticsInputs, analytics_inputs, read_indicators
from medsopt.scan.events import ClinicalEvents, annotate_events, clean_events
from medsopt.scan.files import tables_for
from medsopt.scan.inputs import read_dispensing, read_events, read_patients
from medsopt.scan.tables import ScanTables
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

STAND_INS = ("cha2ds2-vasc-score.csv", "urine-acr-or-pcr.csv", "medication-review.csv")
EVENTS_COMPLETE_FROM = datetime.date(2024, 6, 1)


@dataclass(frozen=True, slots=True)
class Population:
    """The generated files, the scan tables and the analytics inputs read from them."""

    paths: dict[str, Path]
    tables: ScanTables
    indicators: IndicatorSet
    inputs: AnalyticsInputs
    indicators_dir: Path


def _stand_in_indicators(target: Path) -> dict[str, str]:
    shutil.copytree(BUNDLED_RULES / "indicators", target)
    gout = pl.read_csv(BUNDLED_RULES / "codelists/conditions/gout.csv", infer_schema=False)
    codes = dict(zip(STAND_INS, gout["code"].to_list()[:3], strict=True))
    for name, code in codes.items():
        (target / "codelists" / name).write_text(f"code,term,source\n{code},stand-in,test\n")
    qof = target / "qof.yaml"
    qof.write_text(qof.read_text().replace("status: draft", "status: active"))
    return codes


def _stand_in_events(
    frames: dict[str, pl.DataFrame], codes: dict[str, str], seed: int
) -> pl.DataFrame:
    """Scores for people with AF, ACRs for CKD, medication reviews for anyone (seeded)."""
    rng = np.random.default_rng(seed)
    patients = frames["patients"]["patient_id"].to_list()
    rows = []
    for pid in patients:
        for name, share, value in (
            ("cha2ds2-vasc-score.csv", 0.15, True),
            ("urine-acr-or-pcr.csv", 0.1, True),
            ("medication-review.csv", 0.5, False),
        ):
            if rng.random() < share:
                for _ in range(int(rng.integers(1, 3))):
                    day = AS_OF - datetime.timedelta(days=int(rng.integers(0, 700)))
                    shown = str(int(rng.integers(0, 7))) if value else ""
                    rows.append((pid, codes[name], day.isoformat(), shown, ""))
    # Palliative care and resolved codes (real: PALCARE_COD, HFRES_COD, CKDRES_COD) for some,
    # so every exclusion counts someone.
    listed = BUNDLED_RULES / "indicators/codelists"
    for name, share in (
        ("palliative-care.csv", 0.03),
        ("heart-failure-resolved.csv", 0.02),
        ("ckd-resolved.csv", 0.02),
    ):
        pool = pl.read_csv(listed / name, infer_schema=False)["code"].to_list()
        for pid in patients:
            if rng.random() < share:
                day = AS_OF - datetime.timedelta(days=int(rng.integers(0, 700)))
                rows.append((pid, pool[int(rng.integers(len(pool)))], day.isoformat(), "", ""))
    extra = pl.DataFrame(rows, schema=frames["events"].columns, orient="row")
    return pl.concat([frames["events"], extra])


@pytest.fixture(scope="session")
def population(bundled: RuleSet, tmp_path_factory: pytest.TempPathFactory) -> Population:
    root = tmp_path_factory.mktemp("icb")
    codes = _stand_in_indicators(root / "indicators")
    frames = generate(3000, 12, 16, codes_for(bundled))
    frames["events"] = _stand_in_events(frames, codes, 17)
    paths = write(frames, root / "data")
    tables = tables_for(bundled, Locations(BUNDLED_RULES, BUNDLED_FORMULARY), AS_OF)
    indicators = read_indicators(root / "indicators", bundled)
    annotated = annotate_events(read_events(paths["events"]), AS_OF)
    events = ClinicalEvents(clean_events(annotated).collect(), EVENTS_COMPLETE_FROM)
    inputs = analytics_inputs(
        read_dispensing(paths["dispensing"]),
        read_patients(paths["patients"]),
        events,
        tables,
        AS_OF,
        indicators,
    )
    return Population(paths, tables, indicators, inputs, root / "indicators")


@pytest.fixture(scope="session")
def scan_tables(bundled: RuleSet) -> ScanTables:
    """The scan tables of the bundled rule set on 2026-06-30 (the scan tests' as-of date)."""
    as_of = datetime.date(2026, 6, 30)
    return tables_for(bundled, Locations(BUNDLED_RULES, BUNDLED_FORMULARY), as_of)


def run_scan(
    population: Population,
    out: Path,
    *options: str,
    timeout: float = 900,
    indicators: Path | None = None,
) -> Path:
    """`medsopt scan` with events and indicators (default: the stand-in copy), as a user starts
    it; OUT once it is written."""
    command = [
        sys.executable, "-m", "medsopt", "scan",
        "--dispensing", str(population.paths["dispensing"]),
        "--patients", str(population.paths["patients"]),
        "--events", str(population.paths["events"]),
        "--events-complete-from", EVENTS_COMPLETE_FROM.isoformat(),
        "--indicators", str(indicators or population.indicators_dir),
        "--as-of", AS_OF.isoformat(),
        "--out", str(out),
        *options,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    assert done.returncode == 3, done.stderr  # written; the generator's broken rows quarantined
    return out
