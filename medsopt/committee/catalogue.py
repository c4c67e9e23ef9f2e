"""A static HTML catalogue of a rule set: every rule, what it matches, its sources and its tests.

Pure: returns {relative path: HTML text}; the CLI writes the files. No scripts, no network.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from html import escape

from medsopt.committee.cases import LocatedCase
from medsopt.dmd.concepts import Level
from medsopt.rules.models import PLACEHOLDERS, Rule
from medsopt.rules.ruleset import CompiledRule, GroupInfo, RuleSet

NAMES_SHOWN = 12
_SHOWN_LEVELS = frozenset({Level.VTM, Level.VMP})
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d1d1f;
line-height:1.45}
nav a{margin-right:1.2rem} table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6} .badge{border-radius:.3rem;padding:.05rem .4rem;font-size:.85em;color:#fff}
.severe{background:#b42318}.moderate{background:#b54708}.mild{background:#027a48}
.info{background:#175cd3}
.draft,.retired{background:#667085} .active{background:#027a48} .overdue{background:#fee4e2}
code{background:#f3f4f6;padding:0 .2rem} h1{font-size:1.6rem} h2{font-size:1.2rem;margin-top:2rem}
.muted{color:#667085}
"""


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><nav>"
        f'<a href="{up}index.html">Rules by category</a>'
        f'<a href="{up}by-drug.html">By drug group</a>'
        f'<a href="{up}by-review.html">By review date</a></nav><h1>{escape(title)}</h1>{body}'
        "</body></html>\n"
    )


def _badge(text: str) -> str:
    return f'<span class="badge {escape(text)}">{escape(text)}</span>'


def _rule_link(rule: Rule, depth: int = 0) -> str:
    return f'<a href="{"../" * depth}rules/{escape(rule.id)}.html">{escape(rule.id)}</a>'


def _group_text(group: GroupInfo | None, ruleset: RuleSet, gid: str) -> str:
    if group is None:
        return f"<code>{escape(gid)}</code>"
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
    shown = ", ".join(escape(n) for n in names[:NAMES_SHOWN])
    more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    sample = f'<br><span class="muted">{shown}{more}</span>' if names else ""
    return (
        f"<code>{escape(gid)}</code> {escape(group.title)} "
        f'<span class="muted">({len(group.codes)} codes)</span>{sample}'
    )


def _match_rows(rule: Rule, ruleset: RuleSet) -> str:
    match = rule.match
    rows = [
        ("all of", match.all_of),
        ("none of", match.none_of),
        ("duplicate", (match.duplicate.group,) if match.duplicate else ()),
    ]
    html = "".join(
        f"<tr><th>{label}</th><td>"
        + "<br>".join(_group_text(ruleset.groups.get(g), ruleset, g) for g in groups)
        + "</td></tr>"
        for label, groups in rows
        if groups
    )
    if match.duplicate is not None:
        html += (
            f"<tr><th>distinct molecules</th><td>at least {match.duplicate.min_distinct}</td></tr>"
        )
    if match.patient is not None:
        facts = match.patient.model_dump(exclude_defaults=True)
        html += "".join(
            f"<tr><th>patient {escape(k.replace('_', ' '))}</th><td>{escape(str(v))}</td></tr>"
            for k, v in facts.items()
        )
    return html


