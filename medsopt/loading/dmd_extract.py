"""Load a dm+d extract directory (concepts.parquet, superseded.parquet, release.json)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from medsopt.dmd.index import DmdIndex


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
