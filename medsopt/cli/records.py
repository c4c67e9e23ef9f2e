"""`medsopt feedback report` and `medsopt audit replay`: reading the server's records."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations

feedback_app = typer.Typer(no_args_is_help=True, help="Prescribers' feedback on findings.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit of every decision.")

DatabaseOption = typer.Option(
    "--database",
    envvar="MEDSOPT_DATABASE",
    help="Feedback and audit records: a SQLite file or a postgresql:// DSN"
    " (default: ~/.local/state/medsopt/records.sqlite3).",
)


def default_database() -> str:
    from medsopt.audit.records import default_database as default

    return default()


class ReportFormat(enum.Enum):
    MARKDOWN = "markdown"
    CSV = "csv"


@feedback_app.command("report")
def feedback_report(
    database: Annotated[str | None, DatabaseOption] = None,
    output: Annotated[ReportFormat, typer.Option("--format", help="markdown or csv.")] = (
        ReportFormat.MARKDOWN
    ),
) -> None:
    """Acceptance and override rates per rule and the top override reasons, on stdout.

    Exit codes: 0 written (also with no feedback yet); 1 the records cannot be read.
    """
    from medsopt.feedback import report
    from medsopt.feedback.migrations import open_database
    from medsopt.feedback.repository import SqlFeedbackRepository

    try:
        records = open_database(database or default_database())
    except Exception as error:  # a bad path or DSN: say so, no traceback
        print(f"cannot open the records database: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    try:
        entries = SqlFeedbackRepository(records).entries()
    finally:
        records.close()
    rows = report.summarise(entries)
    if output is ReportFormat.CSV:
        sys.stdout.write(report.to_csv(rows))
    else:
        sys.stdout.write(report.to_markdown(rows, report.top_override_reasons(entries)))


@audit_app.command("replay")
def audit_replay(
    request_id: Annotated[str, typer.Argument(help="The x-request-id of the decision.")],
    database: Annotated[str | None, DatabaseOption] = None,
    rules: Annotated[Path, typer.Option("--rules", envvar="MEDSOPT_RULES_DIR")] = BUNDLED_RULES,
    formulary: Annotated[
        Path, typer.Option("--formulary", envvar="MEDSOPT_FORMULARY_DIR")
    ] = BUNDLED_FORMULARY,
) -> None:
    """Re-run a recorded decision against a rule set and compare the finding ids.

    Exit codes: 0 every decision under the id gives the same finding ids; 1 a mismatch, no
    such decision, or records or rules that cannot be read.
    """
    raise typer.Exit(run_replay(request_id, database or default_database(), rules, formulary))


def run_replay(request_id: str, database: str, rules: Path, formulary: Path) -> int:
    """Print each decision recorded under `request_id` and its replay; the exit code."""
    from medsopt.audit.replay import describe, replay
    from medsopt.audit.repository import AuditRepository
    from medsopt.feedback.migrations import open_database
    from medsopt.store.activate import build

    records = open_database(database)
    try:
        found = AuditRepository(records).find(request_id)
    finally:
        records.close()
    if not found:
        print(f"no decision recorded under request id {request_id!r}", file=sys.stderr)
        return 1
    ruleset = build(Locations(rules, formulary)).ruleset
    outcomes = [replay(record, ruleset) for record in found]
    for outcome in outcomes:
        print("\n".join(describe(outcome)))
    return 0 if all(o.same_findings for o in outcomes) else 1