def _cases_for(rule_id: str, cases: Iterable[LocatedCase]) -> str:
    rows = []
    for located in cases:
        case = located.case
        if rule_id in case.expect_fired:
            expectation = "fires"
        elif rule_id in case.expect_not_fired:
            expectation = "must not fire"
        else:
            continue
        meds = ", ".join(
            escape(m.note or m.code) + f" <code>{escape(m.code)}</code>" for m in case.medications
        )
        rows.append(
            f"<tr><td>{escape(case.name)}</td><td>{expectation}</td><td>{meds}</td>"
            f"<td><code>{escape(located.file)}:{located.line}</code></td></tr>"
        )
    if not rows:
        return "<p>No committee test cases.</p>"
    return (
        "<table><tr><th>case</th><th>expected</th><th>medicines</th><th>where</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _with_placeholders(text: str) -> str:
    """Escape text and show {medicines}-style placeholders as labels."""
    html = escape(text)
    for name in PLACEHOLDERS:
        html = html.replace("{" + name + "}", f"<i>&lsaquo;{name}&rsaquo;</i>")
    return html


def _rule_page(
    compiled: CompiledRule, ruleset: RuleSet, cases: Iterable[LocatedCase], today: datetime.date
) -> str:
    rule = compiled.rule
    overdue = ' class="overdue"' if rule.next_review < today else ""
    citations = "".join(
        f"<li>{escape(c.source)}: {escape(c.reference)}"
        + (f' <a href="{escape(c.url)}">{escape(c.url)}</a>' if c.url else "")
        + "</li>"
        for c in rule.citations
    )
    body = (
        f"<p>{_badge(rule.severity)} {_badge(rule.status)} {escape(rule.category)}, "
        f"evidence: {escape(rule.evidence)}</p>"
        f"<h2>What it matches</h2><table>{_match_rows(rule, ruleset)}</table>"
        f"<h2>Message</h2><p>{_with_placeholders(rule.detail)}</p><p><b>Recommendation.</b> "
        f"{_with_placeholders(rule.recommendation)}</p><h2>Rationale</h2><p>{escape(rule.rationale)}</p>"
        f"<h2>Sources</h2><ul>{citations}</ul><h2>Governance</h2><table>"
        f"<tr><th>authored by</th><td>{escape(rule.authored_by)}</td></tr>"
        f"<tr><th>checked by</th><td>{escape(rule.checked_by)}</td></tr>"
        f"<tr><th>reviewed</th><td>{rule.date_reviewed}</td></tr>"
        f"<tr{overdue}><th>next review</th><td>{rule.next_review}</td></tr>"
        f"<tr><th>defined in</th><td><code>{escape(compiled.file)}:{compiled.line}</code></td></tr>"
        f"</table><h2>Committee test cases</h2>{_cases_for(rule.id, cases)}"
    )
    return _page(f"{rule.id}: {rule.title}", body, depth=1)


def _rule_table(rules: Iterable[CompiledRule], today: datetime.date) -> str:
    rows = "".join(
        f"<tr{' class=overdue' if c.rule.next_review < today else ''}>"
        f"<td>{_rule_link(c.rule)}</td><td>{escape(c.rule.title)}</td>"
        f"<td>{_badge(c.rule.severity)}</td><td>{_badge(c.rule.status)}</td>"
        f"<td>{c.rule.next_review}</td></tr>"
        for c in rules
    )
    return (
        "<table><tr><th>rule</th><th>title</th><th>severity</th><th>status</th>"
        f"<th>next review</th></tr>{rows}</table>"
    )


def render_catalogue(
    ruleset: RuleSet, cases: Iterable[LocatedCase], today: datetime.date
) -> Mapping[str, str]:
    """Every page of the catalogue, keyed by relative path."""
    cases = tuple(cases)
    every = sorted((*ruleset.rules.values(), *ruleset.inactive.values()), key=lambda c: c.rule.id)
    identity = ruleset.identity
    summary = (
        f'<p class="muted">{escape(identity.name)} {escape(identity.version)}, effective '
        f"{escape(identity.effective_date)}; dm+d {escape(identity.dmd_release)}; "
        f"{len(ruleset.rules)} active, {len(ruleset.inactive)} draft or retired; "
        f"content hash <code>{identity.content_hash[:12]}</code></p>"
    )
    by_category: dict[str, list[CompiledRule]] = {}
    for compiled in every:
        by_category.setdefault(compiled.rule.category, []).append(compiled)
    index = summary + "".join(
        f"<h2>{escape(category)} ({len(rules)})</h2>{_rule_table(rules, today)}"
        for category, rules in sorted(by_category.items())
    )
    by_group: dict[str, list[CompiledRule]] = {}
    for compiled in every:
        match = compiled.rule.match
        groups = {*match.all_of, *match.none_of}
        if match.duplicate:
            groups.add(match.duplicate.group)
        for gid in groups:
            by_group.setdefault(gid, []).append(compiled)
    drugs = summary + "".join(
        f"<h2>{_group_text(ruleset.groups.get(gid), ruleset, gid)}</h2>{_rule_table(rules, today)}"
        for gid, rules in sorted(by_group.items())
    )
    overdue = sum(1 for c in every if c.rule.next_review < today)
    review = (
        summary
        + f"<p>{overdue} rule(s) overdue for review on {today} (highlighted).</p>"
        + _rule_table(sorted(every, key=lambda c: (c.rule.next_review, c.rule.id)), today)
    )
    pages = {
        "index.html": _page("Rule catalogue", index),
        "by-drug.html": _page("Rules by drug group", drugs),
        "by-review.html": _page("Rules by review date", review),
    }
    for compiled in every:
        pages[f"rules/{compiled.rule.id}.html"] = _rule_page(compiled, ruleset, cases, today)
    return pages
