"""`medsopt scan`: adherence, batch safety findings and a ranked worklist from dispensing data."""

from __future__ import annotations

import datetime
import enum
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

if TYPE_CHECKING:
    from medsopt.scan.extras import Extras
    from medsopt.scan.worklist import Weights

EXIT_COMPLETE = 0  # every row used
EXIT_FAILED = 1  # unreadable input, bad columns, no valid rule set, refused output dir
EXIT_USAGE = 2  # bad option (reported by the option parser)
EXIT_QUARANTINED = 3  # outputs written; some rows quarantined (see summary.json)
EXIT_INTERRUPTED = 130  # Ctrl-C: nothing replaced


class Engine(enum.StrEnum):
    """Where the scan runs."""

    POLARS = "polars"  # this machine (--workers processes)
    SPARK = "spark"  # Apache Spark: the active session, or local mode (docs/scan.md)


class Progress:
    """One self-overwriting stderr line with elapsed time; silent when stderr is not a TTY."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            sys.stderr.write(f"\r\033[Kmedsopt scan [{elapsed:6.1f}s] {message}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def scan(
    dispensing: Annotated[
        Path, typer.Option(help="Dispensing rows, .parquet or .csv (docs/scan.md).")
    ],
    out: Annotated[Path, typer.Option(help="Output directory (replaced whole on success).")],
    patients: Annotated[
        Path | None, typer.Option(help="Patient facts, .parquet or .csv (optional).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD; default today.")
    ] = None,
    period_days: Annotated[
        int, typer.Option(min=92, max=3660, help="Days in the measurement period.")
    ] = 365,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes; patients are hash-partitioned.")
    ] = 1,
    partition_rows: Annotated[
        int,
        typer.Option(
            min=1, help="Dispensing rows per patient-hash partition (bounds the memory used)."
        ),
    ] = 2_000_000,
    current_days: Annotated[
        int, typer.Option(min=1, max=3660, help="A medicine dispensed this recently is current.")
    ] = 90,
    weights: Annotated[
        str, typer.Option(help="Worklist weights, e.g. safety=0.5,adherence=0.3,recoverability=0.2")
    ] = "",
    rules: Annotated[
        Path, typer.Option("--rules", envvar="MEDSOPT_RULES_DIR", help="Rules directory.")
    ] = BUNDLED_RULES,
    formulary: Annotated[
        Path,
        typer.Option("--formulary", envvar="MEDSOPT_FORMULARY_DIR", help="Formulary directory."),
    ] = BUNDLED_FORMULARY,
    engine: Annotated[
        Engine, typer.Option(help="polars on this machine, or spark (pip install medsopt[spark]).")
    ] = Engine.POLARS,
    events: Annotated[
        Path | None,
        typer.Option(help="Clinical events (diagnoses, results, reviews), .parquet or .csv."),
    ] = None,
    events_complete_from: Annotated[
        str | None,
        typer.Option(
            help="Events are complete from this date (YYYY-MM-DD): monitoring rules "
            "may then fire on a missing result."
        ),
    ] = None,
    indicators: Annotated[
        Path | None,
        typer.Option(help="Indicator directory (e.g. rules/indicators): run the analytics."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(help="Prices per brand product; default FORMULARY/prices.yaml if present."),
    ] = None,
    months: Annotated[
        int, typer.Option(min=1, max=120, help="Months of analytics series, to --as-of.")
    ] = 24,
    include_drafts: Annotated[
        bool, typer.Option(help="Evaluate draft indicators too (marked draft).")
    ] = False,
) -> None:
    """Scan dispensing records: PDC per class, safety findings, a ranked worklist, a report.

    Example: medsopt scan --dispensing d.csv --patients p.csv --as-of 2026-06-30 --out scan/
    (input columns and outputs: docs/scan.md).

    Exit codes: 0 outputs written, every row used; 3 outputs written, some rows quarantined
    (see summary.json); 1 nothing written (unreadable input, missing columns, no valid rule
    set, output directory refused); 2 bad option; 130 interrupted, previous output kept.
    """
    try:
        day = datetime.date.fromisoformat(as_of) if as_of else datetime.date.today()
        complete_from = (
            datetime.date.fromisoformat(events_complete_from) if events_complete_from else None
        )
    except ValueError:
        print(f"invalid --as-of {as_of!r}: use YYYY-MM-DD", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None
    from medsopt.scan.analytics_run import AnalyticsRequest

    default_prices = formulary / "prices.yaml"
    analytics = (
        AnalyticsRequest(
            indicators,
            prices or (default_prices if default_prices.is_file() else None),
            months,
            include_drafts,
        )
        if indicators is not None
        else None
    )
    from medsopt.scan.extras import Extras
    from medsopt.scan.worklist import Weights

    try:
        chosen = Weights.parse(weights)
    except ValueError as error:
        print(f"invalid --weights: {error}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None
    progress = Progress(sys.stderr.isatty())
    try:
        code = _run(
            dispensing,
            patients,
            out,
            day,
            period_days,
            workers,
            current_days,
            chosen,
            Locations(rules, formulary),
            progress,
            partition_rows,
            engine,
            Extras(events, complete_from, analytics),
        )
    except KeyboardInterrupt:
        progress.done()
        print("interrupted; nothing replaced", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    raise typer.Exit(code)


def _run(
    dispensing: Path,
    patients: Path | None,
    out: Path,
    as_of: datetime.date,
    period_days: int,
    workers: int,
    current_days: int,
    weights: Weights,
    locations: Locations,
    progress: Progress,
    partition_rows: int,
    engine: Engine = Engine.POLARS,
    extras: Extras | None = None,
) -> int:
    from medsopt.authoring.diagnostics import RuleSetError
    from medsopt.cli.scan_analytics import analytics_step
    from medsopt.dmd.release.files import DmdExtractError
    from medsopt.reports.scan import render_report
    from medsopt.scan import files, inputs
    from medsopt.scan.classes import ClassDefinitionError
    from medsopt.scan.core import ScanParams
    from medsopt.scan.extras import Extras
    from medsopt.scan.pdc import Period
    from medsopt.scan.summary import Stopwatch
    from medsopt.store.activate import CommitteeTestsFailedError, build

    watch = Stopwatch()
    try:
        progress("checking inputs")
        files.check_output_dir(out)
        extras = extras or Extras()
        if engine is Engine.POLARS:
            inputs.read_dispensing(dispensing)
            if patients is not None:
                inputs.read_patients(patients)
            if extras.events is not None:
                inputs.read_events(extras.events)
        params = ScanParams(Period(as_of, period_days), current_days=current_days, weights=weights)
        read = {"dispensing": str(dispensing), "patients": str(patients) if patients else None}
        read["events"] = str(extras.events) if extras.events else None
        if engine is Engine.SPARK:
            progress("loading rule set and adherence classes")
            ruleset = build(locations).ruleset
            tables = files.tables_for(ruleset, locations, as_of)
            watch.lap("load_rules")
            from medsopt.scan.spark import SparkJob, scan_to

            analytics = analytics_step(extras, ruleset, as_of)
            spark_job = SparkJob(
                dispensing,
                patients,
                tables,
                params,
                extras.events,
                extras.events_complete_from,
                analytics,
            )
            progress("scanning on Spark")
            summary = scan_to(out, spark_job, read, watch, render_report)
        else:
            asked = extras  # (the closure below reads it as Extras, not Extras | None)

            def rules() -> files.Rules:
                progress("splitting the inputs by patient; loading rule set and classes")
                ruleset = build(locations).ruleset
                tables = files.tables_for(ruleset, locations, as_of)
                return tables, analytics_step(asked, ruleset, as_of)

            job = files.ScanJob(
                dispensing, patients, rules, params, workers, partition_rows, extras
            )
            summary = files.scan_to_directory(job, out, render_report, read, watch, progress)
    except (inputs.ScanInputError, ClassDefinitionError, DmdExtractError) as error:
        progress.done()
        print(f"scan failed, nothing written: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (RuleSetError, CommitteeTestsFailedError) as error:
        progress.done()
        print(f"no valid rule set, nothing written:\n{error}", file=sys.stderr)
        return EXIT_FAILED
    progress.done()
    dispensing_quarantined = summary["rows_quarantined"]
    patient_quarantined = sum(summary["patient_rows_quarantined_by_reason"].values())
    # One count per input, so each reads rows in = used + quarantined (as summary.json does).
    counts = [_rows("dispensing", summary["rows_in"], summary["rows_used"], dispensing_quarantined)]
    if patients is not None:
        counts.append(
            _rows(
                "patient",
                summary["patient_rows_in"],
                summary["patient_rows_used"],
                patient_quarantined,
            )
        )
    if extras.events is not None:
        counts.append(
            _rows(
                "event",
                summary["event_rows_in"],
                summary["event_rows_used"],
                summary["event_rows_in"] - summary["event_rows_used"],
            )
        )
    print(
        f"{'; '.join(counts)}; {summary['patients']:,} patients, {summary['findings']:,} "
        f"findings, {summary['worklist_patients']:,} on the worklist -> {out}"
    )
    quarantined = dispensing_quarantined + patient_quarantined
    quarantined += summary.get("event_rows_in", 0) - summary.get("event_rows_used", 0)
    return EXIT_QUARANTINED if quarantined else EXIT_COMPLETE


def _rows(kind: str, rows_in: int, used: int, quarantined: int) -> str:
    """E.g. '55 dispensing rows: 49 used, 6 quarantined'."""
    return f"{rows_in:,} {kind} rows: {used:,} used, {quarantined:,} quarantined"
