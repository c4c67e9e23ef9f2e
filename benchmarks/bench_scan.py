"""PDC at population scale: medsopt (polars) vs the same PDC in DuckDB SQL and in pandas.

For each size (default 100k and 1M patients, ~25 rows each) a seeded data set with real dm+d
codes is generated once (benchmarks/generate_dispensing.py, every row with days_supply so all
engines compute exactly the same thing), then each engine runs in its own subprocess, which
reports its wall time (read Parquet -> PDC per patient and class in memory) and its peak RSS.
The engines must agree (row count, covered days, eligible rows, sum of PDC) or the run fails.
A last row per size times medsopt's whole scan (quarantine, supply, PDC, safety rules,
worklist; no output files).

    .venv/bin/python benchmarks/bench_scan.py                  # 100k and 1M
    .venv/bin/python benchmarks/bench_scan.py --sizes 100000   # quicker
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

AS_OF = datetime.date(2026, 6, 30)
PERIOD_DAYS = 365
ENGINES = ("medsopt", "duckdb", "pandas", "medsopt-full-scan")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks.` importable
    sys.path.insert(0, str(REPO))


def _window() -> tuple[int, int]:
    start = AS_OF - datetime.timedelta(days=PERIOD_DAYS - 1)
    epoch = datetime.date(1970, 1, 1)
    return (start - epoch).days, (AS_OF - epoch).days + 1  # [start, end)


def _checksum(rows: Any, covered: Any, eligible: Any, pdc_sum: Any) -> dict[str, Any]:
    return {
        "rows": int(rows),
        "covered_days": int(covered),
        "eligible": int(eligible),
        "pdc_sum": round(float(pdc_sum), 6),
    }


def run_medsopt(data: Path, lookup: Path) -> dict[str, Any]:
    from medsopt.scan.pdc import Period, pdc

    fills = (
        pl.scan_parquet(data)
        .select("patient_id", "code", "dispensed_on", "days_supply")
        .join(pl.scan_parquet(lookup), on="code")
    )
    out = pdc(fills, Period(AS_OF, PERIOD_DAYS)).collect()
    return _checksum(
        out.height, out["covered_days"].sum(), out["pdc"].is_not_null().sum(), out["pdc"].sum()
    )


def run_full_scan(data: Path, patients: Path) -> dict[str, Any]:
    from medsopt.scan.core import ScanParams, scan_partition
    from medsopt.scan.files import load_tables, read_dispensing, read_patients
    from medsopt.scan.pdc import Period
    from medsopt.store.activate import Locations

    tables = load_tables(Locations())
    started = time.perf_counter()
    result = scan_partition(
        read_dispensing(data),
        read_patients(patients),
        tables,
        ScanParams(Period(AS_OF, PERIOD_DAYS)),
    )
    out = result["adherence"]
    summary = _checksum(
        out.height, out["covered_days"].sum(), out["pdc"].is_not_null().sum(), out["pdc"].sum()
    )
    summary["seconds_excluding_rule_load"] = time.perf_counter() - started
    summary["findings"] = result["findings"].height
    return summary


DUCKDB_PDC = """
WITH f AS (
  SELECT d.patient_id, l.drug_class, l.molecule,
         CAST(d.dispensed_on - DATE '1970-01-01' AS BIGINT) AS day, d.days_supply AS ds
  FROM read_parquet($data) d JOIN read_parquet($lookup) l USING (code)
),
g AS (
  SELECT patient_id, drug_class, molecule, day, max(ds) AS ds FROM f
  WHERE day >= $start AND day < $end GROUP BY ALL
),
s AS (
  SELECT *, sum(ds) OVER m AS total FROM g
  WINDOW m AS (PARTITION BY patient_id, drug_class, molecule ORDER BY day
               ROWS UNBOUNDED PRECEDING)
),
e AS (
  SELECT patient_id, drug_class, day, ds,
         total + max(day - (total - ds)) OVER m AS e FROM s
  WINDOW m AS (PARTITION BY patient_id, drug_class, molecule ORDER BY day
               ROWS UNBOUNDED PRECEDING)
),
c AS (
  SELECT patient_id, drug_class, day, least(e - ds, $end) AS b, least(e, $end) AS e FROM e
),
u AS (
  SELECT *, max(e) OVER (PARTITION BY patient_id, drug_class ORDER BY b
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
  FROM c
),
a AS (
  SELECT patient_id, drug_class, min(day) AS index_day, max(day) AS last_day,
         count(*) AS fills, sum(greatest(e - greatest(b, coalesce(before, b)), 0)) AS covered
  FROM u GROUP BY ALL
)
SELECT patient_id, drug_class, index_day, covered, fills,
       CASE WHEN last_day > index_day AND $end - 1 - index_day >= 91
            THEN covered / ($end - index_day) END AS pdc
FROM a
"""


def run_duckdb(data: Path, lookup: Path) -> dict[str, Any]:
    import duckdb

    start, end = _window()
    connection = duckdb.connect()
    # Materialise the per-patient table (as the other engines do), then take the checksum.
    connection.execute(
        f"CREATE TEMP TABLE result AS {DUCKDB_PDC}",
        {"data": str(data), "lookup": str(lookup), "start": start, "end": end},
    )
    row = connection.execute(
        "SELECT count(*), sum(covered), count(pdc), sum(pdc) FROM result"
    ).fetchone()
    assert row is not None
    return _checksum(*row)


def run_pandas(data: Path, lookup: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    start, end = _window()
    # pandas cannot read Parquet here (no pyarrow), so polars reads and hands over numpy arrays;
    # that hand-over is inside the timed section.
    raw = pl.read_parquet(data, columns=["patient_id", "code", "dispensed_on", "days_supply"])
    frame = pd.DataFrame(
        {
            "patient_id": raw["patient_id"].to_numpy(),
            "code": raw["code"].to_numpy(),
            "d": raw["dispensed_on"].cast(pl.Int32).to_numpy(),
            "ds": raw["days_supply"].to_numpy(),
        }
    )
    del raw
    table = pl.read_parquet(lookup)
    classes = pd.DataFrame({c: table[c].to_numpy() for c in table.columns})
    frame = frame.merge(classes, on="code")
    frame = frame[(frame["d"] >= start) & (frame["d"] < end)]
    keys = ["patient_id", "drug_class", "molecule"]
    g = frame.groupby([*keys, "d"], sort=False)["ds"].max().reset_index()
    g = g.sort_values([*keys, "d"], kind="stable", ignore_index=True)
    total = g.groupby(keys, sort=False)["ds"].cumsum()
    g["e"] = total + (g["d"] - (total - g["ds"])).groupby([g[k] for k in keys]).cummax()
    g["b"] = (g["e"] - g["ds"]).clip(upper=end)
    g["e"] = g["e"].clip(upper=end)
    by_class = ["patient_id", "drug_class"]
    g = g.sort_values([*by_class, "b"], kind="stable", ignore_index=True)
    running = g.groupby(by_class, sort=False)["e"].cummax()
    before = running.groupby([g[k] for k in by_class]).shift(1)
    g["add"] = (g["e"] - np.maximum(g["b"], before.fillna(-(2**40)))).clip(lower=0)
    out = g.groupby(by_class, sort=False).agg(
        index_day=("d", "min"), last_day=("d", "max"), covered=("add", "sum")
    )
    eligible = (out["last_day"] > out["index_day"]) & (end - 1 - out["index_day"] >= 91)
    pdc = (out["covered"] / (end - out["index_day"])).where(eligible)
    return _checksum(len(out), out["covered"].sum(), int(eligible.sum()), pdc.sum())


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM). Not getrusage: on Linux its maxrss keeps the
    high-water mark of the parent that forked us, from before exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(engine: str, data: Path, lookup: Path, patients: Path) -> None:
    """Run one engine in this process and print its result as JSON."""
    started = time.perf_counter()
    if engine == "medsopt":
        result = run_medsopt(data, lookup)
    elif engine == "duckdb":
        result = run_duckdb(data, lookup)
    elif engine == "pandas":
        result = run_pandas(data, lookup)
    else:
        result = run_full_scan(data, patients)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(result))


def prepare(size: int, seed: int, folder: Path) -> tuple[Path, Path, Path, int]:
    """Data, lookup (code -> drug_class, molecule) and patients for one size; made once."""
    from benchmarks.generate_dispensing import generate, pools
    from medsopt.scan.files import tables_for
    from medsopt.store.activate import Locations, build

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"dispensing-{size}-{seed}.parquet"
    people = folder / f"patients-{size}-{seed}.parquet"
    lookup = folder / "lookup.parquet"
    ruleset = build(Locations()).ruleset
    if not data.exists() or not people.exists():
        dispensing, patients = generate(size, seed, pools(ruleset), explicit_share=1.0)
        dispensing.write_parquet(data)
        patients.write_parquet(people)
    tables = tables_for(ruleset, Locations())
    tables.resolution.filter(pl.col("resolution") == "resolved").select(
        "code", "concept_code", "molecule"
    ).join(tables.classes, on="concept_code").select("code", "drug_class", "molecule").unique(
        ["code", "drug_class"]
    ).write_parquet(lookup)
    rows = pl.scan_parquet(data).select(pl.len()).collect().item()
    return data, lookup, people, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medsopt-bench"))
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lookup", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--patients", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.lookup, args.patients)
        return
    lines = [
        "| patients | rows | engine | wall s | rows/s | peak RSS GiB | vs medsopt |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for size in args.sizes:
        data, lookup, people, rows = prepare(size, args.seed, args.workdir)
        results: dict[str, dict[str, Any]] = {}
        for engine in args.engines:
            command = [sys.executable, __file__, "--worker", engine, "--data", str(data)]
            command += ["--lookup", str(lookup), "--patients", str(people)]
            done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
            if done.returncode != 0:
                print(f"{engine} failed at {size}:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{size:,} {engine}: {results[engine]}", file=sys.stderr)
        checks = {
            e: (r["rows"], r["covered_days"], r["eligible"], round(r["pdc_sum"], 3))
            for e, r in results.items()
        }
        if len(set(checks.values())) > 1:
            raise SystemExit(f"engines disagree at {size}: {checks}")
        base = results.get("medsopt", {}).get("seconds")
        for engine, result in results.items():
            seconds = result["seconds"]
            ratio = f"{seconds / base:.1f}x" if base and engine != "medsopt" else "1.0x"
            lines.append(
                f"| {size:,} | {rows:,} | {engine} | {seconds:.1f} | {rows / seconds:,.0f} | "
                f"{result['peak_rss_bytes'] / 2**30:.2f} | {ratio} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
