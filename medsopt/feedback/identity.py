"""Stable identities that feedback refers to: a finding's id and a patient's key."""

from __future__ import annotations

import hashlib
import re

from medsopt.engine.findings import Finding

# "<rule id>:<16 hex digits>"; rule ids are letters, digits, dots, hyphens and underscores.
FINDING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}:[0-9a-f]{16}")
_SEPARATOR = "\x1f"  # cannot occur in a rule id, a dm+d code or a condition text


def finding_id(finding: Finding) -> str:
    """The rule id, then a digest of what the finding says about this patient: the medicines
    involved (dm+d concepts, not the caller's refs, which change between requests), the rules
    behind the card and the patient facts tested. Equal facts give equal ids in every answer;
    changed facts give a new id, so a decline made on the old facts no longer applies."""
    parts = (
        finding.rule_id,
        *sorted(s.rule_id for s in finding.sources),
        "",
        *finding.concepts,
        "",
        *sorted(finding.facts),
    )
    digest = hashlib.sha256(_SEPARATOR.join(parts).encode()).hexdigest()[:16]
    return f"{finding.rule_id}:{digest}"


def rule_of(finding_id: str) -> str:
    """The rule id a finding id names."""
    return finding_id.rpartition(":")[0]


def patient_key(patient_ref: str) -> str:
    """What the store keeps for a caller's pseudonymous patient reference: a digest of it, so
    the feedback tables never hold the caller's reference itself."""
    return hashlib.sha256(b"medsopt-patient\x00" + patient_ref.encode()).hexdigest()
