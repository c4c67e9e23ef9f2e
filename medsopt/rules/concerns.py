"""Check the concerns rules name: declared once, referenced by known ids, severities agreeing."""

from __future__ import annotations

from collections.abc import Sequence

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, did_you_mean
from medsopt.rules.located import Located
from medsopt.rules.models import Concern, Rule

SEVERITY_RANK = {"severe": 0, "moderate": 1, "mild": 2, "info": 3}


def compile_concerns(
    concerns: Sequence[Located[Concern]],
    rules: Sequence[Located[Rule]],
    problems: list[Diagnostic],
) -> dict[str, Concern]:
    """Concerns by id; every problem appended to `problems`.

    One card carries the highest severity of the rules merged into it, so rules of one concern
    may differ by one step (a programme's moderate beside an interaction's severe) but not by
    more: severe beside mild or info is a contradiction the committee must resolve.
    """
    declared: dict[str, Located[Concern]] = {}
    for located in concerns:
        concern = located.item
        if concern.id in declared:
            first = declared[concern.id]
            problems.append(
                Diagnostic(
                    located.file,
                    located.line,
                    located.column,
                    DiagnosticKind.DUPLICATE_ID,
                    f"concern {concern.id!r} is already declared at {first.file}:{first.line}",
                )
            )
            continue
        declared[concern.id] = located
    raising: dict[str, list[Located[Rule]]] = {}
    for placed in rules:
        rule = placed.item
        if rule.concern is None or rule.status == "retired":
            continue
        if rule.concern not in declared:
            problems.append(
                Diagnostic(
                    placed.file,
                    placed.line,
                    placed.column,
                    DiagnosticKind.UNKNOWN_REFERENCE,
                    f"rule {rule.id} names undeclared concern {rule.concern!r}",
                    expected="a concern declared under `concerns:` (rules/concerns.yaml)",
                    hint=did_you_mean(rule.concern, declared),
                )
            )
            continue
        raising.setdefault(rule.concern, []).append(placed)
    for concern_id, located_rules in sorted(raising.items()):
        by_rank = sorted(located_rules, key=lambda r: SEVERITY_RANK[r.item.severity])
        high, low = by_rank[0], by_rank[-1]
        if SEVERITY_RANK[low.item.severity] - SEVERITY_RANK[high.item.severity] > 1:
            problems.append(
                Diagnostic(
                    low.file,
                    low.line,
                    low.column,
                    DiagnosticKind.INVALID_VALUE,
                    f"concern {concern_id!r} is raised as {high.item.severity} by "
                    f"{high.item.id} ({high.file}:{high.line}) but as {low.item.severity} by "
                    f"{low.item.id}: severities of one concern may differ by one step at most",
                    expected="align the severities, or split the concern",
                )
            )
    return {concern_id: entry.item for concern_id, entry in declared.items()}
