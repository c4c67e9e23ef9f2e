"""dm+d files on disk: import an NHSBSA XML release into a Parquet extract, and load one.

Each file is streamed into typed records (medsopt.dmd.release.records), the records become one
DataFrame per record type, and the output tables are joins of those, with every parent id
checked. The extract is written into a sibling temporary directory and renamed into place, so
the output path never holds a half-written extract.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from medsopt.dmd.index import DmdIndex
from medsopt.dmd.release.records import Amp, Ampp, Record, Vmp, Vmpp, Vtm
from medsopt.dmd.release.tables import ReleaseIntegrityError, extract_tables, record_frame
from medsopt.dmd.release.xml import FileKind, ReleaseFormatError, parse_release_file


class DmdExtractError(Exception):
    """The extract directory is missing or malformed."""


def load_dmd_extract(directory: Path) -> DmdIndex:
    """Read an extract written by `make dmd-extract` (or a future `medsopt dmd import`)."""
    try:
        release = json.loads((directory / "release.json").read_text())["release"]
        concepts = pl.read_parquet(directory / "concepts.parquet")
        superseded = pl.read_parquet(directory / "superseded.parquet")
    except (OSError, KeyError, ValueError, pl.exceptions.PolarsError) as error:
        raise DmdExtractError(f"{directory}: cannot read dm+d extract: {error}") from error
    return DmdIndex.from_tables(concepts, superseded, release=str(release))


class DmdImportError(Exception):
    """The release could not be imported; the message names the file."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import wrote."""

    release: str
    out: Path
    levels: dict[str, int]
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


def read_release(files: dict[FileKind, Path]) -> dict[type, pl.DataFrame]:
    """Stream every file into one DataFrame per record type (columns = dataclass fields)."""
    records: defaultdict[type, list[Record]] = defaultdict(list)
    for kind, path in files.items():
        try:
            with path.open("rb") as handle:
                # NHSBSA release files carry no DTD: refusing one refuses entity expansion
                # ("billion laughs") and external entities before they can cost anything.
                events = iterparse(handle, events=("start", "end"), forbid_dtd=True)
                for record in parse_release_file(events, kind, str(path)):
                    records[type(record)].append(record)
        except DefusedXmlException as error:
            raise DmdImportError(
                f"{path}: a DTD is not allowed in a dm+d release file ({error})"
            ) from error
        except ReleaseFormatError as error:
            raise DmdImportError(str(error)) from error
        except OSError as error:
            raise DmdImportError(f"{path}: cannot read: {error.strerror}") from error
        primary = _PRIMARY_RECORD.get(kind)
        if primary is not None and not records[primary]:
            raise DmdImportError(f"{path}: no {kind.name} records")
    return {cls: record_frame(cls, rows) for cls, rows in records.items()}


# A release without VTMs, VMPs, AMPs or packs is truncated or mislabelled, never a real week.
_PRIMARY_RECORD: dict[FileKind, type] = {
    FileKind.VTM: Vtm,
    FileKind.VMP: Vmp,
    FileKind.AMP: Amp,
    FileKind.VMPP: Vmpp,
    FileKind.AMPP: Ampp,
}


def import_release(
    release_dir: Path, out: Path, release: str | None = None, replace: bool = False
) -> ImportSummary:
    """Read the XML files in `release_dir` and write the extract to `out`.

    Example: `import_release(Path("nhsbsa_dmd_4.0.1_20190401000001"), Path("formulary/dmd/r"))`
    """
    files = find_release_files(release_dir)
    if out.exists() and not replace:
        raise DmdImportError(f"{out}: already exists (use --replace to overwrite it)")
    release_id = release or release_dir.resolve().name
    try:
        tables = extract_tables(read_release(files), {k: p.name for k, p in files.items()})
    except ReleaseIntegrityError as error:
        raise DmdImportError(f"{release_dir / error.file}: {error}") from error
    concepts = tables["concepts"]
    levels = dict(sorted(concepts["level"].value_counts().iter_rows()))
    manifest = {
        "release": release_id,
        "source": "NHSBSA dm+d XML release",
        "schema_version": "2.3",
        "files": {k.value: {"name": p.name, "sha256": _sha256(p)} for k, p in files.items()},
        "concepts": concepts.height,
        "levels": levels,
        "superseded_ids": tables["superseded"].height,
        "tables": {f"{name}.parquet": frame.height for name, frame in tables.items()},
    }
    _write_aside(out, tables, manifest, replace)
    return ImportSummary(release_id, out, levels, tables["superseded"].height)


def _write_aside(
    out: Path, tables: dict[str, pl.DataFrame], manifest: dict[str, object], replace: bool
) -> None:
    """Write into a sibling temporary directory, then rename it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".importing", dir=out.parent))
    retired = staging.with_suffix(".replaced")
    try:
        for name, frame in tables.items():
            frame.write_parquet(staging / f"{name}.parquet")
        (staging / "release.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if replace and out.exists():
            os.rename(out, retired)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out.exists():
            os.rename(retired, out)  # put the previous extract back
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
