"""Build the bundled dm+d extract (formulary/dmd/bundled/) from the copied public sources.

Run with `make dmd-extract`. Inputs are in formulary/dmd/sources/ (provenance in SOURCES.md):
dmd-attributes.csv (levels, parent VMPs, BNF codes), reference-vtm.csv (the full 2019-04 VTM
table), reference-vmp-id-changes.csv (VMP id changes), reference-vmp-amp-hierarchy-sample.csv and
the published codelists in codelists/. No code is invented: every concept comes from those files.
Parent links that no source states are derived, and each derived link records how (`vmp_link`,
`vtm_link`), so a reviewer can tell a published link from an inferred one.

Codelists give no dm+d level; a code that no typed source lists gets level UNCLASSIFIED (level
unknown). The GM-SDE sets among them list VMP, AMP and pack (VMPP/AMPP) ids alike under the
product's name, so an UNCLASSIFIED concept may be a pack; it resolves as a product of unknown
level. GM-SDE rows that are not dm+d concepts are left out and counted in release.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from medsopt.dmd.codes import code_problem

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "formulary" / "dmd" / "sources"
OUT = ROOT / "formulary" / "dmd" / "bundled"
RELEASE_ID = "bundled-2026.12"

# SNOMED International product concepts that some published lists mix in (coverage.md, obs. 1),
# and legacy SNOMED CT product groupings qualified by a BNF-style section ("Promethazine [nausea]").
_NON_DMD_TERM = re.compile(
    r"\bin (?:\w+ )?dosage form\b|^product containing\b|\bproduct$|\d mg oral (?:tablet|capsule)$"
    r"|\bonly product\b|\[[a-z][^\]]*\]",
    re.IGNORECASE,
)
# OpenCodelists lists a VMP's other ids as rows named "VMP previous to X" / "VMP subsequent to X".
_PLACEHOLDER = re.compile(r"^VMP (?P<direction>previous|subsequent) to (?P<target>\d+)$")
_SUPPLIER_SUFFIX = re.compile(r"^(?P<name>.+?) \((?P<supplier>[^()]+)\)$")
_TAG_SUFFIX = re.compile(r" \((?:product|VMP|AMP|VTM|VMPP|AMPP)\)$")
# dm+d ids are SNOMED International (partition 00) or in the UK drug extension's namespace.
_DMD_NAMESPACE = "1000001"
# Rows of the Greater Manchester SDE code sets (README "Additions 2026-12-06") name their set here.
_GM_SDE_SOURCE = "UoM-Data-Science-Platforms/gm-sde:"
# Several molecules in one product name ("A 10mg / B 5mg", older "A+B", "A and B", a special
# "A 10% in B 0.1% cream"): no one VTM. A special in a plain base counts too (cannot tell apart).
_COMBINATION = re.compile(r" / |\+| and | with | in |&", re.IGNORECASE)
# A pack description: the product, then its quantity ("28 tablet", "56 tablet 4 x 14 tablets").
_PACK_QUANTITY = re.compile(
    r"^(?P<product>.+?) \d[\d.,]* [a-z][a-z -]*?(?: \d+ x \d[\d.,]* [a-z][a-z -]*)?$"
)

UNKNOWN_LEVEL = "UNCLASSIFIED"
GM_SDE_LEVEL_SOURCE = "GM-SDE code set, no level (may be a pack)"
# Why a codelist row was left out of the extract (keys of release.json "excluded").
NOT_A_CONCEPT_ID = "not a SNOMED CT concept id (fails the Verhoeff check digit or partition)"
OTHER_NAMESPACE = "SNOMED CT extension outside dm+d (namespace other than 1000001)"
NOT_DMD_TERM = "term reads as a SNOMED CT product concept outside dm+d"


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
    # Listed by a codelist that is not a GM-SDE set (those list packs under product names).
    outside_gm_sde: bool = False


@dataclass(frozen=True)
class Extract:
    """What the build writes, and what it left out."""

    concepts: pl.DataFrame
    superseded: pl.DataFrame
    excluded: dict[str, int]
    retired_listed: int  # GM-SDE-only ids that dm+d retired; they resolve to their successor


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _gm_sde_last(path: Path) -> tuple[bool, str]:
    """Sort key: files whose first row comes from a GM-SDE set after the others, then by name."""
    first = next(_rows(path), None)
    return (first is not None and first["source"].startswith(_GM_SDE_SOURCE), path.name)


def clean_name(term: str) -> str:
    """Drop SNOMED semantic tags some lists append, e.g. ' (product)', ' (VMP)'."""
    return _TAG_SUFFIX.sub("", term.strip())


def build(sources: Path) -> Extract:
    """Assemble the concepts and supersessions from the source CSVs."""
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
    # A code listed by several files takes the first name seen: the older lists' (sorted) before
    # the GM-SDE sets' (sorted), so adding sets never renames a concept.
    for path in sorted((sources / "codelists").glob("*.csv"), key=_gm_sde_last):
        for row in _rows(path):
            d = draft(row["code"], row["term"])
            d.seen_in.add(path.stem)
            d.outside_gm_sde |= not row["source"].startswith(_GM_SDE_SOURCE)

    _resolve_placeholders(drafts, supersessions)
    excluded, retired_listed = _drop_non_dmd(drafts, supersessions)
    _classify_unlabelled(drafts)
    _link_amps_to_vmps(drafts)
    _link_vmps_to_vtms(drafts)
    _place_gm_sde_concepts(drafts)
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
    return Extract(concepts, superseded, dict(sorted(excluded.items())), retired_listed)


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


def _drop_non_dmd(
    drafts: dict[str, Draft], supersessions: dict[str, tuple[str, str | None]]
) -> tuple[Counter[str], int]:
    """Leave out codes only GM-SDE sets list that are not dm+d concepts; count them by reason.

    A retired id that dm+d replaced is left out too: as a concept it would hide its supersession,
    and it resolves to its successor anyway. Only codes that a GM-SDE set alone lists are
    dropped: the older lists' extras stay as they were (non-dm+d ones as NON_DMD rows, see
    _classify_unlabelled, so their answer says "not a medicinal product"; the biosimilar tables
    name some of their retired ids).
    """
    excluded = Counter(dict.fromkeys((NOT_A_CONCEPT_ID, OTHER_NAMESPACE, NOT_DMD_TERM), 0))
    retired = 0
    for code, d in list(drafts.items()):
        if d.level is not None or d.outside_gm_sde:
            continue
        if code in supersessions:
            retired += 1
        elif code_problem(code) is not None:
            excluded[NOT_A_CONCEPT_ID] += 1
        elif code[-3:-1] == "10" and code[-10:-3] != _DMD_NAMESPACE:
            excluded[OTHER_NAMESPACE] += 1
        elif _NON_DMD_TERM.search(d.name):
            excluded[NOT_DMD_TERM] += 1
        else:
            continue
        del drafts[code]
    return excluded, retired


def _classify_unlabelled(drafts: dict[str, Draft]) -> None:
    """Give a level to codes that only appear in untyped lists (PINCER's `id,term`, GM-SDE sets)."""
    for d in drafts.values():
        if d.level is not None:
            continue
        if _NON_DMD_TERM.search(d.name):
            d.level, d.level_source = "NON_DMD", "term reads as a SNOMED International product"
        elif d.outside_gm_sde:
            d.level, d.level_source = UNKNOWN_LEVEL, "listed in a medicines codelist, no level"
        else:
            d.level, d.level_source = UNKNOWN_LEVEL, GM_SDE_LEVEL_SOURCE


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


def _place_gm_sde_concepts(drafts: dict[str, Draft]) -> None:
    """Give unknown-level concepts that only GM-SDE sets list a parent product and VTM, by name.

    A GM-SDE term is a product's name, a pack's description ("<product> 28 tablet") or, for a
    pack in some sets, its product's name. Its parent (`vmp`): the VMP with that product name
    (with or without a supplier), else the VMP of a linked AMP with that name, else the one
    product of unknown level with that name (no supplier) that an older list names, so a group
    listing that product reaches its packs. Its VTM: the parent's, else the VTM whose name starts
    the product name, never for a combination.

    The older lists' unknown-level codes get no derived parent: rule groups list some of them,
    and a listed code's VTM joins the group (a topical gabapentin special would exclude every
    VTM-level gabapentin prescription from the medicine count).
    """
    placed = [d for d in drafts.values() if d.level == UNKNOWN_LEVEL and not d.outside_gm_sde]
    vmps: dict[str, set[str]] = {}
    amp_vmps: dict[str, set[str]] = {}
    listed: dict[str, set[str]] = {}
    for d in drafts.values():
        if d.level == "VMP":
            vmps.setdefault(d.name.lower(), set()).add(d.code)
        elif d.level == "AMP" and d.vmp:
            for name in _product_names(d.name):
                amp_vmps.setdefault(name, set()).add(d.vmp)
        elif d.level == UNKNOWN_LEVEL and d.outside_gm_sde and not _SUPPLIER_SUFFIX.match(d.name):
            listed.setdefault(d.name.lower(), set()).add(d.code)
    parents = (
        (vmps, "name"),
        (amp_vmps, "name of an AMP of this VMP"),
        (listed, "name of a listed product of unknown level"),
    )
    vtm_by_prefix = _vtm_prefixes(drafts)
    for d in placed:
        names = _product_names(d.name)
        for by_name, how in parents:
            if found := next((by_name[n] for n in names if len(by_name.get(n, ())) == 1), None):
                d.vmp, d.vmp_link = next(iter(found)), how
                break
        parent = drafts[d.vmp] if d.vmp else None
        if parent is not None and parent.vtm:
            d.vtm, d.vtm_link = parent.vtm, f"via parent ({parent.vtm_link})"
        elif not _COMBINATION.search(names[-1]) and (code := vtm_by_prefix(names[-1])) is not None:
            d.vtm, d.vtm_link = code, "name"


def _product_names(term: str) -> list[str]:
    """Lower-cased names a term may give its product by: itself, less a pack, less a supplier."""
    names = [term.lower()]
    if pack := _PACK_QUANTITY.match(names[0]):
        names.append(pack.group("product"))
    if supplier := _SUPPLIER_SUFFIX.match(names[-1]):
        names.append(supplier.group("name"))
    return names


def _vtm_prefixes(drafts: dict[str, Draft]) -> Callable[[str], str | None]:
    """A lookup: the valid VTM whose name, followed by a space, starts a product name (longest)."""
    by_first_word: dict[str, list[tuple[str, str]]] = {}
    vtms = ((d.name.lower(), d.code) for d in drafts.values() if d.level == "VTM" and not d.invalid)
    for name, code in sorted(vtms, key=lambda item: (-len(item[0]), item[1])):
        by_first_word.setdefault(name.split(" ")[0], []).append((name, code))

    def lookup(product: str) -> str | None:
        lowered = product.lower()
        for name, code in by_first_word.get(lowered.split(" ")[0], []):
            if lowered.startswith(name + " "):
                return code
        return None

    return lookup


def _release(extract: Extract) -> dict[str, object]:
    """release.json: what the extract holds, what it left out and what it cannot tell."""
    concepts = extract.concepts
    levels = concepts.group_by("level").len().sort("level")
    unknown = concepts.filter(pl.col("level") == UNKNOWN_LEVEL)
    gm_sde = unknown.filter(pl.col("level_source") == GM_SDE_LEVEL_SOURCE)
    with_product = gm_sde.filter(pl.col("vmp").is_not_null()).height
    vtm_only = gm_sde.filter(pl.col("vmp").is_null() & pl.col("vtm").is_not_null()).height
    no_parent = gm_sde.height - with_product - vtm_only
    return {
        "release": RELEASE_ID,
        "description": "Bundled extract built from public OpenCodelists/OpenPrescribing dm+d data "
        "and Greater Manchester SDE code sets; see sources/SOURCES.md. Not a full dm+d release.",
        "concepts": concepts.height,
        "levels": dict(zip(levels["level"], levels["len"], strict=True)),
        "superseded_ids": extract.superseded.height,
        "excluded": extract.excluded,
        "limitations": [
            f"{unknown.height} concepts have no dm+d level: {gm_sde.height} listed only by GM-SDE "
            f"code sets, {unknown.height - gm_sde.height} only by older codelists that no typed "
            f"source covers (e.g. PINCER). They resolve as products of unknown level "
            f"({UNKNOWN_LEVEL}).",
            "GM-SDE code sets list pack ids (VMPP/AMPP) next to their products, under the "
            "product's name or a pack description; such a pack resolves as a product of unknown "
            "level, linked to its product where a name finds it.",
            f"Parents of the {gm_sde.height} GM-SDE concepts are derived from names (vmp_link, "
            f"vtm_link): {with_product} have a parent product, {vtm_only} only a VTM, {no_parent} "
            "neither (mostly brands and their packs). A medicine group reaches a concept only "
            "through its links, so a group that lists products misses one without a parent "
            "product, and only a group listing its own code matches one with neither: the "
            "answer can be COMPLETE where a full dm+d release would have matched a rule. Import "
            "an NHSBSA release (medsopt dmd import) for clinical use.",
            f"{extract.retired_listed} retired ids listed only by GM-SDE code sets are not "
            "concepts; they resolve to their successor through superseded.parquet.",
            f"{sum(extract.excluded.values())} codes listed only by GM-SDE code sets are left out "
            "as not dm+d concepts (counted by reason in 'excluded').",
        ],
    }


def write(out: Path, extract: Extract) -> None:
    """Write the extract aside and rename it into place, so a reader never sees half of it."""
    staging = out.with_name(out.name + ".tmp")
    staging.mkdir(parents=True, exist_ok=True)
    extract.concepts.write_parquet(staging / "concepts.parquet", statistics=False)
    extract.superseded.write_parquet(staging / "superseded.parquet", statistics=False)
    (staging / "release.json").write_text(json.dumps(_release(extract), indent=2) + "\n")
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
    extract = build(args.sources)
    write(args.out, extract)
    print(
        f"wrote {extract.concepts.height} concepts, {extract.superseded.height} superseded ids; "
        f"left out {sum(extract.excluded.values())} GM-SDE codes that are not dm+d concepts",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
