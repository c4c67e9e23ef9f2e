"""Attacks on the rule store, against a real server process (issue 13): each gets the safe outcome.

A half-written codelist is never served; an alias bomb, a `!!python/name` tag, an unhashable
key and a link to a system file are bounded rejections, visible in GetRuleSetStatus with
file:line:column and without echoing content; a flood of diagnostics leaves the status small;
SIGTERM stops the server during a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from medsopt.store.activate import Locations
from medsopt.store.manifest import write_manifest
from medsopt.v1 import medsopt_pb2 as pb
from medsopt.v1 import medsopt_pb2_grpc as pb_grpc
from tests.e2e.server_process import ServerProcess, start_server
from tests.store.publishing import copy_bundled_rules, seal

pytestmark = pytest.mark.e2e
NSAIDS = "codelists/pincer-nsaids-oral.csv"
# Warfarin 1mg tablets + Paracetamol 500mg / Ibuprofen 200mg tablets (line 1264 of 1467 of the
# PINCER NSAID codelist: a write paused at line 1200 leaves it out).
WARFARIN_IBUPROFEN = pb.CheckMedicationsRequest(
    patient=pb.PatientContext(age_years=78, egfr=60),
    medications=[
        pb.Medication(ref="w", code="319733000"),
        pb.Medication(ref="i", code="18595211000001106"),
    ],
)
SECRET = "root:x:0:0:SECRET-LINE:/root:/bin/bash\n"


@pytest.fixture
def rules(tmp_path: Path) -> Locations:
    return copy_bundled_rules(tmp_path)


@pytest.fixture
def server(rules: Locations) -> Iterator[ServerProcess]:
    running = start_server(
        "--rules", str(rules.rules_dir), "--poll-seconds", "0.1", "--reload-every", "0.05"
    )
    yield running
    running.stop()


def status(target: str) -> pb.RuleSetStatus:
    with grpc.insecure_channel(target) as channel:
        admin = pb_grpc.RuleSetAdminStub(channel)
        answer: pb.RuleSetStatus = admin.GetRuleSetStatus(pb.GetRuleSetStatusRequest(), timeout=30)
        return answer


def reload(target: str) -> pb.RuleSetStatus:
    with grpc.insecure_channel(target) as channel:
        admin = pb_grpc.RuleSetAdminStub(channel)
        answer: pb.RuleSetStatus = admin.ReloadRuleSet(pb.ReloadRuleSetRequest(), timeout=300)
        return answer


def raises_pincer_d(answer: pb.CheckMedicationsResponse) -> bool:
    return any(
        finding.rule_id == "PINCER-D" or any(s.rule_id == "PINCER-D" for s in finding.sources)
        for finding in answer.findings
    )


def resident_kib(server: ServerProcess) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def shown(answer: pb.RuleSetStatus) -> list[str]:
    return [f"{d.file}:{d.line}:{d.column}: {d.kind}" for d in answer.last_failure.diagnostics]


def test_a_half_written_codelist_is_never_served(server: ServerProcess, rules: Locations) -> None:
    codelist = rules.rules_dir / NSAIDS
    lines = codelist.read_bytes().splitlines(keepends=True)
    assert len(lines) == 1467
    answers: list[pb.CheckMedicationsResponse] = []
    done = threading.Event()

    def client() -> None:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.MedicinesOptimisationStub(channel)
            while not done.is_set():
                answers.append(stub.CheckMedications(WARFARIN_IBUPROFEN, timeout=30))
                time.sleep(0.02)

    clients = [threading.Thread(target=client) for _ in range(2)]
    for thread in clients:
        thread.start()
    try:
        with codelist.open("wb") as out:  # rewritten in place, pausing after line 1200
            out.writelines(lines[:1200])
            out.flush()
            deadline = time.monotonic() + 60
            while status(server.admin_target).last_failure.cause != "unpublished":
                assert time.monotonic() < deadline, "the half-written file was never looked at"
                time.sleep(0.1)
            during = status(server.admin_target)
            # Keep the file half-written until clients have been answered meanwhile (however
            # slow the machine), so the window is always exercised.
            seen = len(answers)
            while len(answers) < seen + 10:
                assert time.monotonic() < deadline, "no answers while the file was half-written"
                time.sleep(0.05)
            out.writelines(lines[1200:])
    finally:
        done.set()
        for thread in clients:
            thread.join(60)
    assert shown(during) == [f"rules/{NSAIDS}:1:1: unpublished"]
    assert during.last_failure.diagnostics[0].message == "changed since it was published"
    assert len(answers) > 10
    lacking = [a for a in answers if not raises_pincer_d(a)]
    assert not lacking, f"{len(lacking)} of {len(answers)} answers lack PINCER-D"


def test_an_alias_bomb_is_a_bounded_rejection(server: ServerProcess, rules: Locations) -> None:
    before = status(server.admin_target)
    resident = resident_kib(server)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    (rules.rules_dir / "bomb.yaml").write_text("\n".join(lines) + "\n")
    seal(rules)  # published by hand: the server's own parser meets the bomb
    after = reload(server.admin_target)
    assert shown(after) == ["bomb.yaml:2:8: yaml-alias"]
    assert after.last_failure.cause == "invalid"
    assert after.active.content_hash == before.active.content_hash
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.MedicinesOptimisationStub(channel)
        assert raises_pincer_d(stub.CheckMedications(WARFARIN_IBUPROFEN, timeout=30))
    # 9**9 values had it been expanded; a bounded rejection costs no real memory
    assert resident_kib(server) < resident + 200 * 1024
    assert server.stop() == 0


def test_sigterm_stops_the_server_during_a_build(server: ServerProcess, rules: Locations) -> None:
    header = rules.rules_dir / "ruleset.yaml"
    header.write_text(header.read_text().replace("version: ", "version: 9", 1))
    seal(rules)

    def building() -> int:
        return sum("building the rule set" in line for line in server.output)

    def ask() -> None:
        with contextlib.suppress(grpc.RpcError):  # the server is going away
            reload(server.admin_target)

    started = building()
    asking = threading.Thread(target=ask)
    asking.start()
    deadline = time.monotonic() + 60
    while building() == started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.stop() == 0
    asking.join(30)
    assert not any("activated rule set medsopt-bundled 9" in line for line in server.output)


def test_tags_and_unhashable_keys_are_rejections_with_positions(
    server: ServerProcess, rules: Locations
) -> None:
    pincer = rules.rules_dir / "pincer.yaml"
    text = pincer.read_text()
    line = text.splitlines().index("    rationale: >-") + 1
    pincer.write_text(
        text.replace("    rationale: >-", "    rationale: !!python/name:os.system >-", 1)
    )
    classes = rules.rules_dir / "duplication" / "classes.yaml"
    kept = classes.read_text()
    key_line = kept.splitlines().index("therapeutic_classes:") + 1
    top = "therapeutic_classes:\n"
    classes.write_text(kept.replace(top, "? [unhashable, key]\n: 1\n" + top, 1))
    seal(rules)
    answer = reload(server.admin_target)  # an answer, not UNKNOWN
    assert answer.serving and answer.last_failure.cause == "invalid"
    expected = {
        f"duplication/classes.yaml:{key_line}:3: yaml-key",
        f"pincer.yaml:{line}:16: yaml-tag",
    }
    # (rules that name the classes of the refused file add unknown-reference diagnostics)
    assert expected <= set(shown(answer)), shown(answer)


def test_a_codelist_linked_to_a_system_file_is_refused_unechoed(
    server: ServerProcess, rules: Locations, tmp_path: Path
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(SECRET)
    codelist = rules.rules_dir / NSAIDS
    codelist.unlink()
    codelist.symlink_to(secret)
    unpublished = reload(server.admin_target)
    assert shown(unpublished) == [f"rules/{NSAIDS}:1:1: unsafe-file"]
    # Even a manifest listing the system file's own hash does not get it read.
    files = json.loads((rules.rules_dir / "PUBLISHED.json").read_text())["files"]
    files[f"rules/{NSAIDS}"] = hashlib.sha256(SECRET.encode()).hexdigest()
    write_manifest(rules, "hand", "written", files)
    handwritten = reload(server.admin_target)
    assert shown(handwritten) == [f"rules/{NSAIDS}:1:1: unsafe-file"]
    for answer in (unpublished, handwritten):
        assert "SECRET" not in str(answer)
        assert answer.active.version and answer.serving


def test_a_flood_of_diagnostics_leaves_the_status_small(
    server: ServerProcess, rules: Locations
) -> None:
    rows = 300_000
    with (rules.rules_dir / NSAIDS).open("w") as out:
        out.write("code,term\n" + "12345,x\n" * rows)
    seal(rules)
    answer = reload(server.admin_target)  # a default client reads it (4 MiB limit)
    assert answer.last_failure.cause == "invalid"
    assert len(answer.last_failure.diagnostics) == 50
    assert answer.last_failure.omitted_diagnostics >= rows - 50
    assert answer.ByteSize() < 32_000
