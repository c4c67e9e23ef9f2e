"""The extract's tables from a release's records: pure joins, every parent id checked.

Records (medsopt.dmd.release.records) become one DataFrame per record type (`record_frame`); the
output tables (concepts, superseded ids, ...) are joins of those.
"""

from __future__ import annotations

from dataclasses import fields

import polars as pl

from medsopt.dmd.release.records import (
    Amp,
    Ampp,
    AmppPrice,
    ControlInfo,
    DrugTariff,
    Ingredient,
    LookupEntry,
    Record,
    Vmp,
    VmpForm,
    Vmpp,
    VmpRoute,
    Vpi,
    Vtm,
)
from medsopt.dmd.release.xml import FileKind


def record_frame(cls: type, rows: list[Record]) -> pl.DataFrame:
    names = [f.name for f in fields(cls)]
    """One typed column per record field."""
    schema = {f.name: _DTYPES[str(f.type).split(" ")[0]] for f in fields(cls)}
    columns = {name: [getattr(row, name) for row in rows] for name in names}
    return pl.DataFrame(columns, schema=schema)


# Record fields are annotated str, bool, float, int (or "... | None"); `from __future__ import
# annotations` makes the annotations strings, so the first word is the column type.
_DTYPES: dict[str, type[pl.DataType]] = {
    "str": pl.String,
    "bool": pl.Boolean,
    "float": pl.Float64,
    "int": pl.Int64,
}


class ReleaseIntegrityError(Exception):
    """A record names a parent the release lacks, or an id appears twice."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(message)
        self.file = file


def extract_tables(
    frames: dict[type, pl.DataFrame], sources: dict[FileKind, str]
) -> dict[str, pl.DataFrame]:
    """The extract's tables from one frame per record type; `sources` names each file."""

    def frame(cls: type) -> pl.DataFrame:
        return frames.get(cls, record_frame(cls, []))

    lookups = frame(LookupEntry)
    vtm, vmp, amp, vmpp, ampp = (frame(c) for c in (Vtm, Vmp, Amp, Vmpp, Ampp))
    checks = [
        (FileKind.VMP, vmp.filter(pl.col("vtmid").is_not_null()), "vpid", "vtmid", vtm, "vtmid"),
        (FileKind.VMP, frame(Vpi), "vpid", "vpid", vmp, "vpid"),
        (FileKind.VMP, frame(Vpi), "vpid", "isid", frame(Ingredient), "isid"),
        (FileKind.VMP, frame(VmpForm), "vpid", "vpid", vmp, "vpid"),
        (FileKind.VMP, frame(VmpRoute), "vpid", "vpid", vmp, "vpid"),
        (FileKind.VMP, frame(ControlInfo), "vpid", "vpid", vmp, "vpid"),
        (FileKind.AMP, amp, "apid", "vpid", vmp, "vpid"),
        (FileKind.VMPP, vmpp, "vppid", "vpid", vmp, "vpid"),
        (FileKind.VMPP, frame(DrugTariff), "vppid", "vppid", vmpp, "vppid"),
        (FileKind.AMPP, ampp, "appid", "apid", amp, "apid"),
        (FileKind.AMPP, ampp, "appid", "vppid", vmpp, "vppid"),
        (FileKind.AMPP, frame(AmppPrice), "appid", "appid", ampp, "appid"),
    ]
    for kind, child, own, ref, parent, key in checks:
        _check_parent(sources[kind], child, own, ref, parent, key)
    for kind, cls, key in (
        (FileKind.VMP, ControlInfo, "vpid"),
        (FileKind.VMPP, DrugTariff, "vppid"),
        (FileKind.AMPP, AmppPrice, "appid"),
    ):
        _check_unique(sources[kind], frame(cls), key, f"{cls.__name__} for {key.upper()}")

    concepts = _concepts(vtm, vmp, amp, vmpp, ampp, sources)
    _check_unique("", concepts, "code", "concept id")
    # Prices are in pence, as published.
    tariff = _decode(frame(DrugTariff), lookups, payment_category_cd="DT_PAYMENT_CATEGORY").rename(
        {
            "payment_category_cd": "drug_tariff_category_cd",
            "payment_category": "drug_tariff_category",
            "price": "drug_tariff_price_pence",
            "valid_from": "drug_tariff_price_from",
            "previous_price": "drug_tariff_previous_price_pence",
        }
    )
    prices = _decode(frame(AmppPrice), lookups, price_basis_cd="PRICE_BASIS").rename(
        {"price": "price_pence"}
    )
    ingredients = frame(Ingredient).select("isid", ingredient="name")
    return {
        "concepts": concepts.sort("code"),
        "superseded": _superseded(vtm, vmp),
        "vmp": _decode(
            vmp.drop("name", "vtmid", "invalid", "previous_id", "changed_on"),
            lookups,
            prescribing_status_cd="VIRTUAL_PRODUCT_PRES_STATUS",
            non_availability_cd="VIRTUAL_PRODUCT_NON_AVAIL",
            dose_form_indicator_cd="DF_INDICATOR",
            unit_dose_form_units_cd="UNIT_OF_MEASURE",
        )
        .join(
            _decode(frame(ControlInfo), lookups, category_cd="CONTROL_DRUG_CATEGORY").rename(
                {"category_cd": "cd_category_cd", "category": "cd_category"}
            ),
            on="vpid",
            how="left",
        )
        .sort("vpid"),
        "vmp_form": _decode(frame(VmpForm), lookups, form_cd="FORM").sort("vpid"),
        "vmp_route": _decode(frame(VmpRoute), lookups, route_cd="ROUTE").sort("vpid"),
        "vpi": _decode(
            frame(Vpi).join(ingredients, on="isid", how="left"),
            lookups,
            basis_of_strength_cd="BASIS_OF_STRNTH",
            numerator_unit_cd="UNIT_OF_MEASURE",
            denominator_unit_cd="UNIT_OF_MEASURE",
        )
        .join(
            ingredients.rename({"isid": "base_substance_id", "ingredient": "base_substance"}),
            on="base_substance_id",
            how="left",
        )
        .sort("vpid", "isid"),
        "amp": _decode(
            amp,
            lookups,
            supplier_cd="SUPPLIER",
            licensing_authority_cd="LICENSING_AUTHORITY",
            availability_restriction_cd="AVAILABILITY_RESTRICTION",
        ).sort("apid"),
        "vmpp": _decode(vmpp, lookups, quantity_unit_cd="UNIT_OF_MEASURE")
        .join(tariff, on="vppid", how="left")
        .sort("vppid"),
        "ampp": _decode(
            ampp, lookups, legal_category_cd="LEGAL_CATEGORY", discontinued_cd="DISCONTINUED_IND"
        )
        .join(prices, on="appid", how="left")
        .join(
            tariff.select(
                "vppid",
                "drug_tariff_category_cd",
                "drug_tariff_category",
                "drug_tariff_price_pence",
            ),
            on="vppid",
            how="left",
        )
        .sort("appid"),
        "lookups": lookups.sort("table", "code"),
    }


