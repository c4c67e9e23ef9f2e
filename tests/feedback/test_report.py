"""`medsopt feedback report`: what a formulary committee reviews, per rule."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from medsopt.cli import app
from medsopt.feedback.migrations import open_database
from medsopt.feedback.models import Coding, Outcome
from medsopt.feedback.report import summarise, to_csv, to_markdown, top_override_reasons
from medsopt.feedback.repository import SqlFeedbackRepository
from tests.feedback.test_database import entry

AWARE = Coding("patient-aware", "https://example.org/override", "Patient aware")
SPECIALIST = Coding("specialist", "https://example.org/override", "Specialist advised")
EVIL = Coding("=cmd", "https://example.org/override", '=HYPERLINK("http://x")')

D = "PINCER-D:0123456789abcdef"
B8 = "STOPP-B8:0123456789abcdef"
ENTRIES = [
    entry(D, request_id="r1", reason=AWARE),
    entry(D, request_id="r2", reason=AWARE),
    entry(D, request_id="r3", reason=SPECIALIST),
    entry(D, request_id="r4", outcome=Outcome.ACCEPTED, reason=None, expires_at=None),
    entry(B8, request_id="r1", outcome=Outcome.ACCEPTED, reason=None, expires_at=None),
    entry(B8, request_id="r2", reason=None, expires_at=None),
    # Sent twice for one finding of one answer: the later one counts.
    entry(B8, request_id="r3", reason=EVIL),
    entry(B8, request_id="r3", outcome=Outcome.ACCEPTED, reason=None, expires_at=None),
]


def test_rates_per_rule_and_top_reasons() -> None:
    d, b8 = summarise(ENTRIES)
    assert (d.rule_id, d.responses, d.accepted, d.overridden) == ("PINCER-D", 4, 1, 3)
    assert d.override_rate == 0.75 and d.acceptance_rate == 0.25
    assert d.top_reasons == (
        ("Patient aware (patient-aware)", 2),
        ("Specialist advised (specialist)", 1),
    )
    assert (b8.rule_id, b8.accepted, b8.overridden) == ("STOPP-B8", 2, 1)
    assert b8.top_reasons == (("(no reason given)", 1),)
    assert top_override_reasons(ENTRIES)[0] == ("Patient aware (patient-aware)", 2)


def test_csv_cells_from_callers_never_become_formulas() -> None:
    text = to_csv(summarise([entry(D, reason=EVIL)]))
    assert "PINCER-D,1,0,1,0.0%,100.0%," in text
    assert ",'=HYPERLINK" in text.replace('"', "")


def test_the_cli_prints_a_markdown_table(tmp_path: Path) -> None:
    target = str(tmp_path / "records.sqlite3")
    database = open_database(target)
    SqlFeedbackRepository(database).record(ENTRIES)
    database.close()
    result = CliRunner().invoke(app, ["feedback", "report", "--database", target])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("| rule | responses | accepted | overridden |")
    assert lines[2] == (
        "| PINCER-D | 4 | 1 | 3 | 25.0% | 75.0% |"
        " Patient aware (patient-aware) x2; Specialist advised (specialist) x1 |"
    )
    assert "| Patient aware (patient-aware) | 2 |" in lines


def test_the_cli_says_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["feedback", "report", "--database", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1


def test_a_callers_newline_or_pipe_cannot_break_the_markdown_table() -> None:
    odd = Coding("odd", "https://example.org/override", "two\nlines | and a pipe")
    text = to_markdown(summarise([entry(D, reason=odd)]), [])
    assert "| two lines \\| and a pipe (odd) x1 |" in text.splitlines()[2]
