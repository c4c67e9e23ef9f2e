from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_OTHER: _ClassVar[Sex]

class BiologicExceptionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BIOLOGIC_EXCEPTION_KIND_UNSPECIFIED: _ClassVar[BiologicExceptionKind]
    BIOLOGIC_EXCEPTION_KIND_FAILED_SWITCH: _ClassVar[BiologicExceptionKind]
    BIOLOGIC_EXCEPTION_KIND_DECLINED: _ClassVar[BiologicExceptionKind]

class PregnancyStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREGNANCY_STATUS_UNSPECIFIED: _ClassVar[PregnancyStatus]
    PREGNANCY_STATUS_NOT_PREGNANT: _ClassVar[PregnancyStatus]
    PREGNANCY_STATUS_PREGNANT: _ClassVar[PregnancyStatus]

class MedicationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDICATION_STATUS_UNSPECIFIED: _ClassVar[MedicationStatus]
    MEDICATION_STATUS_CURRENT: _ClassVar[MedicationStatus]
    MEDICATION_STATUS_PROPOSED: _ClassVar[MedicationStatus]

class CheckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_STATUS_UNSPECIFIED: _ClassVar[CheckStatus]
    CHECK_STATUS_COMPLETE: _ClassVar[CheckStatus]
    CHECK_STATUS_INCOMPLETE: _ClassVar[CheckStatus]

class UnresolvedReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNRESOLVED_REASON_UNSPECIFIED: _ClassVar[UnresolvedReason]
    UNRESOLVED_REASON_UNKNOWN: _ClassVar[UnresolvedReason]
    UNRESOLVED_REASON_INACTIVE: _ClassVar[UnresolvedReason]
    UNRESOLVED_REASON_NOT_MEDICINAL_PRODUCT: _ClassVar[UnresolvedReason]
    UNRESOLVED_REASON_PACK_LEVEL: _ClassVar[UnresolvedReason]
    UNRESOLVED_REASON_NOT_PLACED: _ClassVar[UnresolvedReason]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_INTERACTION: _ClassVar[Category]
    CATEGORY_CONDITION: _ClassVar[Category]
    CATEGORY_POLYPHARMACY: _ClassVar[Category]
    CATEGORY_BIOSIMILAR: _ClassVar[Category]
    CATEGORY_FORMULARY: _ClassVar[Category]
    CATEGORY_DUPLICATION: _ClassVar[Category]
    CATEGORY_MONITORING: _ClassVar[Category]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_SEVERE: _ClassVar[Severity]
    SEVERITY_MODERATE: _ClassVar[Severity]
    SEVERITY_MILD: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]

