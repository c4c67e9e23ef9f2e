"""Plain-text rendering of a CheckMedications answer for a terminal."""

from __future__ import annotations

from medsopt.v1 import medsopt_pb2 as pb


def _enum(enum: object, value: int, prefix: str) -> str:
    name: str = enum.Name(value)  # type: ignore[attr-defined]
    return name.removeprefix(prefix)


def render_response(response: pb.CheckMedicationsResponse) -> str:
    """The answer as a clinician would read it: status, unresolved codes, findings."""
    rule_set = response.rule_set
    lines = [
        f"rule set {rule_set.name} {rule_set.version} (hash {rule_set.content_hash[:12]}, "
        f"dm+d {rule_set.dmd_release})",
        f"check status: {_enum(pb.CheckStatus, response.check_status, 'CHECK_STATUS_')}",
    ]
    for unresolved in response.unresolved_codes:
        reason = _enum(pb.UnresolvedReason, unresolved.reason, "UNRESOLVED_REASON_")
        lines.append(
            f"!! NOT CHECKED: {unresolved.ref} code {unresolved.code}: {reason} - "
            f"{unresolved.message}"
        )
    for superseded in response.superseded_codes:
        lines.append(
            f"note: {superseded.ref} code {superseded.code} is superseded by "
            f"{superseded.current_code} ({superseded.changed_on or 'date unknown'})"
        )
    for item in response.rules_not_evaluated:
        lines.append(
            f"?? NOT EVALUATED: {item.rule_id} {item.title} - needs {', '.join(item.missing)}"
        )
        lines += [f"   ask: {q}" for q in item.questions]
    if not response.findings:
        lines.append("no findings")
    for finding in response.findings:
        severity = _enum(pb.Severity, finding.severity, "SEVERITY_")
        category = _enum(pb.Category, finding.category, "CATEGORY_").lower()
        lines += [
            "",
            f"[{severity}] {finding.rule_id} ({category}): {finding.title}",
            f"  medicines: {', '.join(finding.medication_refs)}",
            *(
                [f"  raised by: {', '.join(s.rule_id for s in finding.sources)}"]
                if len(finding.sources) > 1
                else []
            ),
            f"  {finding.detail}",
            f"  what to do: {finding.recommendation}",
        ]
        lines += [f"  matched: {m.ref} {m.via}" for m in finding.explanation.matched]
        lines += [f"  because: {c}" for c in finding.explanation.conditions]
        lines += [f"  suggest: {s.name} ({s.code}): {s.reason}" for s in finding.suggestions]
        lines += [f"  source: {c.source}: {c.reference}" for c in finding.citations]
    return "\n".join(lines)
