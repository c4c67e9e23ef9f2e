"""`medsopt audit replay` for a request id that was never recorded."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from medsopt.cli import app


def test_an_unknown_request_id_is_an_error(tmp_path: Path) -> None:
    target = str(tmp_path / "records.sqlite3")
    result = CliRunner().invoke(app, ["audit", "replay", "nope", "--database", target])
    assert result.exit_code == 1
    assert "no decision recorded under request id 'nope'" in result.output
