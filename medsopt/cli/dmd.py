"""`medsopt dmd import` and `medsopt dmd diff`: bring in a TRUD release, review what it changes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from medsopt.dmd.diff import (
    GroupChange,
    GroupSnapshot,
    ReleaseChanges,
    group_changes,
    release_changes,
)
from medsopt.dmd.index import DmdIndex
from medsopt.store.activate import BUNDLED_RULES

dmd_app = typer.Typer(
    no_args_is_help=True, help="Import NHSBSA dm+d releases and review what a release changes."
)
EXIT_OK, EXIT_FAILED = 0, 1


@dmd_app.command("import")
def import_command(
    release_dir: Annotated[
        Path, typer.Argument(help="Unzipped NHSBSA dm+d release (f_vmp2_*.xml etc.).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Extract directory to create.")],
    release: Annotated[
        str | None, typer.Option(help="Release id recorded in release.json; default: dir name.")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace an existing extract at --out.")] = False,
) -> None:
    """Import a release, e.g. `medsopt dmd import nhsbsa_dmd_x --out formulary/dmd/2026-11`."""
    from medsopt.dmd.release.files import DmdImportError, import_release

    try:
        summary = import_release(release_dir, out, release, replace)
    except DmdImportError as error:
        print(f"dm+d import failed: {error}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    levels = ", ".join(f"{level} {count}" for level, count in summary.levels.items())
    print(
        f"imported dm+d release {summary.release} into {summary.out}: {levels}; "
        f"{summary.superseded} superseded ids"
    )


@dmd_app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="Extract directory of the earlier release.")],
    new: Annotated[Path, typer.Argument(help="Extract directory of the later release.")],
    rules: Annotated[
        Path, typer.Option("--rules", envvar="MEDSOPT_RULES_DIR", help="Rules directory.")
    ] = BUNDLED_RULES,
) -> None:
    """Concepts added, invalidated and re-identified, and the drug groups whose members change."""
    from medsopt.authoring.diagnostics import RuleSetError
    from medsopt.dmd.release.files import DmdExtractError, load_dmd_extract
    from medsopt.store.sources import read_sources

    try:
        before, after = load_dmd_extract(old), load_dmd_extract(new)
        sources = read_sources(rules)
        old_groups, new_groups = (_snapshot(sources, index) for index in (before, after))
    except DmdExtractError as error:
        print(error, file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    except RuleSetError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"{rules}: the rule set does not compile", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    changes = release_changes(before, after)
    print("\n".join(render(changes, group_changes(old_groups, new_groups, changes), rules)))


def _snapshot(sources: dict[str, str], index: DmdIndex) -> GroupSnapshot:
    """The medicine groups of the rule set compiled against one release."""
    from medsopt.rules.compile import compile_ruleset

    ruleset = compile_ruleset(sources, index).ruleset
    medicine = {gid: g for gid, g in ruleset.groups.items() if g.kind == "medicine"}
    return GroupSnapshot(
        dmd=index,
        titles={gid: g.title for gid, g in medicine.items()},
        listed={gid: g.codes for gid, g in medicine.items()},
        membership=ruleset.membership,
    )


def render(changes: ReleaseChanges, groups: Sequence[GroupChange], rules: Path) -> list[str]:
    """The weekly-review report: one table per kind of change."""
    lines = [
        f"dm+d {changes.old_release} -> {changes.new_release}: {len(changes.added)} added, "
        f"{len(changes.invalidated)} invalidated, {len(changes.reidentified)} re-identified, "
        f"{len(changes.removed)} removed",
    ]
    for title, items in (
        ("Added", changes.added),
        ("Invalidated", changes.invalidated),
        ("Removed without a successor", changes.removed),
    ):
        if items:
            lines += ["", f"{title} ({len(items)})"]
            lines += _table(
                ("LEVEL", "CODE", "NAME"), [(c.level.value, c.code, c.name) for c in items]
            )
    if changes.reidentified:
        lines += ["", f"Re-identified ({len(changes.reidentified)})"]
        lines += _table(
            ("LEVEL", "OLD CODE", "NEW CODE", "SINCE", "NAME"),
            [
                (r.level.value, r.previous_code, r.current_code, r.changed_on or "", r.name)
                for r in changes.reidentified
            ],
        )
    lines += ["", f"Drug groups whose membership changes ({len(groups)}; rules: {rules})"]
    if not groups:
        lines.append("  none")
    rows = [
        (
            group.group,
            f"{group.members_before}->{group.members_after}",
            change.kind.value,
            change.level.value if change.level else "",
            change.code,
            change.name,
            change.reason,
        )
        for group in groups
        for change in group.changes
    ]
    if rows:
        lines += _table(("GROUP", "MEMBERS", "CHANGE", "LEVEL", "CODE", "NAME", "WHY"), rows)
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        (
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]
