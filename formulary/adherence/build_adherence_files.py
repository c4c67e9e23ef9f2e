"""Rebuild the adherence codelists and default daily doses in this folder (see PROVENANCE.md).

Rows are copied verbatim from formulary/dmd/sources/codelists/; default doses are assigned per
molecule (VTM) to the oral solid-dose VMPs of each class, with the basis written on every row.
Run from the repository root: `.venv/bin/python formulary/adherence/build_adherence_files.py`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
FORMULARY = HERE.parent
SOURCES = FORMULARY / "dmd" / "sources" / "codelists"
CONCEPTS = FORMULARY / "dmd" / "bundled" / "concepts.parquet"

# Statins and RAS antagonists are rule-set groups (`statins`, `ras-blockers`); no rule group
# covers the non-insulin diabetes medicines, so that class has its own codelist here.
# target -> (source files, terms to drop: guar gum is in BNF 6.1.2.3 but is not an
# antidiabetic in the PQA diabetes measure); None target: read for default doses only.
CODELISTS: dict[str | None, tuple[tuple[str, ...], str | None]] = {
    None: (("statins.csv", "ace-inhibitors.csv", "arbs.csv"), None),
    "non-insulin-antidiabetics.csv": (("antidiabetic-drugs.csv",), r"(?i)\bguar"),
}

ONCE_DAILY = "BNF monograph, usual adult dosing: once daily"
# VTM name -> (units per day, basis). Only molecules whose usual regimen is one fixed number of
# tablets/capsules a day; anything else is marked as an assumption.
DOSES: dict[str, tuple[float, str]] = {
    **dict.fromkeys(
        [
            "Atorvastatin",
            "Simvastatin",
            "Rosuvastatin",
            "Pravastatin",
            "Fluvastatin",
            "Losartan",
            "Candesartan",
            "Irbesartan",
            "Valsartan",
            "Olmesartan",
            "Telmisartan",
            "Azilsartan",
            "Eprosartan",
            "Lisinopril",
            "Ramipril",
            "Perindopril erbumine",
            "Perindopril arginine",
            "Perindopril tosilate",
            "Trandolapril",
            "Fosinopril",
            "Cilazapril",
            "Imidapril",
            "Sitagliptin",
            "Linagliptin",
            "Saxagliptin",
            "Alogliptin",
            "Empagliflozin",
            "Dapagliflozin",
            "Canagliflozin",
            "Ertugliflozin",
            "Pioglitazone",
            "Glimepiride",
        ],
        (1.0, ONCE_DAILY),
    ),
    "Enalapril": (1.0, "assumption: once daily (BNF allows one or two doses)"),
    "Quinapril": (1.0, "assumption: once daily (BNF allows one or two doses)"),
    "Captopril": (2.0, "assumption: twice daily (BNF gives two or three doses)"),
    "Metformin": (2.0, "assumption: two a day (BNF: 500 mg two or three times a day)"),
    "Gliclazide": (1.0, "assumption: once daily (BNF: 40-160 mg once daily, more in two doses)"),
}
# Modified-release metformin is a once-daily product, unlike the standard tablets.
METFORMIN_MR = (1.0, "assumption: once daily (BNF: modified-release taken once daily)")
ORAL_SOLID = r"(?i)\b(tablets|capsules)\b"
NOT_UNIT_DOSE = r"(?i)(oral solution|oral suspension|sachets|granules|powder|injection)"


def build() -> None:
    concepts = pl.read_parquet(CONCEPTS)
    vtm_names = concepts.select(pl.col("code").alias("vtm"), pl.col("name").alias("vtm_name"))
    doses: list[pl.DataFrame] = []
    for target, (sources, drop) in CODELISTS.items():
        frame = pl.concat(
            pl.read_csv(SOURCES / s, schema_overrides={"code": pl.String}, infer_schema=False)
            for s in sources
        ).unique("code", keep="first", maintain_order=True)
        if drop:
            frame = frame.filter(~pl.col("term").str.contains(drop))
        if target is not None:
            frame.select("code", "term", "source").write_csv(HERE / target)
        vmps = (
            frame.join(concepts, on="code")
            .filter(pl.col("level") == "VMP")
            .join(vtm_names, on="vtm", how="left")
            .filter(
                pl.col("name").str.contains(ORAL_SOLID)
                & ~pl.col("name").str.contains(NOT_UNIT_DOSE)
                & pl.col("vtm_name").is_in(list(DOSES))
            )
        )
        doses.append(
            vmps.select(
                "code",
                pl.col("name").alias("term"),
                pl.col("vtm_name")
                .replace_strict({k: v[0] for k, v in DOSES.items()})
                .alias("daily_units"),
                pl.col("vtm_name")
                .replace_strict({k: v[1] for k, v in DOSES.items()})
                .alias("basis"),
            )
        )
    is_metformin_mr = pl.col("term").str.contains(r"^Metformin \S+ modified-release")
    pl.concat(doses).unique("code", keep="first").with_columns(
        daily_units=pl.when(is_metformin_mr).then(METFORMIN_MR[0]).otherwise(pl.col("daily_units")),
        basis=pl.when(is_metformin_mr).then(pl.lit(METFORMIN_MR[1])).otherwise(pl.col("basis")),
    ).sort("term").write_csv(HERE / "default-doses.csv")


if __name__ == "__main__":
    build()
