"""Committed generated artefacts must match what their generators produce now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

ROOT = Path(__file__).resolve().parent.parent


def test_protobuf_stubs_match_protos(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from generate_protos import generate
    finally:
        sys.path.pop(0)
    for fresh in generate(tmp_path):
        committed = ROOT / fresh.relative_to(tmp_path)
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed.relative_to(ROOT)} is stale: run `make proto` and commit the result"
        )


def test_json_schemas_match_the_models() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from generate_schemas import SCHEMAS, render
    finally:
        sys.path.pop(0)
    for name, model in SCHEMAS.items():
        committed = (ROOT / "schemas" / name).read_text()
        assert committed == render(model), f"schemas/{name} is stale: run `make schemas`"


def _build_bundled_dmd(out: Path, hash_seed: str = "0") -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bundled_dmd.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )


def test_bundled_dmd_extract_matches_its_sources(tmp_path: Path) -> None:
    out = tmp_path / "bundled"
    _build_bundled_dmd(out)
    committed = ROOT / "formulary" / "dmd" / "bundled"
    for name in ("concepts.parquet", "superseded.parquet"):
        assert_frame_equal(pl.read_parquet(out / name), pl.read_parquet(committed / name))
    assert (out / "release.json").read_text() == (committed / "release.json").read_text()


def test_bundled_dmd_extract_build_is_byte_reproducible(tmp_path: Path) -> None:
    # Different hash seeds: no output may depend on set or dict iteration order.
    first, second = tmp_path / "first", tmp_path / "second"
    _build_bundled_dmd(first, hash_seed="1")
    _build_bundled_dmd(second, hash_seed="2")
    for name in ("concepts.parquet", "superseded.parquet", "release.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
