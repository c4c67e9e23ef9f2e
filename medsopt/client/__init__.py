"""A typed Python client for medsopt.v1 (only the generated stubs; no engine inside).

from medsopt.client import MedsoptClient, Medication, Patient

with MedsoptClient("127.0.0.1:50051") as client:
    answer = client.check([Medication("m1", "319733000"), Medication("m2", "329806007")],
                          Patient(age_years=78, egfr=40))
for finding in answer.findings:
    print(finding.severity, finding.title)
"""

from medsopt.client.client import MedsoptClient, service_config
from medsopt.client.errors import (
    DeadlineExceededError,
    FieldViolation,
    InvalidRequestError,
    MedsoptError,
    RequestIdMismatchError,
    ServerError,
    UnavailableError,
)
from medsopt.client.model import (
    Answer,
    Finding,
    Medication,
    NotEvaluated,
    Patient,
    RuleSetInfo,
    UnresolvedCode,
)

__all__ = [
    "Answer",
    "DeadlineExceededError",
    "FieldViolation",
    "Finding",
    "InvalidRequestError",
    "Medication",
    "MedsoptClient",
    "MedsoptError",
    "NotEvaluated",
    "Patient",
    "RequestIdMismatchError",
    "RuleSetInfo",
    "ServerError",
    "UnavailableError",
    "UnresolvedCode",
    "service_config",
]
