"""Helpers for tests that serve rule sets from temporary directories."""

from __future__ import annotations

import shutil
from pathlib import Path

from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations
from medsopt.store.manifest import digests, write_manifest


def copy_bundled_rules(tmp_path: Path) -> Locations:
    """A writable copy of the bundled rules (published: its manifest is copied too)."""
    shutil.copytree(BUNDLED_RULES, tmp_path / "rules")
    return Locations(tmp_path / "rules", BUNDLED_FORMULARY)


def seal(locations: Locations) -> str:
    """Write a manifest for the files as they are, without checking them (`publish` checks).

    For tests that need the server's own checks to meet a broken file, as they would if a
    manifest were written by hand.
    """
    return write_manifest(locations, "unchecked", "unchecked", digests(locations))
