"""Proto <-> domain conversion for the medsopt.v1 API, in one place."""

from __future__ import annotations

import datetime
from collections.abc import Collection

from medsopt.authoring.diagnostics import Diagnostic
from medsopt.dmd.concepts import UnresolvedReason
from medsopt.engine.request import (
    BiologicException,
    BiologicExceptionKind,
    CheckRequest,
    MedicationEntry,
    MedicationStatus,
    MonitoringResult,
    PatientContext,
    Sex,
)
from medsopt.engine.validation import FieldViolation
from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.rules.ruleset import RuleSetIdentity
from medsopt.v1 import medsopt_pb2 as pb

_SEX = {
    pb.SEX_UNSPECIFIED: Sex.UNKNOWN,
    pb.SEX_FEMALE: Sex.FEMALE,
    pb.SEX_MALE: Sex.MALE,
    pb.SEX_OTHER: Sex.OTHER,
}
_SEX_TO_PB = {sex: value for value, sex in _SEX.items()}
_PREGNANCY = {
    pb.PREGNANCY_STATUS_UNSPECIFIED: None,
    pb.PREGNANCY_STATUS_NOT_PREGNANT: False,
    pb.PREGNANCY_STATUS_PREGNANT: True,
}
_PREGNANCY_TO_PB = {flag: value for value, flag in _PREGNANCY.items()}
_STATUS = {
    pb.MEDICATION_STATUS_UNSPECIFIED: MedicationStatus.CURRENT,
    pb.MEDICATION_STATUS_CURRENT: MedicationStatus.CURRENT,
    pb.MEDICATION_STATUS_PROPOSED: MedicationStatus.PROPOSED,
}
_STATUS_TO_PB = {
    MedicationStatus.CURRENT: pb.MEDICATION_STATUS_CURRENT,
    MedicationStatus.PROPOSED: pb.MEDICATION_STATUS_PROPOSED,
}
_EXCEPTION_KIND = {
    pb.BIOLOGIC_EXCEPTION_KIND_UNSPECIFIED: BiologicExceptionKind.UNSPECIFIED,
    pb.BIOLOGIC_EXCEPTION_KIND_FAILED_SWITCH: BiologicExceptionKind.FAILED_SWITCH,
    pb.BIOLOGIC_EXCEPTION_KIND_DECLINED: BiologicExceptionKind.DECLINED,
}
_EXCEPTION_KIND_TO_PB = {kind: value for value, kind in _EXCEPTION_KIND.items()}
UNRESOLVED = {
    UnresolvedReason.UNKNOWN: pb.UNRESOLVED_REASON_UNKNOWN,
    UnresolvedReason.INACTIVE: pb.UNRESOLVED_REASON_INACTIVE,
    UnresolvedReason.NOT_MEDICINAL_PRODUCT: pb.UNRESOLVED_REASON_NOT_MEDICINAL_PRODUCT,
    UnresolvedReason.PACK_LEVEL: pb.UNRESOLVED_REASON_PACK_LEVEL,
    UnresolvedReason.NOT_PLACED: pb.UNRESOLVED_REASON_NOT_PLACED,
}
CATEGORY = {
    "interaction": pb.CATEGORY_INTERACTION,
    "condition": pb.CATEGORY_CONDITION,
    "polypharmacy": pb.CATEGORY_POLYPHARMACY,
    "biosimilar": pb.CATEGORY_BIOSIMILAR,
    "formulary": pb.CATEGORY_FORMULARY,
    "duplication": pb.CATEGORY_DUPLICATION,
    "monitoring": pb.CATEGORY_MONITORING,
}
SEVERITY = {
    "severe": pb.SEVERITY_SEVERE,
    "moderate": pb.SEVERITY_MODERATE,
    "mild": pb.SEVERITY_MILD,
    "info": pb.SEVERITY_INFO,
}
EVIDENCE = {
    "study": pb.EVIDENCE_STUDY,
    "anecdotal": pb.EVIDENCE_ANECDOTAL,
    "theoretical": pb.EVIDENCE_THEORETICAL,
    "guideline": pb.EVIDENCE_GUIDELINE,
}


