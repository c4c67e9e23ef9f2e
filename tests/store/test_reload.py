"""The reloader: shared builds, rejections recorded once per tree, capped, abandoned on stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import DiagnosticKind
from medsopt.rules.holder import MAX_DIAGNOSTICS, Activation, Cause, FailedAttempt, RuleSetHolder
from medsopt.service.converters import status_to_proto
from medsopt.store import activate
from medsopt.store.activate import Locations, load_into
from medsopt.store.reload import Reloader
from tests.store.publishing import copy_bundled_rules, seal


def wait_for(predicate: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_concurrent_reloads_share_builds() -> None:
    holder = RuleSetHolder()
    reloader = Reloader(holder, Locations())
    results: list[Activation | None] = []
    callers = [
        threading.Thread(target=lambda: results.append(reloader.reload_now())) for _ in range(12)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(300)
    assert len(results) == 12 and all(isinstance(r, Activation) for r in results)
    # The first build, and at most one more shared by every caller that came during it.
    assert reloader.builds <= 2
    assert holder.activations == reloader.builds
    assert len({id(r) for r in results}) == reloader.builds


def test_a_rejected_tree_is_not_rebuilt_every_poll(tmp_path: Path) -> None:
    rules = copy_bundled_rules(tmp_path)
    holder = RuleSetHolder()
    reloader = Reloader(holder, rules, poll_seconds=0.05, quiet_seconds=0.02)
    assert reloader.reload_now() is not None
    reloader.start()
    try:
        (rules.rules_dir / "pincer.yaml").write_text("rules: [\n")
        wait_for(lambda: holder.rejections == 1)
        builds = reloader.builds
        time.sleep(1)  # twenty polls of an unchanged, rejected tree
        assert (holder.rejections, reloader.builds) == (1, builds)
    finally:
        reloader.stop()


def test_an_exception_while_building_is_recorded_without_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(locations: Locations, cancelled: Callable[[], bool]) -> None:
        raise TypeError("unhashable type: 'dict' SECRET-CONTENT")

    monkeypatch.setattr(activate, "build", explode)
    holder = RuleSetHolder()
    failure = load_into(holder, Locations())
    assert isinstance(failure, FailedAttempt)
    assert (failure.cause, failure.message) == (Cause.ERROR, "TypeError while building (see log)")
    assert holder.rejections == 1


def test_stop_abandons_a_build_that_never_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    never = threading.Event()

    def hang(locations: Locations, cancelled: Callable[[], bool]) -> None:
        never.wait()

    monkeypatch.setattr(activate, "build", hang)
    reloader = Reloader(RuleSetHolder(), Locations())
    results: list[Activation | None] = []
    caller = threading.Thread(target=lambda: results.append(reloader.reload_now()))
    caller.start()
    wait_for(lambda: reloader.builds == 1)
    reloader.stop()
    caller.join(10)
    assert not caller.is_alive() and results == [None]
    assert reloader.reload_now() is None  # a stopped reloader starts nothing
    never.set()


def test_a_flood_of_diagnostics_is_capped(tmp_path: Path) -> None:
    rules = copy_bundled_rules(tmp_path)
    bad_rows = 100_000
    with (rules.rules_dir / "codelists" / "pincer-nsaids-oral.csv").open("w") as out:
        out.write("code,term\n" + "12345,x\n" * bad_rows)
    seal(rules)
    holder = RuleSetHolder()
    failure = load_into(holder, rules)
    assert isinstance(failure, FailedAttempt) and failure.cause is Cause.INVALID
    assert len(failure.diagnostics) == MAX_DIAGNOSTICS
    assert failure.omitted_diagnostics >= bad_rows - MAX_DIAGNOSTICS
    assert failure.diagnostics[0].kind is DiagnosticKind.INVALID_CODE
    status = status_to_proto(holder)
    assert status.last_failure.omitted_diagnostics == failure.omitted_diagnostics
    assert status.last_failure.cause == "invalid"
    assert status.ByteSize() < 32_000
