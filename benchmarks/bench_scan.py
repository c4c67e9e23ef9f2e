"""The whole `medsopt scan` at population scale beside the polars floor and DuckDB SQL.

For each size (default 250k and 1M patients, ~17 dispensing rows each) a seeded realistic
population is generated once (benchmarks/generate_dispensing.py: multi-morbidity, repeat
dispensing, 0.5% broken rows, every column as text as a CSV export arrives), then, each in its
own process under `/usr/bin/time` (wall and peak RSS of the child):

* `floor`: the least work a PDC needs, written the fastest way polars allows: read, parse the
  date and days' supply, map codes to class and molecule, PQA PDC over one packed integer key
  (patient, class, molecule, day) on the streaming engine;
* `duckdb`: the same PDC in DuckDB SQL (window functions);
* `scan`: the whole `medsopt scan` command (strict parsing and quarantine, supply, PDC, current
  medicines, every rule, worklist, every output file written), plus its own stage timings.

The floor and DuckDB must agree (patient-classes, covered days, eligible, sum of PDC) or the run
fails. Ratios are to the floor measured in the same run (the machine is shared).

    .venv/bin/python benchmarks/bench_scan.py                       # 250k and 1M
    .venv/bin/python benchmarks/bench_scan.py --sizes 4000000 --engines scan
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

AS_OF = datetime.date(2026, 6, 30)
PERIOD_DAYS = 365
ENGINES = ("floor", "duckdb", "scan")
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
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
        "pdc_sum": round(float(pdc_sum or 0), 3),
    }


def _segmented_cum_max(values: pl.Expr, group: pl.Expr) -> pl.Expr:
    shift = group.cast(pl.Int64) * (1 << 32)
    return (values.cast(pl.Int64) + shift).cum_max() - shift


def run_floor(data: Path, lookup: Path) -> dict[str, Any]:
    """PQA PDC on one packed key: patient (dictionary-encoded) | class | molecule | day."""
    start, end = _window()
    text = pl.col("days_supply").cast(pl.Float64, strict=False)
    quantity = pl.col("quantity").cast(pl.Float64, strict=False)
    day = pl.col("dispensed_on").str.to_date("%Y-%m-%d", strict=False).cast(pl.Int32) - start
    fills = (
        pl.scan_parquet(data)
        .filter(pl.col("patient_id") != "")
        .join(pl.scan_parquet(lookup), on="code")
        .select(
            patient=pl.col("patient_id").cast(pl.Categorical).to_physical().cast(pl.UInt64),
            cm=pl.col("cm").cast(pl.UInt64),
            d=day,
            ds=pl.coalesce(text, quantity).cast(pl.Int64, strict=False),
        )
        .filter(pl.col("d").is_between(0, end - start - 1) & (pl.col("ds") > 0))
        .group_by(key=pl.col("patient") * (1 << 32) + pl.col("cm") * 4096 + pl.col("d"))
        .agg(pl.col("ds").max())
        .collect(engine="streaming")
        .sort("key")
    )
    molecule, klass = pl.col("key") // 4096, pl.col("key") // (1 << 24)
    first = (molecule != molecule.shift(1)).fill_null(True)
    total = pl.col("ds").cum_sum()
    before_fill = pl.when(first).then(total - pl.col("ds")).forward_fill()
    shifted = (
        fills.lazy()
        .with_columns(
            supplied=total - before_fill,
            d=(pl.col("key") % 4096).cast(pl.Int64),
            molecule_no=first.cum_sum(),
            klass=(klass != klass.shift(1)).fill_null(True).cum_sum().cast(pl.Int64),
        )
        .with_columns(
            e=pl.col("supplied")
            + _segmented_cum_max(
                pl.col("d") - pl.col("supplied") + pl.col("ds"), pl.col("molecule_no")
            )
        )
        .select(
            "klass",
            "d",
            b=(pl.col("e") - pl.col("ds")).clip(upper_bound=end - start),
            e=pl.col("e").clip(upper_bound=end - start),
        )
        .sort(pl.col("klass") * 8192 + pl.col("b"))
        .with_columns(
            before=pl.when(pl.col("klass") == pl.col("klass").shift(1)).then(
                _segmented_cum_max(pl.col("e"), pl.col("klass")).shift(1)
            )
        )
        .group_by("klass")
        .agg(
            index_day=pl.col("d").min(),
            last_day=pl.col("d").max(),
            covered=(pl.col("e") - pl.max_horizontal("b", "before")).clip(lower_bound=0).sum(),
        )
        .with_columns(
            eligible=(pl.col("last_day") > pl.col("index_day"))
            & (end - start - 1 - pl.col("index_day") >= 91)
        )
        .select(
            pl.len(),
            pl.col("covered").sum(),
            pl.col("eligible").sum(),
            pl.when("eligible")
            .then(pl.col("covered") / (end - start - pl.col("index_day")))
            .sum()
            .alias("pdc_sum"),
        )
        .collect(engine="streaming")
    )
    return _checksum(*shifted.row(0))


DUCKDB_PDC = """
WITH f AS (
  SELECT d.patient_id, l.drug_class, l.molecule,
         CAST(try_strptime(d.dispensed_on, '%Y-%m-%d')::DATE - DATE '1970-01-01' AS BIGINT)
           AS day,
         CAST(coalesce(try_cast(d.days_supply AS DOUBLE), try_cast(d.quantity AS DOUBLE))
           AS BIGINT) AS ds
  FROM read_parquet($data) d JOIN read_parquet($lookup) l USING (code)
  WHERE d.patient_id <> ''
),
g AS (
  SELECT patient_id, drug_class, molecule, day, max(ds) AS ds FROM f
  WHERE day >= $start AND day < $end AND ds > 0 GROUP BY ALL
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
         sum(greatest(e - greatest(b, coalesce(before, b)), 0)) AS covered
  FROM u GROUP BY ALL
)
SELECT count(*), sum(covered),
       count(*) FILTER (WHERE last_day > index_day AND $end - 1 - index_day >= 91),
       sum(CASE WHEN last_day > index_day AND $end - 1 - index_day >= 91
                THEN covered / ($end - index_day) END)
