"""Build the bundled dm+d extract (formulary/dmd/bundled/) from the copied public sources.

Run with `make dmd-extract`. Inputs are in formulary/dmd/sources/ (provenance in SOURCES.md):
dmd-attributes.csv (levels, parent VMPs, BNF codes), reference-vtm.csv (the full 2019-04 VTM
table), reference-vmp-id-changes.csv (VMP id changes), reference-vmp-amp-hierarchy-sample.csv and
the published codelists in codelists/. No code is invented: every concept comes from those files.
Parent links that no source states are derived, and each derived link records how (`vmp_link`,
`vtm_link`), so a reviewer can tell a published link from an inferred one.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "formulary" / "dmd" / "sources"
OUT = ROOT / "formulary" / "dmd" / "bundled"
RELEASE_ID = "bundled-2026.11"

# SNOMED International product concepts that some published lists mix in (coverage.md, obs. 1).
_NON_DMD_TERM = re.compile(
    r"\bin (?:\w+ )?dosage form\b|^product containing\b|\bproduct$|\d mg oral (?:tablet|capsule)$"
    r"|\bonly product\b",
    re.IGNORECASE,
)
# OpenCodelists lists a VMP's other ids as rows named "VMP previous to X" / "VMP subsequent to X".
_PLACEHOLDER = re.compile(r"^VMP (?P<direction>previous|subsequent) to (?P<target>\d+)$")
_SUPPLIER_SUFFIX = re.compile(r"^(?P<name>.+?) \((?P<supplier>[^()]+)\)$")
_TAG_SUFFIX = re.compile(r" \((?:product|VMP|AMP|VTM|VMPP|AMPP)\)$")


@dataclass
class Draft:
    """A concept being assembled from several sources."""

    code: str
    name: str
    level: str | None = None
    level_source: str = ""
    vmp: str | None = None
    vmp_link: str = ""
    vtm: str | None = None
    vtm_link: str = ""
    bnf_code: str | None = None
    invalid: bool = False
    seen_in: set[str] = field(default_factory=set)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def clean_name(term: str) -> str:
    """Drop SNOMED semantic tags some lists append, e.g. ' (product)', ' (VMP)'."""
    return _TAG_SUFFIX.sub("", term.strip())


def build(sources: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assemble (concepts, supersessions) frames from the source CSVs."""
    drafts: dict[str, Draft] = {}

    def draft(code: str, term: str) -> Draft:
        if code not in drafts:
            drafts[code] = Draft(code, clean_name(term))
        return drafts[code]

    for row in _rows(sources / "dmd-attributes.csv"):
        d = draft(row["code"], row["term"])
        d.level, d.level_source = row["dmd_type"].upper(), "dmd-attributes"
        if row["vpid"]:
            d.vmp, d.vmp_link = row["vpid"], "published"
        d.bnf_code = row["bnf_code"] or None
    for row in _rows(sources / "reference-vmp-amp-hierarchy-sample.csv"):
        d = draft(row["code"], row["term"])
        d.level, d.level_source = row["dmd_type"].upper(), "dm+d release sample"
        if row["vmp_code"]:
            d.vmp, d.vmp_link = row["vmp_code"], "published"
        if row["vtm_code"]:
            d.vtm, d.vtm_link = row["vtm_code"], "published"
    supersessions: dict[str, tuple[str, str | None]] = {}
    for row in _rows(sources / "reference-vmp-id-changes.csv"):
        d = draft(row["code"], row["term"])
        if d.level is None:
            d.level, d.level_source = "VMP", "vmp-id-changes"
        supersessions[row["previous_code"]] = (row["code"], row["code_change_date"] or None)
    # The VTM table is a complete release table: it wins over any list's label.
    for row in _rows(sources / "reference-vtm.csv"):
        d = draft(row["code"], row["term"])
        d.name, d.level, d.level_source = row["term"], "VTM", "dm+d VTM table 2019-04"
        d.invalid = row["invalid"] == "1"
        if row["previous_code"]:
            supersessions[row["previous_code"]] = (row["code"], row["code_change_date"] or None)
    for path in sorted((sources / "codelists").glob("*.csv")):
        for row in _rows(path):
            draft(row["code"], row["term"]).seen_in.add(path.stem)

    _resolve_placeholders(drafts, supersessions)
    _classify_unlabelled(drafts)
    _link_amps_to_vmps(drafts)
    _link_vmps_to_vtms(drafts)
    concepts = pl.DataFrame(
        [
            {
                "code": d.code,
                "name": d.name,
                "level": d.level,
                "level_source": d.level_source,
                "vmp": d.vmp,
                "vmp_link": d.vmp_link or None,
                "vtm": d.vtm,
                "vtm_link": d.vtm_link or None,
                "bnf_code": d.bnf_code,
                "invalid": d.invalid,
            }
            for d in sorted(drafts.values(), key=lambda d: d.code)
        ],
        schema={
            "code": pl.String,
            "name": pl.String,
            "level": pl.String,
            "level_source": pl.String,
            "vmp": pl.String,
            "vmp_link": pl.String,
            "vtm": pl.String,
            "vtm_link": pl.String,
            "bnf_code": pl.String,
            "invalid": pl.Boolean,
        },
    )
    superseded = pl.DataFrame(
        [
            {"previous_code": prev, "current_code": cur, "changed_on": when}
            for prev, (cur, when) in sorted(supersessions.items())
        ],
        schema={"previous_code": pl.String, "current_code": pl.String, "changed_on": pl.String},
    )
    return concepts, superseded


