"""The r1/r2 fixture releases imported once per session, and helpers to run the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medsopt.dmd.release.files import import_release

RELEASES = Path(__file__).parents[1] / "data" / "dmd_release"
R1, R2 = RELEASES / "r1", RELEASES / "r2"
FIXTURE_RULES = RELEASES / "rules"


@pytest.fixture(scope="session")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(r1, r2) imported into extract directories."""
    root = tmp_path_factory.mktemp("dmd-extracts")
    import_release(R1, root / "r1")
    import_release(R2, root / "r2")
    return root / "r1", root / "r2"


def medsopt(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the real `medsopt` CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "medsopt", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
