"""Hot reload against a real server process: valid edits go live, invalid ones never do.

Every edit here is followed by `seal` (a manifest written without checks), so the server's own
checks meet the edited files; an edit that is not sealed is never served at all.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from medsopt.store.activate import BUNDLED_RULES, Locations
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import WARFARIN_NAPROXEN, ServerProcess, start_server
from tests.store.publishing import seal

pytestmark = pytest.mark.e2e


class RulesDir:
    """A writable copy of the bundled rules with helpers for committee-style edits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.header = root / "ruleset.yaml"
        self.pincer = root / "pincer.yaml"
        # Pin the copy's version, so the test does not depend on the bundled version string.
        pinned = re.sub(r"(?m)^  version: .*$", "  version: 2026.11.1", self.header.read_text())
        self.header.write_text(pinned)
        self.original_header = pinned
        self.original_pincer = self.pincer.read_text()
        self.seal()

    def seal(self) -> None:
        seal(Locations(self.root))

    def set_version(self, version: str) -> None:
        self.header.write_text(self.original_header.replace("2026.11.1", version))
        self.seal()

    def break_pincer(self) -> None:
        self.pincer.write_text(
            self.original_pincer.replace("severity: moderate", "severty: moderate", 1)
        )
        self.seal()

    def restore_pincer(self) -> None:
        self.pincer.write_text(self.original_pincer)
        self.seal()


@pytest.fixture
def rules(tmp_path: Path) -> RulesDir:
    shutil.copytree(BUNDLED_RULES, tmp_path / "rules")
    return RulesDir(tmp_path / "rules")


@pytest.fixture
def server(rules: RulesDir) -> Iterator[ServerProcess]:
    running = start_server("--rules", str(rules.root), "--poll-seconds", "0.1")
    yield running
    running.stop()


def version(stub: pb_grpc.MedicinesOptimisationStub) -> str:
    answer: pb.CheckMedicationsResponse = stub.CheckMedications(WARFARIN_NAPROXEN, timeout=10)
    return answer.rule_set.version


def wait_for(predicate: object, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_valid_edit_goes_live_invalid_edit_keeps_old_version(
    server: ServerProcess, rules: RulesDir
) -> None:
    with (
        grpc.insecure_channel(server.target) as channel,
        grpc.insecure_channel(server.admin_target) as admin_channel,
    ):
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        admin = pb_grpc.RuleSetAdminStub(admin_channel)
        assert version(stub) == "2026.11.1"

        rules.set_version("2026.11.2")
        wait_for(lambda: version(stub) == "2026.11.2")

        rules.set_version("2026.11.3")
        rules.break_pincer()

        def shown() -> list[str]:
            status = admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest())
            return [
                f"{d.file}:{d.line}:{d.column}: {d.kind}" for d in status.last_failure.diagnostics
            ]

        # (the watcher may first see the edit before its manifest: rejected as unpublished)
        wait_for(
            lambda: any(
                s.startswith("pincer.yaml:") and s.endswith("unknown-field") for s in shown()
            )
        )
        assert version(stub) == "2026.11.2"
        status = admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest())
        assert status.serving and status.active.version == "2026.11.2"
        assert status.last_failure.cause == "invalid"

        rules.restore_pincer()
        wait_for(lambda: version(stub) == "2026.11.3")


def test_explicit_reload_rejects_a_failing_committee_test(
    server: ServerProcess, rules: RulesDir
) -> None:
    with (
        grpc.insecure_channel(server.target) as channel,
        grpc.insecure_channel(server.admin_target) as admin_channel,
    ):
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        admin = pb_grpc.RuleSetAdminStub(admin_channel)
        codelist = rules.root / "codelists" / "pincer-anticoagulants.csv"
        kept = codelist.read_text().splitlines(keepends=True)
        # Deleting warfarin 1mg from the anticoagulant group breaks the PINCER-D test case.
        codelist.write_text("".join(line for line in kept if not line.startswith("319733000,")))
        rules.set_version("2026.11.9")
        status = admin.ReloadRuleSet(pb.ReloadRuleSetRequest())
        assert status.active.version == "2026.11.1"
        assert status.last_failure.cause == "committee-tests"
        assert "expected PINCER-D to fire" in status.last_failure.message
        assert version(stub) == "2026.11.1"


def test_reload_refuses_a_broken_adherence_class_file_and_keeps_serving(
    formulary_copy: Path, rules: RulesDir
) -> None:
    locations = Locations(rules.root, formulary_copy)
    seal(locations)
    running = start_server(
        "--rules", str(rules.root), "--formulary", str(formulary_copy), "--no-watch"
    )
    try:
        with (
            grpc.insecure_channel(running.target) as channel,
            grpc.insecure_channel(running.admin_target) as admin_channel,
        ):
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            admin = pb_grpc.RuleSetAdminStub(admin_channel)
            before = admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest())
            classes = formulary_copy / "adherence-classes.yaml"
            text = classes.read_text()
            classes.write_text(text.replace("groups: [ras-blockers]", "groups: ras-blockers", 1))
            seal(locations)
            status = admin.ReloadRuleSet(pb.ReloadRuleSetRequest())
            assert (status.activations, status.rejections) == (before.activations, 1)
            assert status.active.content_hash == before.active.content_hash
            assert status.activated_at == before.activated_at
            line = 1 + text.splitlines().index("    groups: [ras-blockers]")
            shown = [
                f"{d.file}:{d.line}:{d.column}: {d.kind}" for d in status.last_failure.diagnostics
            ]
            assert shown == [f"adherence-classes.yaml:{line}:5: invalid-value"], shown
            assert version(stub) == before.active.version  # still answering with the old set
    finally:
        running.stop()


def test_reload_under_load_never_fails_a_request_or_mixes_versions(
    server: ServerProcess, rules: RulesDir
) -> None:
    valid = {"2026.11.1", "2026.11.4", "2026.11.5"}
    seen: list[str] = []
    failures: list[str] = []
    done = threading.Event()

    def client() -> None:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            deadline = time.monotonic() + 60
            while not done.is_set() and time.monotonic() < deadline:
                try:
                    seen.append(version(stub))
                except grpc.RpcError as error:
                    failures.append(f"{error.code()}: {error.details()}")

    clients = [threading.Thread(target=client) for _ in range(2)]
    for thread in clients:
        thread.start()
    try:
        for cycle in range(6):
            rules.set_version("2026.11.4" if cycle % 2 else "2026.11.5")
            time.sleep(0.4)
            rules.break_pincer()
            time.sleep(0.4)
            rules.restore_pincer()
            # a partial write, sealed by mistake: an editor saving in two steps
            text = rules.original_header.replace("2026.11.1", "2026.11.4")
            rules.header.write_text(text[: len(text) // 2])
            rules.seal()
            rules.header.write_text(text)
            time.sleep(0.3)  # unsealed: never served
            rules.seal()
    finally:
        done.set()
        for thread in clients:
            thread.join(30)
    assert not failures
    assert len(seen) > 50
    assert set(seen) <= valid, set(seen) - valid