_SEVERITY_FROM_PB = {number: name for name, number in SEVERITY.items()}
_VIEWS = frozenset(pb.AnswerView.values())


def enum_violations(message: pb.CheckMedicationsRequest) -> list[FieldViolation]:
    """Enum numbers the contract does not define (a newer client, or a corrupted request):
    rejected with their field path, never read as 'unspecified'."""
    patient = message.patient
    checks: list[tuple[str, int, Collection[int]]] = [
        ("patient.sex", patient.sex, _SEX.keys()),
        ("patient.pregnancy", patient.pregnancy, _PREGNANCY.keys()),
        ("minimum_severity", message.minimum_severity, {0, *_SEVERITY_FROM_PB}),
        ("view", message.view, _VIEWS),
    ]
    found = [
        FieldViolation(field, _undefined(number))
        for field, number, known in checks
        if number not in known
    ]
    # Field paths are written only for a bad value: every request has up to 100 of these.
    found += [
        FieldViolation(f"medications[{i}].status", _undefined(m.status))
        for i, m in enumerate(message.medications)
        if m.status not in _STATUS
    ]
    found += [
        FieldViolation(f"patient.biologic_exceptions[{i}].kind", _undefined(e.kind))
        for i, e in enumerate(patient.biologic_exceptions)
        if e.kind not in _EXCEPTION_KIND
    ]
    return found


def _undefined(number: int) -> str:
    return f"{number} is not a value this API defines"


def request_from_proto(
    message: pb.CheckMedicationsRequest, today: datetime.date | None = None
) -> CheckRequest:
    """The domain request; unknown enum numbers fall back to 'unspecified'.

    `as_of` is the request's as_of_date when valid, else `today`; an invalid as_of_date is kept
    in `as_of_text` for validation to report.
    """
    patient = message.patient
    as_of_text = message.as_of_date if message.HasField("as_of_date") else None
    return CheckRequest(
        request_id=message.request_id,
        as_of=_parse_date(as_of_text) if as_of_text is not None else today,
        as_of_text=as_of_text,
        patient=PatientContext(
            age_years=patient.age_years if patient.HasField("age_years") else None,
            sex=_SEX.get(patient.sex, Sex.UNKNOWN),
            egfr=patient.egfr if patient.HasField("egfr") else None,
            pregnant=_PREGNANCY.get(patient.pregnancy),
            condition_codes=tuple(patient.condition_codes),
            biologic_exceptions=tuple(
                BiologicException(
                    molecule_code=e.molecule_code,
                    kind=_EXCEPTION_KIND.get(e.kind, BiologicExceptionKind.UNSPECIFIED),
                    expires_on=e.expires_on if e.HasField("expires_on") else None,
                )
                for e in patient.biologic_exceptions
            ),
            monitoring=tuple(
                MonitoringResult(
                    code=r.code,
                    date=r.date,
                    value=r.value if r.HasField("value") else None,
                    unit=r.unit,
                )
                for r in patient.monitoring_results
            ),
            monitoring_from=patient.monitoring_complete_from
            if patient.HasField("monitoring_complete_from")
            else None,
        ),
        proposed_only=message.proposed_only,
        minimum_severity=_SEVERITY_FROM_PB.get(message.minimum_severity),
        medications=tuple(
            MedicationEntry(
                ref=m.ref,
                code=m.code,
                status=_STATUS.get(m.status, MedicationStatus.CURRENT),
                start_date=m.start_date if m.HasField("start_date") else None,
                display=m.display,
            )
            for m in message.medications
        ),
    )


