"""The hazard log in docs/safety is tied to the tests that verify its controls."""

from __future__ import annotations

import ast
import re
from enum import StrEnum
from functools import cache
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parent.parent
HAZARD_LOG = ROOT / "docs" / "safety" / "hazard-log.yaml"

# Hazards a deployment review asked the safety case to cover (issue 13).
REQUIRED = frozenset(
    {
        "half-published-rule-set",
        "template-disables-check",
        "admin-exposed",
        "hostile-committee-file",
        "unreadable-errors",
        "spreadsheet-formulas",
        "draining",
        "no-transport-security",
        "unresolvable-code-ignored",
        "stale-rule-set-or-dmd",
        "spurious-alerts-after-change",
        "internal-error-as-no-alerts",
        "wrong-or-stale-answer",
        "rows-dropped-in-scan",
        "codes-corrupted-by-spreadsheets",
        "information-leak",
    }
)


class Likelihood(StrEnum):
    VERY_LOW = "very low"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very high"


class Severity(StrEnum):
    MINOR = "minor"
    SIGNIFICANT = "significant"
    CONSIDERABLE = "considerable"
    MAJOR = "major"
    CATASTROPHIC = "catastrophic"


# The matrix in docs/safety/README.md: rows by severity, columns by likelihood.
MATRIX: dict[Severity, tuple[int, int, int, int, int]] = {
    Severity.CATASTROPHIC: (3, 4, 4, 5, 5),
    Severity.MAJOR: (2, 3, 3, 4, 5),
    Severity.CONSIDERABLE: (2, 2, 3, 3, 4),
    Severity.SIGNIFICANT: (1, 2, 2, 3, 3),
    Severity.MINOR: (1, 1, 2, 2, 3),
}


class Risk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    likelihood: Likelihood
    severity: Severity
    rating: int = Field(ge=1, le=5)

    def expected(self) -> int:
        return MATRIX[self.severity][list(Likelihood).index(self.likelihood)]


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    control: str = Field(min_length=10)
    verified_by: tuple[str, ...]


class Hazard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^H-\d{2}$")
    title: str
    covers: tuple[str, ...] = Field(min_length=1)
    cause: str
    effect: str
    harm: str
    controls: tuple[Control, ...] = Field(min_length=1)
    initial_risk: Risk
    residual_risk: Risk
    residual_note: str = ""
    status: str = Field(pattern="^(controlled|open)$")


class HazardLog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    hazards: tuple[Hazard, ...]


@cache
def hazard_log() -> HazardLog:
    return HazardLog.model_validate(yaml.safe_load(HAZARD_LOG.read_text()))


NODE = re.compile(r"^(?P<path>tests/[\w/]+\.py)::(?P<name>\w+)(?:\[(?P<param>[^\]]+)\])?$")


@cache
def functions_in(path: Path) -> frozenset[str]:
    """Test functions defined in a module (module level or in Test* classes)."""
    tree = ast.parse(path.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{m.name}" for m in node.body if isinstance(m, ast.FunctionDef)}
    return frozenset(n for n in names if n.split("::")[-1].startswith("test_"))


def missing_test(node_id: str) -> str | None:
    """Why `node_id` names no test, or None when it does."""
    match = NODE.match(node_id)
    if match is None:
        return f"{node_id!r} is not a pytest node id (tests/…py::test_name[param])"
    path = ROOT / match["path"]
    if not path.is_file():
        return f"{node_id}: no file {match['path']}"
    if match["name"] not in functions_in(path):
        return f"{node_id}: no test {match['name']} in {match['path']}"
    return None


def verified_by() -> list[tuple[str, str]]:
    return [
        (hazard.id, node)
        for hazard in hazard_log().hazards
        for control in hazard.controls
        for node in control.verified_by
    ]


@pytest.mark.parametrize(("hazard", "node"), verified_by())
def test_every_named_test_exists(hazard: str, node: str) -> None:
    assert missing_test(node) is None, f"{hazard}: {missing_test(node)}"


def test_a_missing_test_is_caught() -> None:
    assert missing_test("tests/test_safety_case.py::test_every_named_test_exists") is None
    assert "no test" in (missing_test("tests/test_safety_case.py::test_nothing_here") or "")
    assert "no file" in (missing_test("tests/nowhere.py::test_x") or "")
    assert "not a pytest node id" in (missing_test("make test") or "")


def test_every_required_hazard_is_covered_and_ids_are_unique() -> None:
    hazards = hazard_log().hazards
    covered = {tag for hazard in hazards for tag in hazard.covers}
    assert covered >= REQUIRED, f"not covered: {sorted(REQUIRED - covered)}"
    ids = [hazard.id for hazard in hazards]
    assert len(ids) == len(set(ids))


def test_ratings_follow_the_matrix_and_controlled_hazards_are_acceptable() -> None:
    for hazard in hazard_log().hazards:
        for risk in (hazard.initial_risk, hazard.residual_risk):
            assert risk.rating == risk.expected(), f"{hazard.id}: {risk}"
        if hazard.status == "controlled":
            assert hazard.residual_risk.rating <= 3, hazard.id
            assert all(control.verified_by for control in hazard.controls), hazard.id
            if hazard.residual_risk.rating == 3:
                assert hazard.residual_note, f"{hazard.id}: rating 3 needs its reason"


def test_make_test_runs_the_security_checks() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "bandit -c pyproject.toml" in recipe
    assert "scripts/audit_dependencies.py" in recipe
