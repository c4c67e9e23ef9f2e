"""Each decision is audited and can be replayed: the same rule set gives the same finding ids,
another rule set is reported as a mismatch."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from medsopt.audit.record import digest
from medsopt.audit.replay import TamperedRecordError, describe, replay
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations, compile_sources
from medsopt.v1 import medsopt_pb2 as pb
from tests.feedback.serving import Served, decline, serving, warfarin_naproxen


@pytest.fixture
def served(bundled: RuleSet, database_target: str) -> Iterator[Served]:
    with serving(bundled, database_target) as running:
        yield running


def test_a_decision_is_audited_with_everything_needed_to_replay_it(
    served: Served, bundled: RuleSet
) -> None:
    request = warfarin_naproxen()
    response, request_id = served.check(request, request_id="epr-4711")
    served.records.audit.flush()
    (record,) = served.records.audit_log.find("epr-4711")
    assert record.request_id == request_id == "epr-4711"
    assert record.caller == "anonymous"
    assert record.as_of == "2026-12-06"
    assert (record.ruleset_version, record.ruleset_hash) == (
        bundled.identity.version,
        bundled.identity.content_hash,
    )
    assert record.request == request.SerializeToString(deterministic=True)
    assert record.request_sha256 == digest(record.request)
    assert record.finding_ids == tuple(f.finding_id for f in response.findings)
    assert record.suppressed_ids == ()

    outcome = replay(record, bundled)
    assert outcome.same_rule_set and outcome.same_findings
    assert describe(outcome)[-1] == "  replay: SAME finding ids"


def test_a_suppressed_finding_is_audited_and_replays_too(served: Served, bundled: RuleSet) -> None:
    response, request_id = served.check(warfarin_naproxen())
    pincer_d = next(f.finding_id for f in response.findings if f.rule_id == "PINCER-D")
    served.stub.RecordFeedback(
        pb.RecordFeedbackRequest(
            request_id=request_id, patient_ref="patient-17", feedback=[decline(pincer_d)]
        ),
        timeout=10,
    )
    _, second = served.check(warfarin_naproxen())
    served.records.audit.flush()
    (record,) = served.records.audit_log.find(second)
    assert record.suppressed_ids == (pincer_d,)
    assert pincer_d in record.finding_ids
    assert replay(record, bundled).same_findings


def test_a_different_rule_set_is_reported_as_a_mismatch(
    served: Served, bundled: RuleSet, spec: RuleSet
) -> None:
    _, request_id = served.check(warfarin_naproxen())
    served.records.audit.flush()
    (record,) = served.records.audit_log.find(request_id)
    outcome = replay(record, spec)
    assert not outcome.same_rule_set
    assert not outcome.same_findings
    assert outcome.missing  # what the bundled rule set found is not found by the other
    lines = describe(outcome)
    assert "(DIFFERENT rule set)" in lines[2]
    assert lines[-1].startswith("  replay: MISMATCH (missing now: ")


def test_a_rule_withdrawn_since_is_named_in_the_mismatch(
    served: Served, bundled: RuleSet, tmp_path: Path
) -> None:
    _, request_id = served.check(warfarin_naproxen())
    served.records.audit.flush()
    (record,) = served.records.audit_log.find(request_id)
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    pincer = rules / "pincer.yaml"
    text = pincer.read_text()
    start = text.index("  - id: PINCER-D\n")
    end = text.index("status: active", start)
    pincer.write_text(text[:end] + "status: draft" + text[end + len("status: active") :])
    compiled, _ = compile_sources(Locations(rules, BUNDLED_FORMULARY))
    outcome = replay(record, compiled.ruleset)
    assert not outcome.same_rule_set and not outcome.same_findings
    assert "PINCER-D" in {i.rpartition(":")[0] for i in outcome.missing}
    assert "PINCER-D" not in {i.rpartition(":")[0] for i in outcome.finding_ids}


def test_a_record_whose_request_was_altered_is_refused(served: Served, bundled: RuleSet) -> None:
    _, request_id = served.check(warfarin_naproxen())
    served.records.audit.flush()
    (record,) = served.records.audit_log.find(request_id)
    altered = dataclasses.replace(
        record, request=record.request.replace(b"329806007", b"329806008")
    )
    with pytest.raises(TamperedRecordError):
        replay(altered, bundled)
