"""A static HTML catalogue of a rule set: every rule, what it matches, its sources and its tests.

Pure: returns {relative path: HTML text}; the CLI writes the files. No scripts, no network.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from medsopt.committee.cases import LocatedCase
from medsopt.dmd.concepts import Level
from medsopt.reports.render import render
from medsopt.rules.match import PLACEHOLDERS
from medsopt.rules.models import Rule
from medsopt.rules.ruleset import CompiledRule, GroupInfo, RuleSet

NAMES_SHOWN = 12
_SHOWN_LEVELS = frozenset({Level.VTM, Level.VMP})
_PLACEHOLDER = re.compile(r"\{(" + "|".join(sorted(PLACEHOLDERS)) + r")\}")


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as a reviewer sees it; `known` is False for an id the rule set does not define."""

    id: str
    known: bool
    title: str = ""
    codes: int = 0
    names: tuple[str, ...] = ()  # the first NAMES_SHOWN dm+d names
    more: int = 0  # names not shown


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One line of a rule table."""

    id: str
    title: str
    severity: str
    status: str
    next_review: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of rule text, or a {placeholder} the engine fills per patient."""

    text: str
    placeholder: bool


@dataclass(frozen=True, slots=True)
class Citation:
    """A source of a rule's clinical content."""

    source: str
    reference: str
    url: str | None


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A committee test case that names the rule."""

    name: str
    expectation: str  # "fires" or "must not fire"
    medicines: tuple[tuple[str, str], ...]  # (note or code, code)
    where: str  # file:line


@dataclass(frozen=True, slots=True)
class RulePage:
    """Everything `catalogue_rule.html.j2` shows for one rule."""

    title: str
    rule: RuleRow
    category: str
    evidence: str
    match_groups: tuple[tuple[str, tuple[GroupView, ...]], ...]  # (all of / none of / ..., groups)
    min_distinct: int | None
    patient: tuple[tuple[str, str], ...]  # (fact, value)
    detail: tuple[Segment, ...]
    recommendation: tuple[Segment, ...]
    rationale: str
    citations: tuple[Citation, ...]
    authored_by: str
    checked_by: str
    date_reviewed: str
    defined_in: str
    cases: tuple[CaseRow, ...]
    # The concern it raises (title), and the other rules that share its card.
    concern: str = ""
    concern_rules: tuple[str, ...] = ()
    applies_to: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    """The rule set's identity line shown atop every list page."""

    name: str
    version: str
    effective_date: str
    dmd_release: str
    active: int
    inactive: int
    content_hash: str


def group_view(gid: str, ruleset: RuleSet) -> GroupView:
    """A group's title, size and (for medicines) its dm+d VTM/VMP names."""
    group: GroupInfo | None = ruleset.groups.get(gid)
    if group is None:
        return GroupView(gid, known=False)
    # Generic product (VMP) names are what a reviewer recognises; AMPs repeat them per supplier.
    names = sorted(
        {
            c.name
            for code in group.codes
            if (c := ruleset.dmd.concept(code)) is not None and c.level in _SHOWN_LEVELS
        }
        if group.kind == "medicine"
        else set()
    )
    return GroupView(
        gid,
        known=True,
        title=group.title,
        codes=len(group.codes),
        names=tuple(names[:NAMES_SHOWN]),
        more=max(len(names) - NAMES_SHOWN, 0),
    )


def segments(text: str) -> tuple[Segment, ...]:
    """Split rule text so {medicines}-style placeholders can be shown as labels."""
    parts = _PLACEHOLDER.split(text)
    # re.split alternates text and captured placeholder names: even indexes are text.
    return tuple(Segment(part, bool(i % 2)) for i, part in enumerate(parts) if part)


def rule_row(rule: Rule, today: datetime.date) -> RuleRow:
    """A rule's line in a table; overdue when its next review is before `today`."""
    return RuleRow(
        rule.id,
        rule.title,
        rule.severity,
        rule.status,
        rule.next_review.isoformat(),
        rule.next_review < today,
    )


def _match_groups(rule: Rule, ruleset: RuleSet) -> tuple[tuple[str, tuple[GroupView, ...]], ...]:
    match = rule.match
    rows = (
        ("all of", match.all_of),
        ("none of", match.none_of),
        ("duplicate", (match.duplicate.group,) if match.duplicate else ()),
    )
    return tuple(
        (label, tuple(group_view(g, ruleset) for g in groups)) for label, groups in rows if groups
    )


