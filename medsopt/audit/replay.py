"""Re-run an audited decision against a rule set and compare the finding ids."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from medsopt.audit.record import AuditRecord
from medsopt.engine.point_of_care import check
from medsopt.feedback.identity import finding_id
from medsopt.rules.ruleset import RuleSet
from medsopt.service.converters import request_from_proto
from medsopt.v1 import medsopt_pb2 as pb


class TamperedRecordError(Exception):
    """The stored request does not match the digest recorded with it."""


@dataclass(frozen=True, slots=True)
class Replay:
    """An audited decision and what the given rule set answers to the same request now."""

    record: AuditRecord
    ruleset_version: str
    ruleset_hash: str
    finding_ids: tuple[str, ...]

    @property
    def same_rule_set(self) -> bool:
        return self.ruleset_hash == self.record.ruleset_hash

    @property
    def same_findings(self) -> bool:
        return self.finding_ids == self.record.finding_ids

    @property
    def missing(self) -> tuple[str, ...]:
        """Recorded then, not produced now."""
        return tuple(i for i in self.record.finding_ids if i not in self.finding_ids)

    @property
    def extra(self) -> tuple[str, ...]:
        """Produced now, not recorded then."""
        return tuple(i for i in self.finding_ids if i not in self.record.finding_ids)


def replay(record: AuditRecord, ruleset: RuleSet) -> Replay:
    """The recorded request, checked again as of its recorded date against `ruleset`."""
    if not record.intact:
        raise TamperedRecordError(f"request {record.request_id}: stored bytes fail their digest")
    message = pb.CheckMedicationsRequest.FromString(record.request)
    request = request_from_proto(message, today=datetime.date.fromisoformat(record.as_of))
    result = check(request, ruleset)
    return Replay(
        record=record,
        ruleset_version=ruleset.identity.version,
        ruleset_hash=ruleset.identity.content_hash,
        finding_ids=tuple(finding_id(f) for f in result.findings),
    )


def describe(outcome: Replay) -> list[str]:
    """What a person reads: the rule sets then and now, and whether the findings agree."""
    record = outcome.record
    lines = [
        f"request {record.request_id} decided {record.decided_at.isoformat()} for {record.caller}"
        f" as of {record.as_of}",
        f"  rule set then: {record.ruleset_version} {record.ruleset_hash[:12]}",
        f"  rule set now:  {outcome.ruleset_version} {outcome.ruleset_hash[:12]}"
        + ("" if outcome.same_rule_set else "  (DIFFERENT rule set)"),
        f"  findings then: {', '.join(record.finding_ids) or '(none)'}",
    ]
    if record.suppressed_ids:
        lines.append(f"  suppressed then: {', '.join(record.suppressed_ids)}")
    if outcome.same_findings:
        lines.append("  replay: SAME finding ids")
    else:
        lines.append(f"  findings now:  {', '.join(outcome.finding_ids) or '(none)'}")
        lines.append(
            f"  replay: MISMATCH (missing now: {', '.join(outcome.missing) or 'none'};"
            f" new now: {', '.join(outcome.extra) or 'none'})"
        )
    return lines