def _concepts(
    vtm: pl.DataFrame,
    vmp: pl.DataFrame,
    amp: pl.DataFrame,
    vmpp: pl.DataFrame,
    ampp: pl.DataFrame,
    sources: dict[FileKind, str],
) -> pl.DataFrame:
    """One row per VTM/VMP/AMP/VMPP/AMPP in the columns `load_dmd_extract` reads."""
    none = pl.lit(None, dtype=pl.String)

    def rows(
        frame: pl.DataFrame,
        code: str,
        name: str,
        kind: FileKind,
        vmp_: pl.Expr = none,
        vtm_: pl.Expr = none,
        vtm_link: str = "published",
    ) -> pl.DataFrame:
        return frame.select(
            code=pl.col(code),
            name=pl.col(name),
            level=pl.lit(kind.name),
            level_source=pl.lit(sources[kind]),
            vmp=vmp_,
            vmp_link=pl.when(vmp_.is_not_null()).then(pl.lit("published")),
            vtm=vtm_,
            vtm_link=pl.when(vtm_.is_not_null()).then(pl.lit(vtm_link)),
            bnf_code=none,  # the XML release has no BNF codes (NHSBSA publishes those separately)
            invalid=pl.col("invalid"),
        )

    amp_with_vtm = amp.join(vmp.select("vpid", amp_vtm="vtmid"), on="vpid", how="left")
    return pl.concat(
        [
            rows(vtm, "vtmid", "name", FileKind.VTM),
            rows(vmp, "vpid", "name", FileKind.VMP, vtm_=pl.col("vtmid")),
            # An AMP's name is DESC, the name with its supplier: it is what prescribers see.
            rows(
                amp_with_vtm,
                "apid",
                "description",
                FileKind.AMP,
                vmp_=pl.col("vpid"),
                vtm_=pl.col("amp_vtm"),
                vtm_link="via VMP (published)",
            ),
            # Packs get no vmp/vtm here: DmdIndex reads those columns as product parents (VTM ->
            # VMP -> AMP); pack parents are in vmpp.parquet and ampp.parquet.
            rows(vmpp, "vppid", "name", FileKind.VMPP),
            rows(ampp, "appid", "name", FileKind.AMPP),
        ]
    )


def _superseded(vtm: pl.DataFrame, vmp: pl.DataFrame) -> pl.DataFrame:
    """VTMIDPREV and VPIDPREV as previous_code -> current_code rows."""
    parts = [
        frame.filter(
            # Some releases restate an id as its own predecessor; that is not a change of id.
            pl.col("previous_id").is_not_null() & (pl.col("previous_id") != pl.col(code))
        ).select(
            previous_code="previous_id",
            current_code=code,
            changed_on="changed_on",
            level=pl.lit(level),
        )
        for frame, code, level in ((vtm, "vtmid", "VTM"), (vmp, "vpid", "VMP"))
    ]
    return pl.concat(parts).sort("previous_code")


def _decode(frame: pl.DataFrame, lookups: pl.DataFrame, **columns: str) -> pl.DataFrame:
    """Add the lookup description beside each `<name>_cd` column, as `<name>`."""
    for column, table in columns.items():
        names = (
            lookups.filter(pl.col("table") == table)
            .unique("code", keep="first")
            .select(pl.col("code").alias(column), pl.col("description").alias(column[:-3]))
        )
        frame = frame.join(names, on=column, how="left")
    return frame


def _check_parent(
    file: str,
    child: pl.DataFrame,
    own: str,
    ref: str,
    parent: pl.DataFrame,
    key: str,
) -> None:
    orphans = child.join(parent.select(key), left_on=ref, right_on=key, how="anti")
    if orphans.height:
        row = orphans.row(0, named=True)
        raise ReleaseIntegrityError(
            file,
            f"{own.upper()} {row[own]} refers to {ref.upper()} {row[ref]}, "
            "which is not in the release",
        )


def _check_unique(file: str, frame: pl.DataFrame, key: str, what: str) -> None:
    duplicated = frame.filter(pl.col(key).is_duplicated())
    if duplicated.height:
        raise ReleaseIntegrityError(file, f"{what} {duplicated[key][0]} appears more than once")
