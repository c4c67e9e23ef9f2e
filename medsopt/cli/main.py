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
    admin_host: Annotated[
        str, typer.Option(envvar="MEDSOPT_ADMIN_HOST", help="Where RuleSetAdmin listens.")
    ] = "127.0.0.1",
    admin_port: Annotated[
        int | None,
        typer.Option(envvar="MEDSOPT_ADMIN_PORT", help="RuleSetAdmin's port; default --port + 1."),
    ] = None,
    admin_rate: Annotated[
        float, typer.Option(envvar="MEDSOPT_ADMIN_RATE", min=0.01, help="Admin calls/second.")
    ] = 50.0,
    reload_every: Annotated[
        float,
        typer.Option(
            envvar="MEDSOPT_RELOAD_EVERY", min=0.01, help="Seconds between explicit reloads."
        ),
    ] = 30.0,
    drain_seconds: Annotated[
        float,
        typer.Option(
            envvar="MEDSOPT_DRAIN_SECONDS",
            min=0,
            help="On SIGTERM: NOT_SERVING, still answering for this long, then stop.",
        ),
    ] = 5.0,
    tls_cert: Annotated[
        Path | None, typer.Option(envvar="MEDSOPT_TLS_CERT", help="Server certificate chain (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(envvar="MEDSOPT_TLS_KEY", help="Server private key (PEM).")
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            envvar="MEDSOPT_TLS_CLIENT_CA", help="Require client certificates from this CA (mTLS)."
        ),
    ] = None,
    token_issuer: Annotated[
        str | None, typer.Option(envvar="MEDSOPT_TOKEN_ISSUER", help="Tokens' `iss`.")
    ] = None,
    token_audience: Annotated[
        str | None, typer.Option(envvar="MEDSOPT_TOKEN_AUDIENCE", help="Tokens' `aud`.")
    ] = None,
    token_public_key: Annotated[
        Path | None,
        typer.Option(envvar="MEDSOPT_TOKEN_PUBLIC_KEY", help="Token signing public key (PEM)."),
    ] = None,
    token_jwks: Annotated[
        Path | None, typer.Option(envvar="MEDSOPT_TOKEN_JWKS", help="Token signing keys (JWKS).")
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            envvar="MEDSOPT_INSECURE",
            help="Allow a non-loopback address without TLS and tokens (warns loudly).",
        ),
    ] = False,
    reflection: Annotated[
        bool, typer.Option(envvar="MEDSOPT_REFLECTION", help="Offer server reflection.")
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            envvar="MEDSOPT_WORKERS",
            help="Server processes sharing the port; default: one per core. 1: no sharing.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(envvar="MEDSOPT_METRICS_PORT", help="Serve Prometheus /metrics here."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(envvar="MEDSOPT_METRICS_HOST")] = "127.0.0.1",
    keepalive_seconds: Annotated[
        float, typer.Option(min=1, help="Ping idle connections this often.")
    ] = 60.0,
    max_connection_age_seconds: Annotated[
        float | None,
        typer.Option(min=1, help="Close connections after this long (spreads load again)."),
    ] = None,
    max_connection_age_grace_seconds: Annotated[
        float | None, typer.Option(min=0, help="Time given to calls on an aged connection.")
    ] = None,
    max_connection_idle_seconds: Annotated[
        float | None, typer.Option(min=1, help="Close connections idle this long.")
    ] = None,
) -> None:
    """Serve medsopt.v1.MedicinesOptimisation over gRPC on the bundled (or given) rules.

    With no TLS or token options it listens on 127.0.0.1 only; any other address needs TLS and
    tokens (or --insecure). RuleSetAdmin listens on its own port (--admin-port).
    With --workers N (default: one per core) N processes share the port under one parent.
    Exit codes: 0 stopped by SIGTERM/SIGINT (every worker drained); 1 the port could not be
    bound; 2 a bad option or an unsafe exposure.
    """
    import os

    from medsopt.service.connection import ConnectionSettings
    from medsopt.service.ratelimit import AdminLimits
    from medsopt.service.security import SecurityConfig, check_exposure
    from medsopt.service.server import ServerConfig
    from medsopt.service.workers import LOG_FORMAT, MetricsEndpoint, run

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        security = SecurityConfig.from_options(
            tls_cert,
            tls_key,
            tls_client_ca,
            token_issuer,
            token_audience,
            token_public_key,
            token_jwks,
            insecure,
        )
        config = ServerConfig(
            host=host,
            port=port,
            locations=Locations(rules, formulary),
            watch=watch,
            poll_seconds=poll_seconds,
            admin_host=admin_host,
            admin_port=admin_port,
            admin_limits=AdminLimits(
                calls_per_second=admin_rate, reload_every_seconds=reload_every
            ),
            security=security,
            reflection=reflection,
            drain_seconds=drain_seconds,
            database=database or default_database(),
            connection=ConnectionSettings(
                keepalive_seconds=keepalive_seconds,
                max_connection_age_seconds=max_connection_age_seconds,
                max_connection_age_grace_seconds=max_connection_age_grace_seconds,
                max_connection_idle_seconds=max_connection_idle_seconds,
            ),
        )
        # Refused here, before any worker starts, so an unsafe address is one clear exit 2.
        for listener_host in (host, admin_host):
            check_exposure(listener_host, security)
    except ValueError as error:  # a half-given TLS or token setting, or an unsafe exposure
        print(f"medsopt serve: {error}", file=sys.stderr)
        raise typer.Exit(2) from None
    metrics = None if metrics_port is None else MetricsEndpoint(metrics_host, metrics_port)
    count = workers or len(os.sched_getaffinity(0))
    raise typer.Exit(run(config, count, metrics))


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
    tls_ca: Annotated[
        Path | None, typer.Option(help="With --server: TLS, trusting this CA certificate (PEM).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="With --tls-ca: this client certificate (PEM), for mTLS.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="With --tls-cert: the client certificate's key (PEM).")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="With --server: a file holding the bearer token (JWT).")
    ] = None,
    rules: RulesDir = BUNDLED_RULES,
    formulary: FormularyDir = BUNDLED_FORMULARY,
) -> None:
    """Check medicines and print the findings, e.g. `medsopt check 319733000 329806007 --age 78`."""
    from medsopt.cli.checking import Connection, run_check

    connection = (
        Connection(server, tls_ca, tls_cert, tls_key, token_file) if server is not None else None
    )
    locations = Locations(rules, formulary)
    code = run_check(codes, age, sex, egfr, condition or [], connection, locations)
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
