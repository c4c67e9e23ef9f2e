"""Publish a rule set: check it, run its committee tests, then write its manifest in one rename."""

from __future__ import annotations

from dataclasses import dataclass

from medsopt.store.activate import build
from medsopt.store.locations import Locations
from medsopt.store.manifest import digests, mismatches, write_manifest


class FilesChangedError(Exception):
    """Files changed while the rule set was being checked; publish again once they settle."""


@dataclass(frozen=True, slots=True)
class Published:
    """What a publication wrote."""

    name: str
    version: str
    files: int
    manifest_sha256: str


def publish(locations: Locations) -> Published:
    """Build `locations` exactly as the server does (committee tests included) and, only if it
    passes, write `rules/PUBLISHED.json` listing the sha256 of every file the build read.

    Raises RuleSetError, CommitteeTestsFailedError or DmdExtractError as `build` does, and
    FilesChangedError when a file changed during the check (nothing is written then).
    Example (a test serving a temporary copy): `publish(Locations(tmp_path / "rules"))`.
    """
    before = digests(locations)
    identity = build(locations).ruleset.identity
    after = digests(locations)
    if after != before:
        changed = ", ".join(key for key, _ in mismatches(before, after)[:5])
        raise FilesChangedError(f"files changed while publishing ({changed}); publish again")
    digest = write_manifest(locations, identity.name, identity.version, after)
    return Published(identity.name, identity.version, len(after), digest)
