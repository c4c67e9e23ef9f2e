"""Build a complete rule set aside (dm+d, rules, committee tests) and activate it only if valid."""

from __future__ import annotations

import dataclasses
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from medsopt.authoring.diagnostics import Diagnostic, RuleSetError
from medsopt.committee.cases import parse_cases
from medsopt.committee.runner import run_all
from medsopt.dmd.release.files import DmdExtractError, load_dmd_extract
from medsopt.formulary.biosimilars import compile_biosimilars
from medsopt.formulary.formulary import compile_formulary
from medsopt.rules.compile import Compiled, compile_ruleset
from medsopt.rules.holder import Activation, Cause, FailedAttempt, RuleSetHolder
from medsopt.store.adherence import load_adherence_classes
from medsopt.store.locations import BUNDLED_FORMULARY, BUNDLED_RULES, Locations
from medsopt.store.manifest import Manifest, verify_published
from medsopt.store.sources import read_sources

__all__ = ["BUNDLED_FORMULARY", "BUNDLED_RULES", "Locations", "build", "load_into"]

log = logging.getLogger(__name__)
# The log names the first problems; the status holds the first MAX_DIAGNOSTICS.
LOGGED_DIAGNOSTICS = 20


class CommitteeTestsFailedError(Exception):
    """The rule set compiled, but its own committee tests do not pass."""


class BuildAbandonedError(Exception):
    """The build was abandoned (the server is stopping); nothing is recorded."""


def _never() -> bool:
    return False


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused (as it was before, after).

    A build allocates millions of small objects and frees few: every collection pass walks
    all of them again and found nothing worth it (about a fifth of a build's CPU time). Any
    cycles it leaves are collected by the next pass after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build(locations: Locations, cancelled: Callable[[], bool] = _never) -> Compiled:
    """Load dm+d, formulary and rules, compile, and run the committee tests; raise on failure.

    `cancelled` is asked between stages: when it says so, BuildAbandonedError is raised.
    """
    with _collector_paused():
        return _build(locations, cancelled)


def _build(locations: Locations, cancelled: Callable[[], bool]) -> Compiled:
    compiled, sources = compile_sources(locations)
    if cancelled():
        raise BuildAbandonedError
    cases, problems = parse_cases(sources)
    if problems:
        raise RuleSetError(problems)
    if cancelled():
        raise BuildAbandonedError
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
    cancelled: Callable[[], bool] = _never,
) -> Activation | FailedAttempt | None:
    """Verify the published manifest, build aside, and swap in on success.

    On failure the old set keeps serving and the failure is recorded (and returned). `unchanged`
    is asked after the build: if the files changed while they were being read, the build may
    mix old and new files, so it is discarded (None; the caller rebuilds). An abandoned build
    (`cancelled`) also gives None.
    """
    started = time.perf_counter()
    try:
        manifest, manifest_sha256 = _published(locations)
        compiled = build(locations, cancelled)
    except _UnpublishedError as error:
        return _reject(
            holder,
            error.diagnostics,
            Cause.UNPUBLISHED,
            "files do not match the published manifest (publish with `medsopt rules publish`)",
        )
    except RuleSetError as error:
        return _reject(holder, error.diagnostics, Cause.INVALID, "")
    except CommitteeTestsFailedError as error:
        return _reject(holder, (), Cause.COMMITTEE_TESTS, str(error))
    except DmdExtractError as error:
        return _reject(holder, (), Cause.DMD_EXTRACT, str(error))
    except BuildAbandonedError:
        log.info("rule set build abandoned")
        return None
    except OSError as error:
        # a file vanished or became unreadable mid-read (e.g. a copy in progress)
        reason = f"{type(error).__name__} ({error.strerror or 'unreadable'}): {error.filename}"
        return _reject(holder, (), Cause.UNREADABLE, reason)
    except Exception as error:  # a bad file must never take the reloader down with it
        log.exception("rule set build failed unexpectedly")
        return _reject(holder, (), Cause.ERROR, f"{type(error).__name__} while building (see log)")
    if cancelled():
        return None
    if not unchanged():
        log.info("rule files changed while loading; discarding this build")
        return None
    for warning in compiled.warnings:
        log.warning("%s", warning)
    millis = (time.perf_counter() - started) * 1000
    activation = holder.activate(compiled.ruleset, millis, manifest_sha256)
    identity = compiled.ruleset.identity
    log.info(
        "activated rule set %s %s (%d active rules, hash %s, dm+d %s, published %s %s) in %.0f ms",
        identity.name,
        identity.version,
        len(compiled.ruleset.rules),
        identity.content_hash[:12],
        identity.dmd_release,
        manifest.rule_set.version,
        manifest_sha256[:12],
        activation.load_millis,
    )
    return activation


class _UnpublishedError(RuleSetError):
    """The tree does not match its published manifest."""


def _published(locations: Locations) -> tuple[Manifest, str]:
    try:
        return verify_published(locations)
    except RuleSetError as error:
        raise _UnpublishedError(error.diagnostics) from None


def _reject(
    holder: RuleSetHolder, diagnostics: tuple[Diagnostic, ...], cause: Cause, message: str
) -> FailedAttempt:
    summary = f"{len(diagnostics)} problem(s)" + (f": {message}" if message else "")
    failure = holder.record_failure(diagnostics, summary if diagnostics else message, cause)
    shown = "\n".join(str(d) for d in failure.diagnostics[:LOGGED_DIAGNOSTICS])
    more = len(diagnostics) - min(len(diagnostics), LOGGED_DIAGNOSTICS)
    log.error(
        "rule set rejected (%s): %s%s%s",
        cause,
        failure.message,
        f"\n{shown}" if shown else "",
        f"\n... and {more} more" if more else "",
    )
    return failure