def _cases_for(rule_id: str, cases: Iterable[LocatedCase]) -> tuple[CaseRow, ...]:
    rows = []
    for located in cases:
        case = located.case
        if rule_id in case.expect_fired:
            expectation = "fires"
        elif rule_id in (*case.expect_not_fired, *case.expect_skipped):
            expectation = "must not fire"
        else:
            continue
        medicines = tuple((m.note or m.code, m.code) for m in case.medications)
        rows.append(CaseRow(case.name, expectation, medicines, f"{located.file}:{located.line}"))
    return tuple(rows)


def rule_page(
    compiled: CompiledRule, ruleset: RuleSet, cases: Iterable[LocatedCase], today: datetime.date
) -> RulePage:
    """One rule's page content: match, message, sources, governance and test cases."""
    rule = compiled.rule
    patient = rule.match.patient
    facts = patient.model_dump(exclude_defaults=True) if patient is not None else {}
    return RulePage(
        title=f"{rule.id}: {rule.title}",
        rule=rule_row(rule, today),
        category=rule.category,
        evidence=rule.evidence,
        match_groups=_match_groups(rule, ruleset),
        min_distinct=rule.match.duplicate.min_distinct if rule.match.duplicate else None,
        patient=tuple((k.replace("_", " "), str(v)) for k, v in facts.items()),
        detail=segments(rule.detail),
        recommendation=segments(rule.recommendation),
        rationale=rule.rationale,
        citations=tuple(Citation(c.source, c.reference, c.url) for c in rule.citations),
        authored_by=rule.authored_by,
        checked_by=rule.checked_by,
        date_reviewed=rule.date_reviewed.isoformat(),
        defined_in=f"{compiled.file}:{compiled.line}",
        cases=_cases_for(rule.id, cases),
        concern=ruleset.concerns[rule.concern].title
        if rule.concern is not None and rule.concern in ruleset.concerns
        else "",
        concern_rules=tuple(
            sorted(
                other
                for other, c in {**ruleset.rules, **ruleset.inactive}.items()
                if rule.concern and c.rule.concern == rule.concern and other != rule.id
            )
        ),
        applies_to=", ".join(
            f"{k.replace('_', ' ')} {v if not isinstance(v, tuple) else ' or '.join(v)}"
            for k, v in rule.match.applies_to.model_dump(exclude_defaults=True).items()
        )
        if rule.match.applies_to
        else "",
    )


def _summary(ruleset: RuleSet) -> Summary:
    identity = ruleset.identity
    return Summary(
        identity.name,
        identity.version,
        identity.effective_date,
        identity.dmd_release,
        len(ruleset.rules),
        len(ruleset.inactive),
        identity.content_hash[:12],
    )


def _by_group(every: Iterable[CompiledRule]) -> dict[str, list[CompiledRule]]:
    by_group: dict[str, list[CompiledRule]] = {}
    for compiled in every:
        match = compiled.rule.match
        groups = {*match.all_of, *match.none_of}
        if match.duplicate:
            groups.add(match.duplicate.group)
        for gid in groups:
            by_group.setdefault(gid, []).append(compiled)
    return by_group


def render_catalogue(
    ruleset: RuleSet, cases: Iterable[LocatedCase], today: datetime.date
) -> Mapping[str, str]:
    """Every page of the catalogue, keyed by relative path.

    Example: `render_catalogue(ruleset, cases, datetime.date.today())["index.html"]`.
    """
    cases = tuple(cases)
    every = sorted((*ruleset.rules.values(), *ruleset.inactive.values()), key=lambda c: c.rule.id)
    summary = _summary(ruleset)

    def rows(rules: Iterable[CompiledRule]) -> tuple[RuleRow, ...]:
        return tuple(rule_row(c.rule, today) for c in rules)

    by_category: dict[str, list[CompiledRule]] = {}
    for compiled in every:
        by_category.setdefault(compiled.rule.category, []).append(compiled)
    categories = [(category, rows(rules)) for category, rules in sorted(by_category.items())]
    groups = [
        (group_view(gid, ruleset), rows(rules)) for gid, rules in sorted(_by_group(every).items())
    ]
    by_review = rows(sorted(every, key=lambda c: (c.rule.next_review, c.rule.id)))
    pages = {
        "index.html": render("catalogue_index.html.j2", summary=summary, categories=categories),
        "by-drug.html": render("catalogue_by_drug.html.j2", summary=summary, groups=groups),
        "by-review.html": render(
            "catalogue_by_review.html.j2",
            summary=summary,
            today=today.isoformat(),
            overdue=sum(row.overdue for row in by_review),
            rows=by_review,
        ),
    }
    for compiled in every:
        page = rule_page(compiled, ruleset, cases, today)
        pages[f"rules/{compiled.rule.id}.html"] = render("catalogue_rule.html.j2", page=page)
    return pages