def _resolve_placeholders(
    drafts: dict[str, Draft], supersessions: dict[str, tuple[str, str | None]]
) -> None:
    """Turn placeholder rows into supersessions, keeping one live, named concept per product.

    "VMP previous to X": the row's id is X's old id, so it is superseded by X. "VMP subsequent
    to X": the row's id replaced X, so it becomes the live concept with X's name and links, and
    X is superseded by it (AMPs that pointed at X now point at it).
    """
    replaced: dict[str, str] = {}
    for code, d in list(drafts.items()):
        match = _PLACEHOLDER.match(d.name)
        target = drafts.get(match.group("target")) if match else None
        if match is None or target is None or _PLACEHOLDER.match(target.name):
            continue
        if match.group("direction") == "previous":
            supersessions.setdefault(code, (target.code, None))
            del drafts[code]
            continue
        d.name, d.level = target.name, "VMP"
        d.level_source = f"successor of VMP {target.code} (OpenCodelists placeholder row)"
        d.vtm, d.vtm_link = target.vtm, target.vtm_link
        d.bnf_code = d.bnf_code or target.bnf_code
        supersessions[target.code] = (code, None)
        replaced[target.code] = code
        del drafts[target.code]
    for d in drafts.values():
        if d.vmp in replaced:
            d.vmp = replaced[d.vmp]


def _classify_unlabelled(drafts: dict[str, Draft]) -> None:
    """Give a level to codes that only appear in untyped lists (mostly PINCER's `id,term`)."""
    for d in drafts.values():
        if d.level is not None:
            continue
        if _NON_DMD_TERM.search(d.name):
            d.level, d.level_source = "NON_DMD", "term reads as a SNOMED International product"
        else:
            d.level, d.level_source = "UNCLASSIFIED", "listed in a medicines codelist, no level"


def _link_amps_to_vmps(drafts: dict[str, Draft]) -> None:
    """Link AMPs without a published parent: same name as a VMP, else BNF generic equivalent."""
    vmp_by_name: dict[str, list[str]] = {}
    vmp_by_bnf: dict[str, list[str]] = {}
    for d in drafts.values():
        if d.level == "VMP":
            vmp_by_name.setdefault(d.name.lower(), []).append(d.code)
            if d.bnf_code:
                vmp_by_bnf.setdefault(d.bnf_code, []).append(d.code)
    for d in drafts.values():
        if d.level != "AMP" or d.vmp:
            continue
        match = _SUPPLIER_SUFFIX.match(d.name)
        plain = (match.group("name") if match else d.name).lower()
        candidates = vmp_by_name.get(plain, [])
        if len(candidates) == 1:
            d.vmp, d.vmp_link = candidates[0], "name"
            continue
        # BNF presentation code: chemical (9) + product (2) + strength/form (2) + generic
        # equivalent (2); the generic presentation is chemical + "AA" + equivalent + equivalent.
        if d.bnf_code and len(d.bnf_code) == 15:
            generic = d.bnf_code[:9] + "AA" + d.bnf_code[13:] * 2
            candidates = vmp_by_bnf.get(generic, [])
            if len(candidates) == 1:
                d.vmp, d.vmp_link = candidates[0], "bnf"


def _link_vmps_to_vtms(drafts: dict[str, Draft]) -> None:
    """Link single-ingredient VMPs to the VTM whose name starts their name; AMPs inherit it."""
    vtms = sorted(
        ((d.name.lower(), d.code) for d in drafts.values() if d.level == "VTM" and not d.invalid),
        key=lambda item: -len(item[0]),
    )
    by_first_word: dict[str, list[tuple[str, str]]] = {}
    for name, code in vtms:
        by_first_word.setdefault(name.split(" ")[0], []).append((name, code))
    for d in drafts.values():
        # Combination products ("A 10mg / B 5mg tablets") have a combination VTM we cannot
        # reach by prefix; a prefix would wrongly give them the first ingredient's VTM.
        if d.level != "VMP" or d.vtm or " / " in d.name:
            continue
        lowered = d.name.lower()
        for name, code in by_first_word.get(lowered.split(" ")[0], []):
            if lowered.startswith(name + " "):
                d.vtm, d.vtm_link = code, "name"
                break
    for d in drafts.values():
        if d.level == "AMP" and not d.vtm and d.vmp and d.vmp in drafts:
            parent = drafts[d.vmp]
            if parent.vtm:
                d.vtm, d.vtm_link = parent.vtm, f"via VMP ({parent.vtm_link})"


def write(out: Path, concepts: pl.DataFrame, superseded: pl.DataFrame) -> None:
    """Write the extract aside and rename it into place, so a reader never sees half of it."""
    staging = out.with_name(out.name + ".tmp")
    staging.mkdir(parents=True, exist_ok=True)
    concepts.write_parquet(staging / "concepts.parquet", statistics=False)
    superseded.write_parquet(staging / "superseded.parquet", statistics=False)
    levels = concepts.group_by("level").len().sort("level")
    release = {
        "release": RELEASE_ID,
        "description": "Bundled extract built from public OpenCodelists/OpenPrescribing dm+d data; "
        "see sources/SOURCES.md. Not a full dm+d release.",
        "concepts": concepts.height,
        "levels": dict(zip(levels["level"], levels["len"], strict=True)),
        "superseded_ids": superseded.height,
    }
    (staging / "release.json").write_text(json.dumps(release, indent=2) + "\n")
    if out.exists():
        for old in out.iterdir():
            old.unlink()
        out.rmdir()
    staging.rename(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    concepts, superseded = build(args.sources)
    write(args.out, concepts, superseded)
    print(f"wrote {concepts.height} concepts, {superseded.height} superseded ids", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
