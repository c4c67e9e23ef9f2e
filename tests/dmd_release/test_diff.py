"""`dmd diff` on r1 -> r2: concept changes and the drug groups whose membership moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsopt.cli.dmd import render
from medsopt.dmd.concepts import Level
from medsopt.dmd.diff import (
    ConceptChange,
    GroupChange,
    GroupSnapshot,
    MemberChangeKind,
    Reidentified,
    ReleaseChanges,
    group_changes,
    release_changes,
)
from medsopt.dmd.index import DmdIndex
from medsopt.dmd.release.files import load_dmd_extract
from medsopt.rules.compile import compile_ruleset
from medsopt.store.sources import read_sources
from tests.dmd_release.conftest import FIXTURE_RULES, medsopt


def _snapshot(index: DmdIndex) -> GroupSnapshot:
    ruleset = compile_ruleset(read_sources(FIXTURE_RULES), index).ruleset
    return GroupSnapshot(
        dmd=index,
        titles={gid: g.title for gid, g in ruleset.groups.items()},
        listed={gid: g.codes for gid, g in ruleset.groups.items()},
        membership=ruleset.membership,
    )


@pytest.fixture(scope="module")
def indexes(extracts: tuple[Path, Path]) -> tuple[DmdIndex, DmdIndex]:
    return load_dmd_extract(extracts[0]), load_dmd_extract(extracts[1])


@pytest.fixture(scope="module")
def changes(indexes: tuple[DmdIndex, DmdIndex]) -> ReleaseChanges:
    return release_changes(*indexes)


@pytest.fixture(scope="module")
def groups(indexes: tuple[DmdIndex, DmdIndex], changes: ReleaseChanges) -> dict[str, GroupChange]:
    found = group_changes(_snapshot(indexes[0]), _snapshot(indexes[1]), changes)
    return {g.group: g for g in found}


def test_concept_changes(changes: ReleaseChanges) -> None:
    assert (changes.old_release, changes.new_release) == ("r1", "r2")
    assert changes.added == (
        ConceptChange(
            "34760111000001106",
            "Warfarin 1mg tablets (Sun Pharmaceutical Industries Europe B.V.)",
            Level.AMP,
        ),
    )
    assert changes.invalidated == (
        ConceptChange(
            "29915211000001103", "Diclofenac 2.32% gel (Colorama Pharmaceuticals Ltd)", Level.AMP
        ),
    )
    assert changes.reidentified == (
        Reidentified("406436002", "36408311000001108", "Rosuvastatin", Level.VTM, "2018-11-15"),
        Reidentified(
            "329847005",
            "36030111000001106",
            "Naproxen 500mg modified-release tablets",
            Level.VMP,
            "2018-10-29",
        ),
    )
    assert changes.removed == ()


def test_no_change_between_a_release_and_itself(indexes: tuple[DmdIndex, DmdIndex]) -> None:
    same = release_changes(indexes[1], indexes[1])
    assert (same.added, same.invalidated, same.reidentified, same.removed) == ((), (), (), ())
    assert group_changes(_snapshot(indexes[1]), _snapshot(indexes[1]), same) == ()


def test_groups_that_change(groups: dict[str, GroupChange]) -> None:
    assert sorted(groups) == [
        "anticoagulants",
        "nsaids-oral",
        "nsaids-oral-2018",
        "statins",
        "topical-nsaids",
    ]


def _rows(group: GroupChange) -> list[tuple[MemberChangeKind, str]]:
    return [(c.kind, c.code) for c in group.changes]


def test_new_amp_captured_through_a_listed_vmp(groups: dict[str, GroupChange]) -> None:
    group = groups["anticoagulants"]
    assert (group.members_before, group.members_after) == (4, 5)
    [change] = group.changes
    assert (change.kind, change.code) == (MemberChangeKind.GAINED, "34760111000001106")
    assert change.reason == (
        "new AMP in this release, captured through listed 319733000 (Warfarin 1mg tablets)"
    )


def test_codelist_with_the_current_id_gains_the_renumbered_vmp_and_its_amp(
    groups: dict[str, GroupChange],
) -> None:
    assert _rows(groups["nsaids-oral"]) == [
        (MemberChangeKind.GAINED, "36030111000001106"),
        (MemberChangeKind.GAINED, "61111000001105"),
    ]


def test_codelist_with_the_retired_id_is_told_to_list_the_new_one(
    groups: dict[str, GroupChange],
) -> None:
    group = groups["nsaids-oral-2018"]
    listed = group.changes[0]
    assert (listed.kind, listed.code) == (MemberChangeKind.LISTED, "329847005")
    assert listed.reason == "re-identified as 36030111000001106 on 2018-10-29: list the new code"
    # The compiler maps a retired listed id to its successor, so the group keeps its members
    # (the renumbered VMP is not reported again as gained); without that mapping it would lose
    # the VMP and its AMP, and the AMP would be listed as lost.
    if group.members_after == group.members_before:
        assert group.changes == (listed,)
    else:
        assert [(c.kind, c.code) for c in group.changes[1:]] == [
            (MemberChangeKind.LOST, "61111000001105")
        ]


def test_renumbered_vtm_stays_a_member(groups: dict[str, GroupChange]) -> None:
    [change] = groups["statins"].changes
    assert (change.kind, change.code, change.level) == (
        MemberChangeKind.REIDENTIFIED,
        "406436002",
        Level.VTM,
    )
    assert change.reason == "now 36408311000001108 on 2018-11-15; still a member"


def test_invalidated_amp_leaves_its_group(groups: dict[str, GroupChange]) -> None:
    [change] = groups["topical-nsaids"].changes
    assert (change.kind, change.code, change.reason) == (
        MemberChangeKind.LOST,
        "29915211000001103",
        "invalidated in this release",
    )


def test_report_is_a_readable_table(
    changes: ReleaseChanges, groups: dict[str, GroupChange]
) -> None:
    lines = render(changes, list(groups.values()), FIXTURE_RULES)
    assert lines[0] == "dm+d r1 -> r2: 1 added, 1 invalidated, 2 re-identified, 0 removed"
    assert "  LEVEL  OLD CODE   NEW CODE           SINCE       NAME" in lines
    header = next(line for line in lines if line.startswith("  GROUP"))
    assert header.split() == ["GROUP", "MEMBERS", "CHANGE", "LEVEL", "CODE", "NAME", "WHY"]
    assert all(line == line.rstrip() for line in lines)


def test_cli_diff_on_the_fixture_releases(extracts: tuple[Path, Path]) -> None:
    result = medsopt("dmd", "diff", *extracts, "--rules", FIXTURE_RULES)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Re-identified (2)" in out
    assert "VMP    329847005  36030111000001106  2018-10-29  Naproxen 500mg modified-release" in out
    assert "Drug groups whose membership changes (5;" in out
    assert "listed code    VMP    329847005" in out
    assert "topical-nsaids    4->3     lost" in out


def test_cli_diff_defaults_to_the_bundled_rules(extracts: tuple[Path, Path]) -> None:
    result = medsopt("dmd", "diff", *extracts)
    assert result.returncode == 0, result.stderr
    assert "rules: " in result.stdout and "Added (1)" in result.stdout


def test_cli_diff_names_a_missing_extract(tmp_path: Path, extracts: tuple[Path, Path]) -> None:
    result = medsopt("dmd", "diff", tmp_path / "nowhere", extracts[1])
    assert result.returncode == 1
    assert "nowhere: cannot read dm+d extract" in result.stderr
