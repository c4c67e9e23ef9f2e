"""`medsopt serve | check | rules check | rules test`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from medsopt.cli.dmd import dmd_app
from medsopt.cli.records import DatabaseOption, audit_app, default_database, feedback_app
from medsopt.cli.scan import scan
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="medsopt: medicines-optimisation decision support.",
)
rules_app = typer.Typer(no_args_is_help=True, help="Check and test committee rule files.")
app.add_typer(rules_app, name="rules")
app.add_typer(dmd_app, name="dmd")
app.add_typer(feedback_app, name="feedback")
app.add_typer(audit_app, name="audit")
app.command("scan")(scan)

RulesDir = Annotated[
    Path, typer.Option("--rules", envvar="MEDSOPT_RULES_DIR", help="Rules directory.")
]
FormularyDir = Annotated[
    Path,
    typer.Option("--formulary", envvar="MEDSOPT_FORMULARY_DIR", help="Formulary directory."),
]


@app.command()
def serve(
    port: Annotated[int, typer.Option(envvar="MEDSOPT_PORT", help="TCP port; 0 = any.")] = 50051,
    host: Annotated[str, typer.Option(envvar="MEDSOPT_HOST")] = "127.0.0.1",
    rules: RulesDir = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
    watch: Annotated[
        bool, typer.Option(help="Reload when rule or formulary files change and settle.")
    ] = True,
    poll_seconds: Annotated[float, typer.Option(min=0.05, help="How often to look.")] = 1.0,
    database: Annotated[str | None, DatabaseOption] = None,
) -> None:
    """Serve medsopt.v1.MedicinesOptimisation over gRPC on the bundled (or given) rules."""
    from medsopt.service.server import ServerConfig
    from medsopt.service.server import serve as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = ServerConfig(
        host=host,
        port=port,
        locations=Locations(rules, formulary),
        watch=watch,
        poll_seconds=poll_seconds,
        database=database or default_database(),
    )
    run(config)


@app.command()
def check(
    codes: Annotated[list[str], typer.Argument(help="dm+d codes (VTM, VMP or AMP).")],
    age: Annotated[int | None, typer.Option(help="Age in years.")] = None,
    sex: Annotated[str | None, typer.Option(help="female, male or other.")] = None,
    egfr: Annotated[float | None, typer.Option(help="eGFR, mL/min/1.73m2.")] = None,
    condition: Annotated[
        list[str] | None, typer.Option(help="SNOMED CT problem code; repeat for more.")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="host:port of a running server; default in-process.")
    ] = None,
    rules: RulesDir = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
) -> None:
    """Check medicines and print the findings, e.g. `medsopt check 319733000 329806007 --age 78`."""
    from medsopt.cli.checking import run_check

    code = run_check(codes, age, sex, egfr, condition or [], server, Locations(rules, formulary))
    raise typer.Exit(code)


@rules_app.command("check")
def rules_check(
    directory: Annotated[Path, typer.Argument(help="Rules directory.")] = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
) -> None:
    """Validate every rule, group and codelist; print file:line:column diagnostics.

    Exit codes: 0 valid; 1 invalid (diagnostics on stderr); 2 bad option.
    """
    from medsopt.cli.committee import run_rules_check

    raise typer.Exit(run_rules_check(Locations(directory, formulary)))


@rules_app.command("publish")
def rules_publish(
    directory: Annotated[Path, typer.Argument(help="Rules directory.")] = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
) -> None:
    """Check and test the rules; only if both pass, write DIR/PUBLISHED.json (the sha256 of every
    rule and formulary file read) so a server may activate exactly these files.

    Exit codes: 0 published; 1 invalid, a committee test fails, or files changed meanwhile
    (nothing written); 2 bad option.
    """
    from medsopt.cli.committee import run_rules_publish

    raise typer.Exit(run_rules_publish(Locations(directory, formulary)))


@rules_app.command("docs")
def rules_docs(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("site"),
    directory: Annotated[Path, typer.Argument(help="Rules directory.")] = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
) -> None:
    """Render a static HTML catalogue of the rules (by category, drug group, review date)."""
    import datetime

    from medsopt.cli.committee import run_rules_docs

    locations = Locations(directory, formulary)
    raise typer.Exit(run_rules_docs(locations, out, datetime.date.today()))


@rules_app.command("simulate")
def rules_simulate(
    population: Annotated[
        Path, typer.Option(help="Dispensing records (Parquet or CSV), as for `medsopt scan`.")
    ],
    rules: Annotated[Path, typer.Option("--rules", help="Proposed rules directory.")],
    baseline: Annotated[
        Path, typer.Option(help="Current (published) rules directory.")
    ] = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
    patients: Annotated[Path | None, typer.Option(help="Patient table, as for scan.")] = None,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today.")] = None,
    period_days: Annotated[int, typer.Option(help="Measurement period in days.")] = 365,
    threshold: Annotated[
        float, typer.Option(help="Flag rules whose patient count changes by more than this.")
    ] = 0.2,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
) -> None:
    """Compare how often each rule would fire under the proposed and the current rule set.

    Exit codes: 0 compared; 1 a rule set or input is invalid; 2 bad option.
    """
    import datetime

    from medsopt.cli.simulate import run_simulate

    try:
        day = datetime.date.fromisoformat(as_of) if as_of else datetime.date.today()
    except ValueError:
        print(f"invalid --as-of {as_of!r}: use YYYY-MM-DD", file=sys.stderr)
        raise typer.Exit(2) from None  # a bad option, the code the option parser gives
    code = run_simulate(
        Locations(rules, formulary),
        Locations(baseline, formulary),
        population,
        patients,
        day,
        period_days,
        threshold,
        html,
    )
    raise typer.Exit(code)


@rules_app.command("test")
def rules_test(
    directory: Annotated[Path, typer.Argument(help="Rules directory.")] = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
    include_drafts: Annotated[
        bool, typer.Option(help="Run draft rules as if active, to test them before publishing.")
    ] = False,
) -> None:
    """Run the committee test cases in DIR/tests and check every active rule is tested.

    Exit codes: 0 every case passes and every active rule is tested; 1 a case fails, an active
    rule lacks a firing or non-firing case, or the rule set is invalid; 2 bad option.
    """
    from medsopt.cli.committee import run_rules_test

    raise typer.Exit(run_rules_test(Locations(directory, formulary), include_drafts))