class Evidence(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVIDENCE_UNSPECIFIED: _ClassVar[Evidence]
    EVIDENCE_STUDY: _ClassVar[Evidence]
    EVIDENCE_ANECDOTAL: _ClassVar[Evidence]
    EVIDENCE_THEORETICAL: _ClassVar[Evidence]
    EVIDENCE_GUIDELINE: _ClassVar[Evidence]

class FeedbackOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEEDBACK_OUTCOME_UNSPECIFIED: _ClassVar[FeedbackOutcome]
    FEEDBACK_OUTCOME_ACCEPTED: _ClassVar[FeedbackOutcome]
    FEEDBACK_OUTCOME_OVERRIDDEN: _ClassVar[FeedbackOutcome]

class AnswerView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_VIEW_UNSPECIFIED: _ClassVar[AnswerView]
    ANSWER_VIEW_CARD: _ClassVar[AnswerView]
    ANSWER_VIEW_FULL: _ClassVar[AnswerView]
SEX_UNSPECIFIED: Sex
SEX_FEMALE: Sex
SEX_MALE: Sex
SEX_OTHER: Sex
BIOLOGIC_EXCEPTION_KIND_UNSPECIFIED: BiologicExceptionKind
BIOLOGIC_EXCEPTION_KIND_FAILED_SWITCH: BiologicExceptionKind
BIOLOGIC_EXCEPTION_KIND_DECLINED: BiologicExceptionKind
PREGNANCY_STATUS_UNSPECIFIED: PregnancyStatus
PREGNANCY_STATUS_NOT_PREGNANT: PregnancyStatus
PREGNANCY_STATUS_PREGNANT: PregnancyStatus
MEDICATION_STATUS_UNSPECIFIED: MedicationStatus
MEDICATION_STATUS_CURRENT: MedicationStatus
MEDICATION_STATUS_PROPOSED: MedicationStatus
CHECK_STATUS_UNSPECIFIED: CheckStatus
CHECK_STATUS_COMPLETE: CheckStatus
CHECK_STATUS_INCOMPLETE: CheckStatus
UNRESOLVED_REASON_UNSPECIFIED: UnresolvedReason
UNRESOLVED_REASON_UNKNOWN: UnresolvedReason
UNRESOLVED_REASON_INACTIVE: UnresolvedReason
UNRESOLVED_REASON_NOT_MEDICINAL_PRODUCT: UnresolvedReason
UNRESOLVED_REASON_PACK_LEVEL: UnresolvedReason
UNRESOLVED_REASON_NOT_PLACED: UnresolvedReason
CATEGORY_UNSPECIFIED: Category
CATEGORY_INTERACTION: Category
CATEGORY_CONDITION: Category
CATEGORY_POLYPHARMACY: Category
CATEGORY_BIOSIMILAR: Category
CATEGORY_FORMULARY: Category
CATEGORY_DUPLICATION: Category
CATEGORY_MONITORING: Category
SEVERITY_UNSPECIFIED: Severity
SEVERITY_SEVERE: Severity
SEVERITY_MODERATE: Severity
SEVERITY_MILD: Severity
SEVERITY_INFO: Severity
EVIDENCE_UNSPECIFIED: Evidence
EVIDENCE_STUDY: Evidence
EVIDENCE_ANECDOTAL: Evidence
EVIDENCE_THEORETICAL: Evidence
EVIDENCE_GUIDELINE: Evidence
FEEDBACK_OUTCOME_UNSPECIFIED: FeedbackOutcome
FEEDBACK_OUTCOME_ACCEPTED: FeedbackOutcome
FEEDBACK_OUTCOME_OVERRIDDEN: FeedbackOutcome
ANSWER_VIEW_UNSPECIFIED: AnswerView
ANSWER_VIEW_CARD: AnswerView
ANSWER_VIEW_FULL: AnswerView

class PatientContext(_message.Message):
    __slots__ = ("age_years", "sex", "egfr", "condition_codes", "pregnancy", "biologic_exceptions", "monitoring_results", "monitoring_complete_from")
    AGE_YEARS_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    EGFR_FIELD_NUMBER: _ClassVar[int]
    CONDITION_CODES_FIELD_NUMBER: _ClassVar[int]
    PREGNANCY_FIELD_NUMBER: _ClassVar[int]
    BIOLOGIC_EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    MONITORING_RESULTS_FIELD_NUMBER: _ClassVar[int]
    MONITORING_COMPLETE_FROM_FIELD_NUMBER: _ClassVar[int]
    age_years: int
    sex: Sex
    egfr: float
    condition_codes: _containers.RepeatedScalarFieldContainer[str]
    pregnancy: PregnancyStatus
    biologic_exceptions: _containers.RepeatedCompositeFieldContainer[BiologicException]
    monitoring_results: _containers.RepeatedCompositeFieldContainer[MonitoringResult]
    monitoring_complete_from: str
    def __init__(self, age_years: _Optional[int] = ..., sex: _Optional[_Union[Sex, str]] = ..., egfr: _Optional[float] = ..., condition_codes: _Optional[_Iterable[str]] = ..., pregnancy: _Optional[_Union[PregnancyStatus, str]] = ..., biologic_exceptions: _Optional[_Iterable[_Union[BiologicException, _Mapping]]] = ..., monitoring_results: _Optional[_Iterable[_Union[MonitoringResult, _Mapping]]] = ..., monitoring_complete_from: _Optional[str] = ...) -> None: ...

class MonitoringResult(_message.Message):
    __slots__ = ("code", "date", "value", "unit")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    code: str
    date: str
    value: float
    unit: str
    def __init__(self, code: _Optional[str] = ..., date: _Optional[str] = ..., value: _Optional[float] = ..., unit: _Optional[str] = ...) -> None: ...

class BiologicException(_message.Message):
    __slots__ = ("molecule_code", "kind", "expires_on")
    MOLECULE_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    molecule_code: str
    kind: BiologicExceptionKind
    expires_on: str
    def __init__(self, molecule_code: _Optional[str] = ..., kind: _Optional[_Union[BiologicExceptionKind, str]] = ..., expires_on: _Optional[str] = ...) -> None: ...

class Medication(_message.Message):
    __slots__ = ("ref", "code", "status", "start_date", "display")
    REF_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    ref: str
    code: str
    status: MedicationStatus
    start_date: str
    display: str
    def __init__(self, ref: _Optional[str] = ..., code: _Optional[str] = ..., status: _Optional[_Union[MedicationStatus, str]] = ..., start_date: _Optional[str] = ..., display: _Optional[str] = ...) -> None: ...

class CheckMedicationsRequest(_message.Message):
    __slots__ = ("request_id", "patient", "medications", "as_of_date", "proposed_only", "minimum_severity", "patient_ref", "view", "rule_content_hash")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    MEDICATIONS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_DATE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_ONLY_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    PATIENT_REF_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    RULE_CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    patient: PatientContext
    medications: _containers.RepeatedCompositeFieldContainer[Medication]
    as_of_date: str
    proposed_only: bool
    minimum_severity: Severity
    patient_ref: str
    view: AnswerView
    rule_content_hash: str
    def __init__(self, request_id: _Optional[str] = ..., patient: _Optional[_Union[PatientContext, _Mapping]] = ..., medications: _Optional[_Iterable[_Union[Medication, _Mapping]]] = ..., as_of_date: _Optional[str] = ..., proposed_only: _Optional[bool] = ..., minimum_severity: _Optional[_Union[Severity, str]] = ..., patient_ref: _Optional[str] = ..., view: _Optional[_Union[AnswerView, str]] = ..., rule_content_hash: _Optional[str] = ...) -> None: ...

class UnresolvedCode(_message.Message):
    __slots__ = ("ref", "code", "reason", "message", "display")
    REF_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    ref: str
    code: str
    reason: UnresolvedReason
    message: str
    display: str
    def __init__(self, ref: _Optional[str] = ..., code: _Optional[str] = ..., reason: _Optional[_Union[UnresolvedReason, str]] = ..., message: _Optional[str] = ..., display: _Optional[str] = ...) -> None: ...

class RuleSetIdentity(_message.Message):
    __slots__ = ("version", "content_hash", "dmd_release", "name", "effective_date", "formulary_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    DMD_RELEASE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_FIELD_NUMBER: _ClassVar[int]
    FORMULARY_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    content_hash: str
    dmd_release: str
    name: str
    effective_date: str
    formulary_version: str
    def __init__(self, version: _Optional[str] = ..., content_hash: _Optional[str] = ..., dmd_release: _Optional[str] = ..., name: _Optional[str] = ..., effective_date: _Optional[str] = ..., formulary_version: _Optional[str] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("source", "reference", "url")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    source: str
    reference: str
    url: str
    def __init__(self, source: _Optional[str] = ..., reference: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class MatchedMedication(_message.Message):
    __slots__ = ("ref", "code", "concept_code", "concept_name", "level", "group", "via", "formulary_status")
    REF_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_CODE_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    FORMULARY_STATUS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    code: str
    concept_code: str
    concept_name: str
    level: str
    group: str
    via: str
    formulary_status: str
    def __init__(self, ref: _Optional[str] = ..., code: _Optional[str] = ..., concept_code: _Optional[str] = ..., concept_name: _Optional[str] = ..., level: _Optional[str] = ..., group: _Optional[str] = ..., via: _Optional[str] = ..., formulary_status: _Optional[str] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("matched", "conditions")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    matched: _containers.RepeatedCompositeFieldContainer[MatchedMedication]
    conditions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, matched: _Optional[_Iterable[_Union[MatchedMedication, _Mapping]]] = ..., conditions: _Optional[_Iterable[str]] = ...) -> None: ...

class Suggestion(_message.Message):
    __slots__ = ("code", "name", "reason")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    reason: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("rule_id", "category", "severity", "evidence", "title", "detail", "recommendation", "medication_refs", "citations", "explanation", "suggestions", "involves_proposed", "rationale", "concern", "sources", "finding_id")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    MEDICATION_REFS_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    INVOLVES_PROPOSED_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    CONCERN_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    category: Category
    severity: Severity
    evidence: Evidence
    title: str
    detail: str
    recommendation: str
    medication_refs: _containers.RepeatedScalarFieldContainer[str]
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    explanation: Explanation
    suggestions: _containers.RepeatedCompositeFieldContainer[Suggestion]
    involves_proposed: bool
    rationale: str
    concern: str
    sources: _containers.RepeatedCompositeFieldContainer[FindingSource]
    finding_id: str
    def __init__(self, rule_id: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., severity: _Optional[_Union[Severity, str]] = ..., evidence: _Optional[_Union[Evidence, str]] = ..., title: _Optional[str] = ..., detail: _Optional[str] = ..., recommendation: _Optional[str] = ..., medication_refs: _Optional[_Iterable[str]] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., explanation: _Optional[_Union[Explanation, _Mapping]] = ..., suggestions: _Optional[_Iterable[_Union[Suggestion, _Mapping]]] = ..., involves_proposed: _Optional[bool] = ..., rationale: _Optional[str] = ..., concern: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[FindingSource, _Mapping]]] = ..., finding_id: _Optional[str] = ...) -> None: ...

class FindingSource(_message.Message):
    __slots__ = ("rule_id", "title", "severity")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    title: str
    severity: Severity
    def __init__(self, rule_id: _Optional[str] = ..., title: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ...) -> None: ...

class RuleNotEvaluated(_message.Message):
    __slots__ = ("rule_id", "title", "missing", "medication_refs", "questions")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    MEDICATION_REFS_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    title: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    medication_refs: _containers.RepeatedScalarFieldContainer[str]
    questions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rule_id: _Optional[str] = ..., title: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ..., medication_refs: _Optional[_Iterable[str]] = ..., questions: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckMedicationsResponse(_message.Message):
    __slots__ = ("request_id", "check_status", "unresolved_codes", "rule_set", "findings", "rules_not_evaluated", "superseded_codes", "suppressed_findings", "static_text_omitted")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_STATUS_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_CODES_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    RULES_NOT_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_CODES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FINDINGS_FIELD_NUMBER: _ClassVar[int]
    STATIC_TEXT_OMITTED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    check_status: CheckStatus
    unresolved_codes: _containers.RepeatedCompositeFieldContainer[UnresolvedCode]
    rule_set: RuleSetIdentity
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    rules_not_evaluated: _containers.RepeatedCompositeFieldContainer[RuleNotEvaluated]
    superseded_codes: _containers.RepeatedCompositeFieldContainer[SupersededCode]
    suppressed_findings: int
    static_text_omitted: bool
    def __init__(self, request_id: _Optional[str] = ..., check_status: _Optional[_Union[CheckStatus, str]] = ..., unresolved_codes: _Optional[_Iterable[_Union[UnresolvedCode, _Mapping]]] = ..., rule_set: _Optional[_Union[RuleSetIdentity, _Mapping]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., rules_not_evaluated: _Optional[_Iterable[_Union[RuleNotEvaluated, _Mapping]]] = ..., superseded_codes: _Optional[_Iterable[_Union[SupersededCode, _Mapping]]] = ..., suppressed_findings: _Optional[int] = ..., static_text_omitted: _Optional[bool] = ...) -> None: ...

class SupersededCode(_message.Message):
    __slots__ = ("ref", "code", "current_code", "changed_on")
    REF_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CODE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_ON_FIELD_NUMBER: _ClassVar[int]
    ref: str
    code: str
    current_code: str
    changed_on: str
    def __init__(self, ref: _Optional[str] = ..., code: _Optional[str] = ..., current_code: _Optional[str] = ..., changed_on: _Optional[str] = ...) -> None: ...

class GetRuleSetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CategoryCount(_message.Message):
    __slots__ = ("category", "count")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    category: Category
    count: int
    def __init__(self, category: _Optional[_Union[Category, str]] = ..., count: _Optional[int] = ...) -> None: ...

class RuleSetInfo(_message.Message):
    __slots__ = ("identity", "rules_per_category", "active_rules", "drug_groups", "drug_codes", "loaded_at", "load_millis", "dmd_concepts")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    RULES_PER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_RULES_FIELD_NUMBER: _ClassVar[int]
    DRUG_GROUPS_FIELD_NUMBER: _ClassVar[int]
    DRUG_CODES_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LOAD_MILLIS_FIELD_NUMBER: _ClassVar[int]
    DMD_CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    identity: RuleSetIdentity
    rules_per_category: _containers.RepeatedCompositeFieldContainer[CategoryCount]
    active_rules: int
    drug_groups: int
    drug_codes: int
    loaded_at: str
    load_millis: float
    dmd_concepts: int
    def __init__(self, identity: _Optional[_Union[RuleSetIdentity, _Mapping]] = ..., rules_per_category: _Optional[_Iterable[_Union[CategoryCount, _Mapping]]] = ..., active_rules: _Optional[int] = ..., drug_groups: _Optional[int] = ..., drug_codes: _Optional[int] = ..., loaded_at: _Optional[str] = ..., load_millis: _Optional[float] = ..., dmd_concepts: _Optional[int] = ...) -> None: ...

class GetRuleSetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadRuleSetRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Diagnostic(_message.Message):
    __slots__ = ("file", "line", "column", "kind", "message", "expected", "hint", "level")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    column: int
    kind: str
    message: str
    expected: str
    hint: str
    level: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., kind: _Optional[str] = ..., message: _Optional[str] = ..., expected: _Optional[str] = ..., hint: _Optional[str] = ..., level: _Optional[str] = ...) -> None: ...

class FailedAttempt(_message.Message):
    __slots__ = ("attempted_at", "message", "diagnostics", "omitted_diagnostics", "cause")
    ATTEMPTED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    OMITTED_DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    attempted_at: str
    message: str
    diagnostics: _containers.RepeatedCompositeFieldContainer[Diagnostic]
    omitted_diagnostics: int
    cause: str
    def __init__(self, attempted_at: _Optional[str] = ..., message: _Optional[str] = ..., diagnostics: _Optional[_Iterable[_Union[Diagnostic, _Mapping]]] = ..., omitted_diagnostics: _Optional[int] = ..., cause: _Optional[str] = ...) -> None: ...

class RuleSetStatus(_message.Message):
    __slots__ = ("serving", "active", "activated_at", "last_failure", "activations", "rejections", "manifest_sha256")
    SERVING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_SHA256_FIELD_NUMBER: _ClassVar[int]
    serving: bool
    active: RuleSetIdentity
    activated_at: str
    last_failure: FailedAttempt
    activations: int
    rejections: int
    manifest_sha256: str
    def __init__(self, serving: _Optional[bool] = ..., active: _Optional[_Union[RuleSetIdentity, _Mapping]] = ..., activated_at: _Optional[str] = ..., last_failure: _Optional[_Union[FailedAttempt, _Mapping]] = ..., activations: _Optional[int] = ..., rejections: _Optional[int] = ..., manifest_sha256: _Optional[str] = ...) -> None: ...

class Coding(_message.Message):
    __slots__ = ("code", "system", "display")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    code: str
    system: str
    display: str
    def __init__(self, code: _Optional[str] = ..., system: _Optional[str] = ..., display: _Optional[str] = ...) -> None: ...

class OverrideReason(_message.Message):
    __slots__ = ("reason", "user_comment")
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_COMMENT_FIELD_NUMBER: _ClassVar[int]
    reason: Coding
    user_comment: str
    def __init__(self, reason: _Optional[_Union[Coding, _Mapping]] = ..., user_comment: _Optional[str] = ...) -> None: ...

class FindingFeedback(_message.Message):
    __slots__ = ("finding_id", "outcome", "override_reason", "outcome_timestamp", "accepted_suggestions")
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_REASON_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    finding_id: str
    outcome: FeedbackOutcome
    override_reason: OverrideReason
    outcome_timestamp: str
    accepted_suggestions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, finding_id: _Optional[str] = ..., outcome: _Optional[_Union[FeedbackOutcome, str]] = ..., override_reason: _Optional[_Union[OverrideReason, _Mapping]] = ..., outcome_timestamp: _Optional[str] = ..., accepted_suggestions: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordFeedbackRequest(_message.Message):
    __slots__ = ("request_id", "patient_ref", "feedback")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_REF_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    patient_ref: str
    feedback: _containers.RepeatedCompositeFieldContainer[FindingFeedback]
    def __init__(self, request_id: _Optional[str] = ..., patient_ref: _Optional[str] = ..., feedback: _Optional[_Iterable[_Union[FindingFeedback, _Mapping]]] = ...) -> None: ...

class RecordFeedbackResponse(_message.Message):
    __slots__ = ("recorded", "suppressions")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    suppressions: _containers.RepeatedCompositeFieldContainer[Suppression]
    def __init__(self, recorded: _Optional[int] = ..., suppressions: _Optional[_Iterable[_Union[Suppression, _Mapping]]] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("finding_id", "expires_at")
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    finding_id: str
    expires_at: str
    def __init__(self, finding_id: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class GetRuleContentRequest(_message.Message):
    __slots__ = ("content_hash",)
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    content_hash: str
    def __init__(self, content_hash: _Optional[str] = ...) -> None: ...

class RuleContent(_message.Message):
    __slots__ = ("rule_id", "title", "category", "severity", "evidence", "rationale", "citations", "concern", "recommendation")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    CONCERN_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    title: str
    category: Category
    severity: Severity
    evidence: Evidence
    rationale: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    concern: str
    recommendation: str
    def __init__(self, rule_id: _Optional[str] = ..., title: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., severity: _Optional[_Union[Severity, str]] = ..., evidence: _Optional[_Union[Evidence, str]] = ..., rationale: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., concern: _Optional[str] = ..., recommendation: _Optional[str] = ...) -> None: ...

class RuleSetContent(_message.Message):
    __slots__ = ("identity", "rules")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    identity: RuleSetIdentity
    rules: _containers.RepeatedCompositeFieldContainer[RuleContent]
    def __init__(self, identity: _Optional[_Union[RuleSetIdentity, _Mapping]] = ..., rules: _Optional[_Iterable[_Union[RuleContent, _Mapping]]] = ...) -> None: ...
