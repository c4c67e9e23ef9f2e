"""The committee's table of therapeutic classes, compiled into duplication rules.

One row per class (BNF section or mechanism): its medicine group(s), severity, wording and
governance. A class of one group fires on two different molecules of it (atorvastatin with
rosuvastatin; co-codamol with tramadol); a class of two groups fires on one of each (an ACE
inhibitor with an ARB). Every class is a rule (`DUP-<ID>`) raising its own concern, so STOPP A3
and the class give one card, at every age.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from medsopt.authoring.fields import FileModel, Identifier, Text
from medsopt.rules.match import Duplicate, Match, Severity
from medsopt.rules.models import Citation, Concern, Date, Rule, Status, check_review_order


class TherapeuticClass(FileModel):
    """One row of the class table."""

    id: Identifier
    title: Text  # plural, as a sentence reads it: "statins", "an ACE inhibitor with an ARB"
    bnf: Text  # the BNF section or mechanism the class stands for
    groups: Annotated[tuple[Identifier, ...], Field(min_length=1, max_length=2)]
    severity: Severity
    status: Status = "active"
    # A concern shared with other rules (e.g. ppi-review); default: duplication-<id>.
    concern: Identifier | None = None
    recommendation: Text
    rationale: Text
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    authored_by: Text
    checked_by: Text
    date_reviewed: Date
    next_review: Date

    @model_validator(mode="after")
    def _review_order(self) -> TherapeuticClass:
        check_review_order(self.date_reviewed, self.next_review)
        return self


def rule_id(therapeutic_class: TherapeuticClass) -> str:
    """The id of the rule a class compiles to, e.g. DUP-STATINS."""
    return f"DUP-{therapeutic_class.id.upper()}"


def class_rule(therapeutic_class: TherapeuticClass) -> tuple[Rule, Concern | None]:
    """The duplication rule for a class, and the concern it declares (None when shared)."""
    c = therapeutic_class
    bnf = c.bnf.replace("{", "{{").replace("}", "}}")
    title = c.title.replace("{", "{{").replace("}", "}}")
    if len(c.groups) == 1:
        match = Match(duplicate=Duplicate(group=c.groups[0], min_distinct=2))
        detail = (
            f"{{medicines}}: {{count}} different {title} at once, a therapeutic duplication "
            f"({bnf})."
        )
    else:
        match = Match(all_of=c.groups)
        detail = f"{{medicines}}: {title}, a therapeutic duplication ({bnf})."
    concern_id = c.concern or f"duplication-{c.id}"
    rule = Rule(
        id=rule_id(c),
        title=f"Duplication: {c.title}",
        category="duplication",
        severity=c.severity,
        evidence="guideline",
        status=c.status,
        match=match,
        detail=detail,
        recommendation=c.recommendation.replace("{", "{{").replace("}", "}}"),
        rationale=c.rationale,
        citations=c.citations,
        authored_by=c.authored_by,
        checked_by=c.checked_by,
        date_reviewed=c.date_reviewed,
        next_review=c.next_review,
        concern=concern_id,
    )
    declared = (
        None
        if c.concern
        else Concern(
            id=concern_id,
            title=f"Duplication: {c.title}",
            description=f"More than one medicine of one class at once ({c.bnf}).",
        )
    )
    return rule, declared
