"""What a caller sends and reads back, as frozen dataclasses, and their wire form."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from medsopt.v1 import medsopt_pb2 as pb

Sex = Literal["female", "male", "other"]
_SEX = {"female": pb.SEX_FEMALE, "male": pb.SEX_MALE, "other": pb.SEX_OTHER}


@dataclass(frozen=True, slots=True)
class Medication:
    """One medicine on the list: the EPR's own ref and a dm+d VTM, VMP or AMP code."""

    ref: str
    code: str
    proposed: bool = False  # being prescribed now
    start_date: datetime.date | None = None
    display: str = ""


@dataclass(frozen=True, slots=True)
class Patient:
    """What the record says; None is unknown (rules needing it are then not evaluated)."""

    age_years: int | None = None
    sex: Sex | None = None
    egfr: float | None = None
    pregnant: bool | None = None
    condition_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """One card: what is wrong for this patient, how bad, what to do, which medicines."""

    rule_id: str
    severity: str  # severe, moderate, mild, info
    category: str  # interaction, condition, polypharmacy, ...
    title: str
    detail: str
    recommendation: str
    medication_refs: tuple[str, ...]
    involves_proposed: bool
    sources: tuple[str, ...]  # every rule behind the card, rule_id first


@dataclass(frozen=True, slots=True)
class UnresolvedCode:
    """A medicine the service could not screen: no finding can be inferred for it."""

    ref: str
    code: str
    reason: str  # unknown, inactive, not_medicinal_product, pack_level, not_placed
    message: str


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    """A rule that applied but lacked patient data, and what to ask."""

    rule_id: str
    title: str
    missing: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one check. `complete` False: the absence of a finding is not 'no problem'."""

    request_id: str
    complete: bool
    rule_set_version: str
    rule_set_hash: str
    findings: tuple[Finding, ...]
    unresolved: tuple[UnresolvedCode, ...]
    not_evaluated: tuple[NotEvaluated, ...]
    # The whole wire answer, for fields this view leaves out (explanations, citations, ...).
    message: pb.CheckMedicationsResponse = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RuleSetInfo:
    """The rule set a server is answering with."""

    name: str
    version: str
    content_hash: str
    dmd_release: str
    formulary_version: str
    active_rules: int
    loaded_at: str  # RFC 3339 UTC
    message: pb.RuleSetInfo = field(repr=False, compare=False)


def info_from_message(message: pb.RuleSetInfo) -> RuleSetInfo:
    identity = message.identity
    return RuleSetInfo(
        identity.name,
        identity.version,
        identity.content_hash,
        identity.dmd_release,
        identity.formulary_version,
        message.active_rules,
        message.loaded_at,
        message,
    )


def request_message(
    medications: tuple[Medication, ...],
    patient: Patient,
    request_id: str,
    as_of: datetime.date | None,
    proposed_only: bool,
) -> pb.CheckMedicationsRequest:
    context = pb.PatientContext(condition_codes=patient.condition_codes)
    if patient.age_years is not None:
        context.age_years = patient.age_years
    if patient.egfr is not None:
        context.egfr = patient.egfr
    if patient.sex is not None:
        context.sex = _SEX[patient.sex]
    if patient.pregnant is not None:
        context.pregnancy = (
            pb.PREGNANCY_STATUS_PREGNANT if patient.pregnant else pb.PREGNANCY_STATUS_NOT_PREGNANT
        )
    message = pb.CheckMedicationsRequest(
        request_id=request_id, patient=context, proposed_only=proposed_only
    )
    if as_of is not None:
        message.as_of_date = as_of.isoformat()
    for medication in medications:
        entry = message.medications.add(
            ref=medication.ref,
            code=medication.code,
            display=medication.display,
            status=pb.MEDICATION_STATUS_PROPOSED
            if medication.proposed
            else pb.MEDICATION_STATUS_CURRENT,
        )
        if medication.start_date is not None:
            entry.start_date = medication.start_date.isoformat()
    return message


def _name(enum: object, number: int, prefix: str) -> str:
    """`SEVERITY_SEVERE` -> `severe`."""
    return enum.Name(number).removeprefix(prefix).lower()  # type: ignore[attr-defined, no-any-return]


def static_recommendations(content: pb.RuleSetContent) -> dict[str, str]:
    """Rule id -> the recommendation it shows every patient, from GetRuleContent."""
    return {rule.rule_id: rule.recommendation for rule in content.rules if rule.recommendation}


def _recommendation(
    finding: pb.Finding, message: pb.CheckMedicationsResponse, kept: Mapping[str, str]
) -> str:
    """The finding's own recommendation, or the kept one the server left out for it."""
    if finding.recommendation or not message.static_text_omitted:
        return finding.recommendation
    return kept[finding.rule_id]  # the server omits only what the named content holds


def answer_from_message(
    message: pb.CheckMedicationsResponse, kept: Mapping[str, str] | None = None
) -> Answer:
    """The answer; `kept`: the static recommendations of the rule content the request named."""
    kept = kept or {}
    return Answer(
        request_id=message.request_id,
        complete=message.check_status == pb.CHECK_STATUS_COMPLETE,
        rule_set_version=message.rule_set.version,
        rule_set_hash=message.rule_set.content_hash,
        findings=tuple(
            Finding(
                rule_id=f.rule_id,
                severity=_name(pb.Severity, f.severity, "SEVERITY_"),
                category=_name(pb.Category, f.category, "CATEGORY_"),
                title=f.title,
                detail=f.detail,
                recommendation=_recommendation(f, message, kept),
                medication_refs=tuple(f.medication_refs),
                involves_proposed=f.involves_proposed,
                sources=tuple(s.rule_id for s in f.sources) or (f.rule_id,),
            )
            for f in message.findings
        ),
        unresolved=tuple(
            UnresolvedCode(
                u.ref, u.code, _name(pb.UnresolvedReason, u.reason, "UNRESOLVED_REASON_"), u.message
            )
            for u in message.unresolved_codes
        ),
        not_evaluated=tuple(
            NotEvaluated(n.rule_id, n.title, tuple(n.missing), tuple(n.questions))
            for n in message.rules_not_evaluated
        ),
        message=message,
    )