FROM a
"""


def run_duckdb(data: Path, lookup: Path) -> dict[str, Any]:
    import duckdb

    start, end = _window()
    row = (
        duckdb.connect()
        .execute(DUCKDB_PDC, {"data": str(data), "lookup": str(lookup), "start": start, "end": end})
        .fetchone()
    )
    assert row is not None
    return _checksum(*row)


def worker(engine: str, data: Path, lookup: Path) -> None:
    """Run one PDC engine in this process and print its checksum as JSON."""
    result = run_floor(data, lookup) if engine == "floor" else run_duckdb(data, lookup)
    print(json.dumps(result))


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds and peak RSS bytes of a child process (GNU time), and its stdout."""
    report = Path("/tmp") / f"medsopt-bench-time-{id(command)}.txt"
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", "-o", str(report), *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    if done.returncode not in (0, 3):
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr[-3000:]}")
    wall, kib = report.read_text().split()[-2:]
    report.unlink()
    return float(wall), int(kib) * 1024, done.stdout


def prepare(size: int, seed: int, dirty: float, folder: Path) -> tuple[Path, Path, Path, int]:
    """Dispensing, patients and the floor's lookup (code -> class, molecule); made once."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"dispensing-{size}-{seed}.parquet"
    people = folder / f"patients-{size}-{seed}.parquet"
    lookup = folder / "lookup.parquet"
    if not data.exists() or not people.exists():
        generator = [str(BIN / "python"), str(REPO / "benchmarks" / "generate_dispensing.py")]
        generator += ["--patients", str(size), "--seed", str(seed), "--dirty", str(dirty)]
        subprocess.run([*generator, "--out", str(data), "--patients-out", str(people)], check=True)
    if not lookup.exists():
        subprocess.run([str(BIN / "python"), __file__, "--lookup-out", str(lookup)], check=True)
    rows = pl.scan_parquet(data).select(pl.len()).collect().item()
    return data, people, lookup, rows


def write_lookup(path: Path) -> None:
    """code -> drug_class, molecule, and `cm`: class and molecule packed in one integer."""
    from medsopt.scan.files import load_tables
    from medsopt.store.activate import Locations

    tables = load_tables(Locations())
    table = (
        tables.resolution.filter(pl.col("resolution") == "resolved")
        .select("code", "concept_code", "molecule")
        .join(tables.classes, on="concept_code")
        .select("code", "drug_class", "molecule")
        .unique(["code", "drug_class"])
        .with_columns(
            cm=pl.col("drug_class").rank("dense").cast(pl.Int64) * 4096
            + pl.col("molecule").rank("dense").cast(pl.Int64)
        )
    )
    table.write_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dirty", type=float, default=0.005)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medsopt-bench"))
    parser.add_argument("--scan-args", default="", help="extra `medsopt scan` options")
    parser.add_argument("--worker", choices=ENGINES[:2], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lookup", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lookup-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookup_out:
        write_lookup(args.lookup_out)
        return
    if args.worker:
        worker(args.worker, args.data, args.lookup)
        return
    lines = [
        "| patients | rows | engine | wall s | peak RSS GiB | wall vs floor | RSS vs floor "
        "| load |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for size in args.sizes:
        data, people, lookup, rows = prepare(size, args.seed, args.dirty, args.workdir)
        results: dict[str, dict[str, Any]] = {}
        for engine in args.engines:
            before = os.getloadavg()[0]
            if engine == "scan":
                out = args.workdir / f"scan-{size}"
                shutil.rmtree(out, ignore_errors=True)
                command = [str(BIN / "medsopt"), "scan", "--dispensing", str(data)]
                command += ["--patients", str(people), "--as-of", AS_OF.isoformat()]
                command += ["--period-days", str(PERIOD_DAYS), "--out", str(out)]
                command += args.scan_args.split()
                wall, rss, _ = timed(command)
                summary = json.loads((out / "summary.json").read_text())
                results[engine] = {"timings": summary["timings_seconds"]}
            else:
                command = [str(BIN / "python"), __file__, "--worker", engine]
                command += ["--data", str(data), "--lookup", str(lookup)]
                wall, rss, stdout = timed(command)
                results[engine] = json.loads(stdout.strip().splitlines()[-1])
            # The 1-minute load average (other sessions' work too) before and after the run.
            load = f"{before:.1f}-{os.getloadavg()[0]:.1f}"
            results[engine] |= {"seconds": wall, "peak_rss_bytes": rss, "load": load}
            print(f"{size:,} {engine}: {results[engine]}", file=sys.stderr, flush=True)
        checks = {e: tuple(r.get(k) for k in ("rows", "covered_days", "eligible", "pdc_sum"))
                  for e, r in results.items() if e != "scan"}  # fmt: skip
        if len(set(checks.values())) > 1:
            raise SystemExit(f"floor and DuckDB disagree at {size}: {checks}")
        base = results.get("floor", {})
        for engine, result in results.items():
            seconds, rss = result["seconds"], result["peak_rss_bytes"]
            wall_ratio = f"{seconds / base['seconds']:.1f}x" if base else "-"
            rss_ratio = f"{rss / base['peak_rss_bytes']:.1f}x" if base else "-"
            lines.append(
                f"| {size:,} | {rows:,} | {engine} | {seconds:.1f} | {rss / 2**30:.2f} | "
                f"{wall_ratio} | {rss_ratio} | {result['load']} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
