"""A reasoned decline suppresses the same finding for the same patient until it expires or the
facts change; an injectable clock moves time."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from medsopt.engine.findings import Finding, FindingSource, MatchedMedication
from medsopt.feedback.desk import FeedbackDesk, FindingResponse
from medsopt.feedback.identity import FINDING_ID, finding_id, patient_key, rule_of
from medsopt.feedback.migrations import open_database
from medsopt.feedback.models import Coding, Outcome
from medsopt.feedback.repository import SqlFeedbackRepository

START = datetime.datetime(2026, 12, 6, 9, 30, tzinfo=datetime.UTC)
REASON = Coding("patient-aware", "https://example.org/override", "Patient aware, benefit outweighs")


def matched(ref: str, code: str) -> MatchedMedication:
    return MatchedMedication(ref, code, code, f"concept {code}", "VMP", "group", "listed")


FINDING = Finding(
    rule_id="PINCER-D",
    category="interaction",
    severity="severe",
    evidence="guideline",
    title="Oral anticoagulant with an NSAID",
    detail="...",
    recommendation="...",
    rationale="...",
    citations=(),
    medication_refs=("m1", "m2"),
    matched=(matched("m1", "319733000"), matched("m2", "329806007")),
    conditions=("age 78 >= 65",),
    involves_proposed=False,
    sources=(FindingSource("PINCER-D", "Oral anticoagulant with an NSAID", "severe"),),
    concepts=("319733000", "329806007"),
    facts=("age 78 >= 65",),
)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(tmp_path: Path, clock: Clock) -> FeedbackDesk:
    database = open_database(str(tmp_path / "records.sqlite3"))
    return FeedbackDesk(SqlFeedbackRepository(database), datetime.timedelta(days=90), clock)


def decline(identity: str, reason: Coding | None = REASON) -> FindingResponse:
    return FindingResponse(identity, Outcome.OVERRIDDEN, reason, "", "2026-12-06T09:29:00Z")


def test_the_finding_id_ignores_the_callers_refs_but_not_the_medicines_or_facts() -> None:
    identity = finding_id(FINDING)
    assert FINDING_ID.fullmatch(identity)
    assert rule_of(identity) == "PINCER-D"
    renamed = dataclasses.replace(
        FINDING,
        medication_refs=("x", "y"),
        matched=(matched("y", "329806007"), matched("x", "319733000")),
    )
    assert finding_id(renamed) == identity
    other_medicine = dataclasses.replace(FINDING, concepts=("319733000", "329652003"))
    older = dataclasses.replace(FINDING, facts=("age 79 >= 65",))
    assert len({identity, finding_id(other_medicine), finding_id(older)}) == 3


def test_a_reasoned_decline_suppresses_until_it_expires(desk: FeedbackDesk, clock: Clock) -> None:
    identity = finding_id(FINDING)
    (stored,) = desk.record("r-1", "anonymous", "patient-17", [decline(identity)])
    assert stored.expires_at == START + datetime.timedelta(days=90)
    clock.now = START + datetime.timedelta(days=89, hours=23)
    assert desk.suppressed("patient-17", [identity]) == {identity}
    clock.now = START + datetime.timedelta(days=90)
    assert desk.suppressed("patient-17", [identity]) == frozenset()


def test_only_that_patient_and_that_finding_are_suppressed(desk: FeedbackDesk) -> None:
    identity = finding_id(FINDING)
    changed_facts = finding_id(dataclasses.replace(FINDING, conditions=("age 79 >= 65",)))
    desk.record("r-1", "anonymous", "patient-17", [decline(identity)])
    assert desk.suppressed("patient-18", [identity]) == frozenset()
    assert desk.suppressed("patient-17", [identity, changed_facts]) == {identity}


def test_a_decline_without_reason_or_patient_suppresses_nothing(desk: FeedbackDesk) -> None:
    identity = finding_id(FINDING)
    (unreasoned,) = desk.record("r-1", "anonymous", "patient-17", [decline(identity, None)])
    (anonymous,) = desk.record("r-2", "anonymous", None, [decline(identity)])
    assert unreasoned.expires_at is None and anonymous.expires_at is None
    assert desk.suppressed("patient-17", [identity]) == frozenset()


def test_a_later_acceptance_lifts_a_decline(desk: FeedbackDesk, clock: Clock) -> None:
    identity = finding_id(FINDING)
    desk.record("r-1", "anonymous", "patient-17", [decline(identity)])
    clock.now = START + datetime.timedelta(days=1)
    accepted = FindingResponse(identity, Outcome.ACCEPTED, None, "", "2026-12-07T09:00:00Z")
    desk.record("r-2", "anonymous", "patient-17", [accepted])
    assert desk.suppressed("patient-17", [identity]) == frozenset()


def test_the_store_holds_a_digest_of_the_patient_reference(
    desk: FeedbackDesk, tmp_path: Path
) -> None:
    desk.record("r-1", "anonymous", "patient-17", [decline(finding_id(FINDING))])
    (stored,) = desk.repository.entries()
    assert stored.patient_key == patient_key("patient-17") != "patient-17"
    for file in tmp_path.glob("records.sqlite3*"):  # the database and its write-ahead log
        assert b"patient-17" not in file.read_bytes()
