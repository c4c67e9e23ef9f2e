"""What a formulary committee reviews: acceptance and override rates per rule, top reasons."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from medsopt.feedback.models import FeedbackEntry, Outcome

TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class RuleFeedback:
    """How prescribers responded to one rule's findings."""

    rule_id: str
    accepted: int
    overridden: int
    # (reason shown as "display (code)", times given), most frequent first.
    top_reasons: tuple[tuple[str, int], ...]

    @property
    def responses(self) -> int:
        return self.accepted + self.overridden

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.responses

    @property
    def override_rate(self) -> float:
        return self.overridden / self.responses


def _reason(entry: FeedbackEntry) -> str:
    if entry.reason is None:
        return "(no reason given)"
    return f"{entry.reason.display or entry.reason.code} ({entry.reason.code})"


def summarise(entries: Iterable[FeedbackEntry]) -> list[RuleFeedback]:
    """One row per rule, most overridden first. Feedback sent twice for the same finding of the
    same answer counts once (the later one)."""
    latest = {(e.request_id, e.finding_id): e for e in entries}
    by_rule: dict[str, list[FeedbackEntry]] = {}
    for entry in latest.values():
        by_rule.setdefault(entry.rule_id, []).append(entry)
    rows = []
    for rule_id, group in by_rule.items():
        overrides = [e for e in group if e.outcome is Outcome.OVERRIDDEN]
        reasons = Counter(_reason(e) for e in overrides)
        rows.append(
            RuleFeedback(
                rule_id=rule_id,
                accepted=len(group) - len(overrides),
                overridden=len(overrides),
                top_reasons=tuple(sorted(reasons.items(), key=lambda r: (-r[1], r[0])))[
                    :TOP_REASONS
                ],
            )
        )
    return sorted(rows, key=lambda r: (-r.override_rate, -r.responses, r.rule_id))


def top_override_reasons(
    entries: Iterable[FeedbackEntry], limit: int = 10
) -> list[tuple[str, int]]:
    """The override reasons given most often across every rule."""
    latest = {(e.request_id, e.finding_id): e for e in entries}
    reasons = Counter(_reason(e) for e in latest.values() if e.outcome is Outcome.OVERRIDDEN)
    return sorted(reasons.items(), key=lambda r: (-r[1], r[0]))[:limit]


_HEADER = ("rule", "responses", "accepted", "overridden", "acceptance rate", "override rate")


def _cells(row: RuleFeedback) -> tuple[str, ...]:
    return (
        row.rule_id,
        str(row.responses),
        str(row.accepted),
        str(row.overridden),
        f"{row.acceptance_rate:.1%}",
        f"{row.override_rate:.1%}",
        "; ".join(f"{reason} x{n}" for reason, n in row.top_reasons),
    )


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not evaluate (reasons are the caller's text): OWASP's advice
    for CSV injection, a leading quote before a formula character."""
    return f"'{cell}" if cell.lstrip()[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def to_csv(rows: Iterable[RuleFeedback]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*_HEADER, "top override reasons"))
    writer.writerows(tuple(map(_inert, _cells(r))) for r in rows)
    return out.getvalue()


def _markdown_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")  # a caller's newline would end the row


def to_markdown(rows: Iterable[RuleFeedback], reasons: Iterable[tuple[str, int]]) -> str:
    header = (*_HEADER, "top override reasons")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * 5 + "---|"]
    lines += ["| " + " | ".join(map(_markdown_cell, _cells(r))) + " |" for r in rows]
    lines += ["", "| override reason | times |", "|---|---:|"]
    lines += [f"| {_markdown_cell(reason)} | {n} |" for reason, n in reasons]
    return "\n".join(lines) + "\n"
