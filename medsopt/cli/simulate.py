"""`medsopt rules simulate`: alert volumes of a proposed rule set against the current one."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import polars as pl

from medsopt.authoring.diagnostics import RuleSetError
from medsopt.dmd.release.files import DmdExtractError
from medsopt.reports.simulation import render_html, render_text
from medsopt.scan.classes import ClassDefinitionError
from medsopt.scan.core import ScanParams
from medsopt.scan.files import run_scan, tables_for
from medsopt.scan.inputs import read_dispensing
from medsopt.scan.pdc import Period
from medsopt.scan.simulation import compare
from medsopt.store.activate import Locations, compile_sources

EXIT_OK, EXIT_INVALID = 0, 1


def _findings(
    locations: Locations, population: Path, patients: Path | None, params: ScanParams
) -> tuple[str, pl.DataFrame]:
    """The identity of the rule set in `locations` and its findings over the population."""
    ruleset = compile_sources(locations)[0].ruleset
    tables = tables_for(ruleset, locations, params.period.as_of)
    results = run_scan(population, patients, tables, params, 1, lambda _: None)
    identity = ruleset.identity
    label = f"{identity.name} {identity.version} ({identity.content_hash[:12]})"
    return f"{label} from {locations.rules_dir}", results["findings"]


def run_simulate(
    proposed: Locations,
    baseline: Locations,
    population: Path,
    patients: Path | None,
    as_of: datetime.date,
    period_days: int,
    threshold: float,
    html_out: Path | None,
) -> int:
    """Print the comparison (and write the HTML report); exit 1 if either rule set is invalid."""
    params = ScanParams(Period(as_of, period_days))
    try:
        read_dispensing(population)  # fail early, naming the file, on missing columns
        base_label, base_findings = _findings(baseline, population, patients, params)
        new_label, new_findings = _findings(proposed, population, patients, params)
    except RuleSetError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except (DmdExtractError, ClassDefinitionError, OSError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    comparison = compare(base_findings, new_findings, threshold)
    print(render_text(comparison, base_label, new_label, threshold))
    if html_out is not None:
        staging = html_out.with_name(f".{html_out.name}.tmp")
        staging.write_text(render_html(comparison, base_label, new_label, threshold))
        staging.replace(html_out)
        print(f"wrote {html_out}")
    return EXIT_OK
