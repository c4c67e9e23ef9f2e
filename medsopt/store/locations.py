"""Where a rule set comes from: the rules directory and the formulary directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_RULES = REPO_ROOT / "rules"
BUNDLED_FORMULARY = REPO_ROOT / "formulary"


@dataclass(frozen=True, slots=True)
class Locations:
    """Where a rule set comes from."""

    rules_dir: Path = BUNDLED_RULES
    formulary_dir: Path = BUNDLED_FORMULARY

    @property
    def dmd_dir(self) -> Path:
        return self.formulary_dir / "dmd" / "bundled"

    @property
    def local_formulary_dir(self) -> Path:
        return self.formulary_dir / "local"

    @property
    def biosimilars_dir(self) -> Path:
        return self.formulary_dir / "biosimilars"
