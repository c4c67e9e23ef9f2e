"""Build a complete rule set aside (dm+d, rules, committee tests) and activate it only if valid."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from medsopt.authoring.diagnostics import Diagnostic, RuleSetError
from medsopt.committee.cases import parse_cases
from medsopt.committee.runner import run_all
from medsopt.dmd.release.files import DmdExtractError, load_dmd_extract
from medsopt.formulary.biosimilars import compile_biosimilars
from medsopt.formulary.formulary import compile_formulary
from medsopt.rules.compile import Compiled, compile_ruleset
from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.store.adherence import load_adherence_classes
from medsopt.store.sources import read_sources

log = logging.getLogger(__name__)

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


class CommitteeTestsFailedError(Exception):
    """The rule set compiled, but its own committee tests do not pass."""


def compile_sources(
    locations: Locations, include_drafts: bool = False
) -> tuple[Compiled, dict[str, str]]:
    """Load dm+d, the local formulary and adherence classes (if any) and the rules; compile.

    Returns the rule sources too. Raises RuleSetError for any invalid committee file.
    """
    dmd = load_dmd_extract(locations.dmd_dir)
    sources = read_sources(locations.rules_dir)
    formulary = None
    formulary_sources: dict[str, str] = {}
    formulary_warnings: tuple[Diagnostic, ...] = ()
    biosimilars = None
    biosimilar_sources: dict[str, str] = {}
    if locations.biosimilars_dir.is_dir():
        biosimilar_sources = read_sources(locations.biosimilars_dir)
        biosimilars = compile_biosimilars(biosimilar_sources, dmd)
    if locations.local_formulary_dir.is_dir():
        formulary_sources = read_sources(locations.local_formulary_dir)
        formulary, formulary_warnings = compile_formulary(formulary_sources, dmd, biosimilars)
    # The content hash covers the biosimilar table too (keys are only labels for the hash).
    hashed = {
        **formulary_sources,
        **{f"../biosimilars/{p}": t for p, t in biosimilar_sources.items()},
    }
    compiled = compile_ruleset(sources, dmd, include_drafts, formulary, hashed)
    _, class_warnings = load_adherence_classes(locations.formulary_dir, compiled.ruleset)
    warnings = tuple(sorted((*compiled.warnings, *formulary_warnings, *class_warnings)))
    ruleset = dataclasses.replace(compiled.ruleset, biosimilars=biosimilars)
    return dataclasses.replace(compiled, ruleset=ruleset, warnings=warnings), sources


def build(locations: Locations) -> Compiled:
    """Load dm+d, formulary and rules, compile, and run the committee tests; raise on failure."""
    compiled, sources = compile_sources(locations)
    cases, problems = parse_cases(sources)
    if problems:
        raise RuleSetError(problems)
    report = run_all(cases, compiled.ruleset)
    if report.coverage_problems:
        raise RuleSetError(report.coverage_problems)
    if report.failures:
        raise CommitteeTestsFailedError("\n".join(str(f) for f in report.failures))
    return compiled


def load_into(
    holder: RuleSetHolder,
    locations: Locations,
    unchanged: Callable[[], bool] = lambda: True,
) -> Activation | None:
    """Build aside and swap in on success; on failure keep the old set and record why.

    `unchanged` is asked after the build: if the files changed while they were being read, the
    build may mix old and new files, so it is discarded (the caller rebuilds).
    """
    started = time.perf_counter()
    try:
        compiled = build(locations)
    except RuleSetError as error:
        holder.record_failure(error.diagnostics, f"{len(error.diagnostics)} problem(s)")
        log.error("rule set rejected:\n%s", error)
        return None
    except (CommitteeTestsFailedError, DmdExtractError, OSError) as error:
        # OSError: a file vanished or became unreadable mid-read (e.g. a copy in progress).
        holder.record_failure((), str(error))
        log.error("rule set rejected: %s", error)
        return None
    if not unchanged():
        log.info("rule files changed while loading; discarding this build")
        return None
    for warning in compiled.warnings:
        log.warning("%s", warning)
    activation = holder.activate(compiled.ruleset, (time.perf_counter() - started) * 1000)
    identity = compiled.ruleset.identity
    log.info(
        "activated rule set %s %s (%d active rules, hash %s, dm+d %s) in %.0f ms",
        identity.name,
        identity.version,
        len(compiled.ruleset.rules),
        identity.content_hash[:12],
        identity.dmd_release,
        activation.load_millis,
    )
    return activation
