"""Publishing: the manifest names every file a build reads; only a matching tree is activated."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medsopt.authoring.diagnostics import DiagnosticKind, RuleSetError
from medsopt.rules.holder import Activation, Cause, FailedAttempt, RuleSetHolder
from medsopt.store.activate import CommitteeTestsFailedError, Locations, load_into
from medsopt.store.manifest import MANIFEST, verify_published
from medsopt.store.publish import publish
from tests.store.publishing import copy_bundled_rules

CODELIST = "codelists/pincer-nsaids-oral.csv"


def test_bundled_manifest_matches_the_bundled_files() -> None:
    try:
        manifest, _ = verify_published(Locations())
    except RuleSetError as error:
        shown = "\n".join(str(d) for d in error.diagnostics[:20])
        pytest.fail(
            f"rules/{MANIFEST} is stale; after checking the change, refresh it with "
            f"`.venv/bin/medsopt rules publish`:\n{shown}"
        )
    assert manifest.rule_set.name == "medsopt-bundled"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Locations:
    """A copy of the bundled rules, published once for the module (copies stay published)."""
    locations = copy_bundled_rules(tmp_path_factory.mktemp("published"))
    (locations.rules_dir / MANIFEST).unlink()
    publish(locations)
    return locations


@pytest.fixture
def rules(published: Locations, tmp_path: Path) -> Locations:
    shutil.copytree(published.rules_dir, tmp_path / "rules")
    return Locations(tmp_path / "rules", published.formulary_dir)


def test_publish_lists_every_file_a_build_reads(published: Locations) -> None:
    manifest = json.loads((published.rules_dir / MANIFEST).read_text())
    files = manifest["files"]
    assert f"rules/{CODELIST}" in files
    assert "rules/ruleset.yaml" in files
    assert "formulary/dmd/bundled/concepts.parquet" in files
    assert "formulary/adherence/default-doses.csv" in files
    assert "formulary/local/northshire-icb.yaml" in files
    assert not any(key.endswith(("README.md", ".py", MANIFEST)) for key in files)


def rejected(holder: RuleSetHolder, rules: Locations) -> FailedAttempt:
    outcome = load_into(holder, rules)
    assert isinstance(outcome, FailedAttempt), outcome
    return outcome


def test_only_the_published_files_are_activated(rules: Locations) -> None:
    holder = RuleSetHolder()
    first = load_into(holder, rules)
    assert isinstance(first, Activation) and first.manifest_sha256
    codelist = rules.rules_dir / CODELIST
    whole = codelist.read_bytes()

    codelist.write_bytes(whole[: len(whole) // 2])  # half-written
    failure = rejected(holder, rules)
    assert failure.cause is Cause.UNPUBLISHED
    shown = [str(d) for d in failure.diagnostics]
    assert shown == [f"rules/{CODELIST}:1:1: error[unpublished]: changed since it was published"]

    codelist.write_bytes(whole)
    (rules.rules_dir / "extra.yaml").write_text("groups: []\n")  # unlisted
    assert [str(d) for d in rejected(holder, rules).diagnostics] == [
        "rules/extra.yaml:1:1: error[unpublished]: not in the published manifest"
    ]

    (rules.rules_dir / "extra.yaml").unlink()
    (rules.rules_dir / "codelists" / "pincer-anticoagulants.csv").unlink()
    assert [d.message for d in rejected(holder, rules).diagnostics] == ["published but missing"]
    assert holder.active is first  # the published set kept serving throughout
    assert holder.rejections == 3


def test_a_tree_without_manifest_is_never_activated(rules: Locations) -> None:
    (rules.rules_dir / MANIFEST).unlink()
    holder = RuleSetHolder()
    failure = rejected(holder, rules)
    assert failure.cause is Cause.UNPUBLISHED
    assert [d.kind for d in failure.diagnostics] == [DiagnosticKind.UNPUBLISHED]
    assert "medsopt rules publish" in failure.diagnostics[0].message
    assert holder.active is None


def test_publish_refuses_a_failing_committee_test(rules: Locations) -> None:
    manifest = (rules.rules_dir / MANIFEST).read_bytes()
    codelist = rules.rules_dir / "codelists" / "pincer-anticoagulants.csv"
    kept = codelist.read_text().splitlines(keepends=True)
    codelist.write_text("".join(line for line in kept if not line.startswith("319733000,")))
    with pytest.raises(CommitteeTestsFailedError, match="PINCER-D"):
        publish(rules)
    assert (rules.rules_dir / MANIFEST).read_bytes() == manifest


def test_rules_publish_command(rules: Locations) -> None:
    (rules.rules_dir / MANIFEST).unlink()
    command = [sys.executable, "-m", "medsopt", "rules", "publish", str(rules.rules_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("published medsopt-bundled ")
    verify_published(rules)

    (rules.rules_dir / "pincer.yaml").write_text("rules: [\n")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "pincer.yaml:" in done.stderr and "not published" in done.stderr
    with pytest.raises(RuleSetError):  # the manifest still names the published pincer.yaml
        verify_published(rules)