def _parse_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def request_to_proto(request: CheckRequest) -> pb.CheckMedicationsRequest:
    """The wire form of a domain request (used by the CLI and tests)."""
    patient = request.patient
    message = pb.CheckMedicationsRequest(
        request_id=request.request_id,
        patient=pb.PatientContext(
            sex=_SEX_TO_PB[patient.sex],
            condition_codes=patient.condition_codes,
            pregnancy=_PREGNANCY_TO_PB[patient.pregnant],
        ),
    )
    if patient.age_years is not None:
        message.patient.age_years = patient.age_years
    if patient.egfr is not None:
        message.patient.egfr = patient.egfr
    for exception in patient.biologic_exceptions:
        added = message.patient.biologic_exceptions.add(
            molecule_code=exception.molecule_code, kind=_EXCEPTION_KIND_TO_PB[exception.kind]
        )
        if exception.expires_on is not None:
            added.expires_on = exception.expires_on
    for result in patient.monitoring:
        added_result = message.patient.monitoring_results.add(
            code=result.code, date=result.date, unit=result.unit
        )
        if result.value is not None:
            added_result.value = result.value
    if patient.monitoring_from is not None:
        message.patient.monitoring_complete_from = patient.monitoring_from
    if request.as_of_text is not None:
        message.as_of_date = request.as_of_text
    message.proposed_only = request.proposed_only
    if request.minimum_severity is not None:
        message.minimum_severity = SEVERITY[request.minimum_severity]
    for entry in request.medications:
        medication = message.medications.add(
            ref=entry.ref,
            code=entry.code,
            status=_STATUS_TO_PB[entry.status],
            display=entry.display,
        )
        if entry.start_date is not None:
            medication.start_date = entry.start_date
    return message


def identity_to_proto(identity: RuleSetIdentity) -> pb.RuleSetIdentity:
    message = pb.RuleSetIdentity()
    identity_into(message, identity)
    return message


def identity_into(message: pb.RuleSetIdentity, identity: RuleSetIdentity) -> None:
    message.version = identity.version
    message.content_hash = identity.content_hash
    message.dmd_release = identity.dmd_release
    message.name = identity.name
    message.effective_date = identity.effective_date
    message.formulary_version = identity.formulary_version


def ruleset_info_to_proto(activation: Activation) -> pb.RuleSetInfo:
    """Identity, counts per category and load metadata of the active rule set."""
    ruleset = activation.ruleset
    counts: dict[str, int] = {}
    for compiled in ruleset.rules.values():
        counts[compiled.rule.category] = counts.get(compiled.rule.category, 0) + 1
    medicine_groups = [g for g in ruleset.groups.values() if g.kind == "medicine"]
    return pb.RuleSetInfo(
        identity=identity_to_proto(ruleset.identity),
        rules_per_category=[
            pb.CategoryCount(category=CATEGORY[name], count=count)
            for name, count in sorted(counts.items())
        ],
        active_rules=len(ruleset.rules),
        drug_groups=len(medicine_groups),
        drug_codes=len(set().union(*(g.codes for g in medicine_groups))),
        loaded_at=_timestamp(activation.activated_at),
        load_millis=activation.load_millis,
        dmd_concepts=len(ruleset.dmd),
    )


def _timestamp(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def diagnostic_to_proto(diagnostic: Diagnostic) -> pb.Diagnostic:
    return pb.Diagnostic(
        file=diagnostic.file,
        line=diagnostic.line,
        column=diagnostic.column,
        kind=diagnostic.kind.value,
        message=diagnostic.message,
        expected=diagnostic.expected,
        hint=diagnostic.hint,
        level=diagnostic.level.value,
    )


def status_to_proto(holder: RuleSetHolder) -> pb.RuleSetStatus:
    """What an operator needs: what is serving, since when, and the last rejected attempt."""
    status = pb.RuleSetStatus(activations=holder.activations, rejections=holder.rejections)
    active = holder.active
    if active is not None:
        status.serving = True
        status.active.CopyFrom(identity_to_proto(active.ruleset.identity))
        status.activated_at = _timestamp(active.activated_at)
        status.manifest_sha256 = active.manifest_sha256
    failure = holder.last_failure
    if failure is not None:
        status.last_failure.CopyFrom(
            pb.FailedAttempt(
                attempted_at=_timestamp(failure.attempted_at),
                message=failure.message,
                diagnostics=[diagnostic_to_proto(d) for d in failure.diagnostics],
                omitted_diagnostics=failure.omitted_diagnostics,
                cause=failure.cause.value,
            )
        )
    return status
