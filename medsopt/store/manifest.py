"""The publication manifest: which rule set was published, and the sha256 of every file it reads.

`rules/PUBLISHED.json` names the rule set and version and lists, under `rules/...` and
`formulary/...`, every file a build reads. The server activates only a tree whose files match it
exactly, so a half-written, changed or unlisted file is never served (ADR 12).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from medsopt.authoring.diagnostics import Diagnostic, DiagnosticKind, RuleSetError
from medsopt.store.adherence import adherence_files
from medsopt.store.locations import Locations
from medsopt.store.sources import MAX_FILE_BYTES, UnsafeFileError, read_contained, source_paths

MANIFEST = "PUBLISHED.json"
# The dm+d extract is machine-written Parquet; a full NHSBSA import is tens of MB.
MAX_DMD_FILE_BYTES = 512 * 1024 * 1024
DMD_FILES = ("release.json", "concepts.parquet", "superseded.parquet")


class PublishedRuleSet(BaseModel):
    """The rule set's identity as published."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    version: str


class Manifest(BaseModel):
    """rules/PUBLISHED.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: Literal[1] = 1
    rule_set: PublishedRuleSet
    files: dict[str, str]  # "rules/pincer.yaml" or "formulary/local/x.yaml" -> sha256 hex


@dataclass(frozen=True, slots=True)
class PublishedFile:
    """One file a build reads: its manifest key, the directory it must stay inside, its path."""

    key: str
    root: Path
    relative: str
    limit: int = MAX_FILE_BYTES


def published_files(locations: Locations) -> tuple[tuple[PublishedFile, ...], list[Diagnostic]]:
    """Every file a build of `locations` reads (the same selection the readers make)."""
    files: list[PublishedFile] = []
    rules, problems = source_paths(locations.rules_dir)
    files += [PublishedFile(f"rules/{r}", locations.rules_dir, r) for r in rules]
    found = list(problems)
    formulary = locations.formulary_dir
    for directory in (locations.local_formulary_dir, locations.biosimilars_dir):
        if directory.is_dir():
            paths, problems = source_paths(directory)
            found += problems
            prefix = directory.relative_to(formulary).as_posix()
            files += [PublishedFile(f"formulary/{prefix}/{p}", directory, p) for p in paths]
    try:
        files += [PublishedFile(f"formulary/{r}", formulary, r) for r in adherence_files(formulary)]
    except RuleSetError as error:
        found += error.diagnostics
    # The extract may be a link to a shared import: it is checked inside its own directory.
    dmd = locations.dmd_dir
    prefix = dmd.relative_to(formulary).as_posix()
    files += [
        PublishedFile(f"formulary/{prefix}/{name}", dmd, name, MAX_DMD_FILE_BYTES)
        for name in DMD_FILES
        if (dmd / name).exists() or (dmd / name).is_symlink()
    ]
    return tuple(sorted(files, key=lambda f: f.key)), found


def digests(locations: Locations) -> dict[str, str]:
    """sha256 of every published file; raise RuleSetError for any file that may not be read."""
    files, problems = published_files(locations)
    result: dict[str, str] = {}
    for file in files:
        try:
            data = read_contained(file.root, file.relative, file.limit)
        except UnsafeFileError as error:
            problems.append(Diagnostic(file.key, 1, 1, DiagnosticKind.UNSAFE_FILE, str(error)))
            continue
        except OSError as error:
            message = f"cannot be read: {error.strerror}"
            problems.append(Diagnostic(file.key, 1, 1, DiagnosticKind.MISSING_FILE, message))
            continue
        result[file.key] = hashlib.sha256(data).hexdigest()
    if problems:
        raise RuleSetError(problems)
    return result


def manifest_path(locations: Locations) -> Path:
    return locations.rules_dir / MANIFEST


def read_manifest(locations: Locations) -> tuple[Manifest, str]:
    """The manifest and the sha256 of its bytes; raise RuleSetError when absent or invalid."""
    try:
        data = read_contained(locations.rules_dir, MANIFEST)
        return Manifest.model_validate_json(data), hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        message = "no published manifest; run `medsopt rules publish`"
    except (UnsafeFileError, OSError, ValidationError) as error:
        reason = error if isinstance(error, UnsafeFileError) else type(error).__name__
        message = f"manifest cannot be read ({reason}); run `medsopt rules publish`"
    raise RuleSetError([Diagnostic(f"rules/{MANIFEST}", 1, 1, DiagnosticKind.UNPUBLISHED, message)])


def verify_published(locations: Locations) -> tuple[Manifest, str]:
    """The manifest (and its sha256) if every published file matches it exactly.

    Raises RuleSetError naming each changed, unlisted or missing file (never its content).
    """
    manifest, digest = read_manifest(locations)
    actual = digests(locations)
    problems = [
        Diagnostic(key, 1, 1, DiagnosticKind.UNPUBLISHED, message)
        for key, message in mismatches(manifest.files, actual)
    ]
    if problems:
        raise RuleSetError(problems)
    return manifest, digest


def mismatches(published: dict[str, str], actual: dict[str, str]) -> list[tuple[str, str]]:
    """(file, what differs) for every file whose content differs from the manifest."""
    found: list[tuple[str, str]] = []
    for key in sorted(published.keys() | actual.keys()):
        if key not in actual:
            found.append((key, "published but missing"))
        elif key not in published:
            found.append((key, "not in the published manifest"))
        elif published[key] != actual[key]:
            found.append((key, "changed since it was published"))
    return found


def write_manifest(locations: Locations, name: str, version: str, files: dict[str, str]) -> str:
    """Write the manifest atomically (aside, then one rename); return its sha256."""
    manifest = Manifest(rule_set=PublishedRuleSet(name=name, version=version), files=files)
    text = json.dumps(manifest.model_dump(), indent=1, sort_keys=True) + "\n"
    handle, staging = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=locations.rules_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(staging, 0o644)
        os.replace(staging, manifest_path(locations))
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
