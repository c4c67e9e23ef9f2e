"""Import an NHSBSA dm+d XML release into a Parquet extract that `load_dmd_extract` reads.

Files are found and streamed one at a time (lookups first, AMPPs last, so every parent is known
before its children), the tables are built in memory, written into a sibling temporary
directory and renamed into place: the output path never holds a half-written extract.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import iterparse

import polars as pl

from medsopt.dmd.release_xml import FileKind, ReleaseFormatError, parse_release_file
from medsopt.loading.dmd_tables import ReleaseTables


class DmdImportError(Exception):
    """The release could not be imported; the message names the file."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import wrote."""

    release: str
    out: Path
    levels: Mapping[str, int]
    superseded: int


def find_release_files(directory: Path) -> dict[FileKind, Path]:
    """The seven release files in `directory`, each matched exactly once."""
    if not directory.is_dir():
        raise DmdImportError(f"{directory}: not a directory")
    found: dict[FileKind, Path] = {}
    for kind in FileKind:
        matches = sorted(directory.glob(kind.file_glob))
        if not matches:
            other = sorted(directory.glob(f"f_{kind.value}[0-9]_*.xml"))
            hint = f" (found {other[0].name}: unknown schema version)" if other else ""
            raise DmdImportError(
                f"{directory / kind.file_glob}: missing dm+d {kind.value} file{hint}"
            )
        if len(matches) > 1:
            names = ", ".join(m.name for m in matches)
            raise DmdImportError(f"{directory}: more than one {kind.value} file: {names}")
        found[kind] = matches[0]
    return found


def import_release(
    release_dir: Path, out: Path, release: str | None = None, replace: bool = False
) -> ImportSummary:
    """Read the XML files in `release_dir` and write the extract to `out`.

    Example: `import_release(Path("nhsbsa_dmd_4.0.1_20190401000001"), Path("formulary/dmd/2019-04"))`
    """
    files = find_release_files(release_dir)
    if out.exists() and not replace:
        raise DmdImportError(f"{out}: already exists (pass replace=True / --replace to overwrite)")
    release_id = release or release_dir.resolve().name
    tables = ReleaseTables()
    for kind, path in files.items():
        try:
            with path.open("rb") as handle:
                for record in parse_release_file(
                    iterparse(handle, events=("start", "end")), kind, str(path)
                ):
                    tables.add(record)
            tables.finish_file(kind, str(path))
        except ReleaseFormatError as error:
            raise DmdImportError(str(error)) from error
        except OSError as error:
            raise DmdImportError(f"{path}: cannot read: {error.strerror}") from error
    frames = tables.frames()
    levels = Counter(frames["concepts"]["level"].to_list())
    manifest = {
        "release": release_id,
        "source": "NHSBSA dm+d XML release",
        "schema_version": "2.3",
        "files": {
            kind.value: {"name": path.name, "sha256": _sha256(path)} for kind, path in files.items()
        },
        "concepts": frames["concepts"].height,
        "levels": dict(sorted(levels.items())),
        "superseded_ids": frames["superseded"].height,
        "tables": {f"{name}.parquet": frame.height for name, frame in frames.items()},
    }
    _write_aside(out, frames, manifest, replace)
    return ImportSummary(release_id, out, manifest["levels"], frames["superseded"].height)


def _write_aside(
    out: Path, frames: Mapping[str, pl.DataFrame], manifest: dict[str, object], replace: bool
) -> None:
    """Write into a sibling temporary directory, then rename it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".importing", dir=out.parent))
    try:
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet", compression="zstd")
        (staging / "release.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if replace and out.exists():
            retired = staging.with_suffix(".replaced")
            os.rename(out, retired)
            os.rename(staging, out)
            shutil.rmtree(retired)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
