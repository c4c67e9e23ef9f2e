"""Reading committee files: links out of their directory, non-files and huge files are refused."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import DiagnosticKind, RuleSetError
from medsopt.rules.holder import Cause, FailedAttempt, RuleSetHolder
from medsopt.rules.ruleset import RuleSet
from medsopt.store.activate import BUNDLED_RULES, Locations, load_into
from medsopt.store.adherence import load_adherence_classes
from medsopt.store.manifest import digests, write_manifest
from medsopt.store.sources import MAX_FILE_BYTES, read_sources

SECRET = "root:x:0:0:SECRET-LINE:/root:/bin/bash\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def small_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).parents[1] / "data" / "broken" / "bad-check-digit", rules)
    return rules


def refused(directory: Path) -> list[str]:
    with pytest.raises(RuleSetError) as raised:
        read_sources(directory)
    shown = [str(d) for d in raised.value.diagnostics]
    assert not any("SECRET" in line for line in shown)
    return shown


def test_a_codelist_linked_outside_is_refused_without_echoing_it(
    tmp_path: Path, secret: Path
) -> None:
    rules = small_rules(tmp_path)
    codelist = rules / "codelists" / "nsaid.csv"
    codelist.unlink()
    codelist.symlink_to(secret)
    assert refused(rules) == [
        "codelists/nsaid.csv:1:1: error[unsafe-file]: is a link leading outside rules/; refused"
    ]


def test_a_link_inside_the_directory_is_read(tmp_path: Path) -> None:
    rules = small_rules(tmp_path)
    codelist = rules / "codelists" / "nsaid.csv"
    codelist.rename(rules / "codelists" / "real.csv")
    codelist.symlink_to("real.csv")
    assert read_sources(rules)["codelists/nsaid.csv"] == read_sources(rules)["codelists/real.csv"]


def test_a_directory_linked_outside_is_refused(tmp_path: Path, secret: Path) -> None:
    rules = small_rules(tmp_path)
    (rules / "more").symlink_to(secret.parent, target_is_directory=True)
    assert refused(rules) == [
        "more:1:1: error[unsafe-file]: is a link leading outside rules/; refused"
    ]


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    rules = small_rules(tmp_path)
    os.mkfifo(rules / "pipe.yaml")
    assert refused(rules) == ["pipe.yaml:1:1: error[unsafe-file]: is not a regular file; refused"]


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    rules = small_rules(tmp_path)
    with (rules / "codelists" / "huge.csv").open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    (message,) = refused(rules)
    assert message.startswith("codelists/huge.csv:1:1: error[unsafe-file]: has 4,194,305 bytes")


def test_an_adherence_codelist_linked_outside_is_refused(
    formulary_copy: Path, secret: Path, bundled: RuleSet
) -> None:
    classes = (formulary_copy / "adherence-classes.yaml").read_text()
    named = formulary_copy / "adherence" / "non-insulin-antidiabetics.csv"
    assert "adherence/non-insulin-antidiabetics.csv" in classes
    named.unlink()
    named.symlink_to(secret)
    with pytest.raises(RuleSetError) as raised:
        digests(Locations(BUNDLED_RULES, formulary_copy))
    shown = [str(d) for d in raised.value.diagnostics]
    assert shown == [
        "formulary/adherence/non-insulin-antidiabetics.csv:1:1: error[unsafe-file]: "
        "is a link leading outside formulary/; refused"
    ]
    with pytest.raises(RuleSetError) as raised:
        load_adherence_classes(formulary_copy, bundled)
    assert [d.kind for d in raised.value.diagnostics] == [DiagnosticKind.UNSAFE_FILE]


def test_a_hand_written_manifest_cannot_admit_a_link_outside(tmp_path: Path, secret: Path) -> None:
    """Even a manifest listing the linked file's own hash does not get it read."""
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES, rules)
    locations = Locations(rules, BUNDLED_RULES.parent / "formulary")
    codelist = rules / "codelists" / "pincer-nsaids-oral.csv"
    codelist.unlink()
    files = digests(Locations(BUNDLED_RULES, locations.formulary_dir))
    files["rules/codelists/pincer-nsaids-oral.csv"] = hashlib.sha256(SECRET.encode()).hexdigest()
    codelist.symlink_to(secret)
    write_manifest(locations, "hand", "written", files)
    holder = RuleSetHolder()
    failure = load_into(holder, locations)
    assert isinstance(failure, FailedAttempt)
    assert failure.cause is Cause.UNPUBLISHED
    assert [(d.file, d.kind) for d in failure.diagnostics] == [
        ("rules/codelists/pincer-nsaids-oral.csv", DiagnosticKind.UNSAFE_FILE)
    ]
    assert "SECRET" not in str(failure)
