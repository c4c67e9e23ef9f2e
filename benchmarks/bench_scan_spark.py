"""The whole `medsopt scan` on Spark `local[2]` beside the polars engine and the polars floor,
on the same input.

A seeded population (benchmarks/generate_dispensing.py, 2% broken rows, every column as text
as a CSV export arrives, stored as Parquet) is generated once; then, each in its own process,
the polars floor (`bench_scan.run_floor`: read, map, PQA PDC on one packed integer key on the
streaming engine) and each engine's complete CLI scan (quarantine, supply, PDC, safety rules,
worklist, every output file written). Reported: wall time inside that process (Spark's start-up
excluded and shown apart), the peak RSS of its largest process, and each time as a ratio to
the floor's and to the polars engine's. The two scans' summaries must agree (timings aside) or
the run fails.

    .venv/bin/python benchmarks/bench_scan_spark.py                      # 100k patients
    .venv/bin/python benchmarks/bench_scan_spark.py --patients 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks.` importable
    sys.path.insert(0, str(REPO))

AS_OF = "2026-06-30"
ENGINES = ("polars", "spark")
FLOOR = "floor"


def own_peak_rss_bytes() -> int:
    """This process's high-water RSS (VmHWM). Not ru_maxrss: a child forked from a big parent
    (this benchmark's, holding the generated population) inherits the parent's figure there."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    """The largest of this process and its waited-for children (the JVM, its Python workers;
    their ru_maxrss counts this process's RSS when each was forked, a few hundred MiB)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return max(own_peak_rss_bytes(), children)


def floor_worker(dispensing: Path, lookup: Path) -> None:
    """The polars floor's PDC in this process; prints a JSON line."""
    from benchmarks.bench_scan import run_floor

    started = time.perf_counter()
    checksum = run_floor(dispensing, lookup)
    wall = time.perf_counter() - started
    rss = peak_rss_bytes()
    print(json.dumps({"wall": wall, "startup": 0.0, "rss": rss, "rss_driver": rss, **checksum}))


def worker(engine: str, dispensing: Path, patients: Path, out: Path, memory: str) -> None:
    """One scan through the CLI in this process; prints a JSON line."""
    from typer.testing import CliRunner

    from medsopt.cli import app

    startup = 0.0
    spark = None
    if engine == "spark":
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        started = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("medsopt bench")
            .config("spark.driver.memory", memory)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.executorEnv.POLARS_MAX_THREADS", "1")
            .getOrCreate()
        )
        startup = time.perf_counter() - started
    args = ["scan", "--dispensing", str(dispensing), "--patients", str(patients)]
    args += ["--as-of", AS_OF, "--out", str(out), "--engine", engine]
    started = time.perf_counter()
    done = CliRunner().invoke(app, args)
    if done.exit_code not in (0, 3):  # 3: written, with quarantined rows
        raise SystemExit(f"scan failed ({done.exit_code}): {done.output}")
    wall = time.perf_counter() - started
    if spark is not None:
        gateway: Any = spark.sparkContext._gateway
        spark.stop()
        gateway.shutdown()
        process = getattr(gateway, "proc", None)
        if process is not None:  # the JVM exits when its stdin closes; waited for, its peak
            process.stdin.close()  # RSS counts among this process's children
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("timings_seconds")
    driver = own_peak_rss_bytes()
    result = {"wall": wall, "startup": startup, "rss": peak_rss_bytes(), "rss_driver": driver}
    print(json.dumps({**result, "summary": summary}))


def prepare(patients: int, seed: int, folder: Path) -> tuple[Path, Path, int]:
    """Dispensing and patients (Parquet), and the floor's lookup; the dispensing row count."""
    from benchmarks.bench_scan import write_lookup
    from benchmarks.generate_dispensing import dirty, generate, pools
    from medsopt.store.activate import BUNDLED_FORMULARY, BUNDLED_RULES, Locations, build

    ruleset = build(Locations(BUNDLED_RULES, BUNDLED_FORMULARY)).ruleset
    dispensing, people = generate(patients, seed, pools(ruleset))
    rows = dirty(dispensing, 0.02, seed)
    rows.write_parquet(folder / "dispensing.parquet")
    people.write_parquet(folder / "patients.parquet")
    write_lookup(folder / "lookup.parquet")
    return folder / "dispensing.parquet", folder / "patients.parquet", rows.height


def run(engine: str, dispensing: Path, patients: Path, out: Path, memory: str) -> dict[str, Any]:
    """One engine (or the floor) in its own process: its JSON line."""
    command = [sys.executable, __file__, "--worker", engine, "--memory", memory]
    command += ["--dispensing", str(dispensing), "--patients-file", str(patients)]
    command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--memory", default="2g", help="Spark driver memory (local mode)")
    parser.add_argument("--worker", choices=(FLOOR, *ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--dispensing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--patients-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == FLOOR:
        floor_worker(args.dispensing, args.out)
        return
    if args.worker:
        worker(args.worker, args.dispensing, args.patients_file, args.out, args.memory)
        return
    with tempfile.TemporaryDirectory(prefix="bench-scan-spark-") as name:
        folder = Path(name)
        dispensing, patients, rows = prepare(args.patients, args.seed, folder)
        results = {FLOOR: run(FLOOR, dispensing, patients, folder / "lookup.parquet", args.memory)}
        print(FLOOR, json.dumps(results[FLOOR]), flush=True)
        for engine in ENGINES:
            results[engine] = run(engine, dispensing, patients, folder / engine, args.memory)
            shown = {k: v for k, v in results[engine].items() if k != "summary"}
            print(engine, json.dumps(shown), flush=True)
    if results["spark"]["summary"] != results["polars"]["summary"]:
        raise SystemExit("the engines' summaries differ")
    floor, base = results[FLOOR]["wall"], results["polars"]["wall"]
    print(f"{args.patients:,} patients, {rows:,} dispensing rows (2% broken), seed {args.seed}")
    print(
        "| engine | wall s | Spark start-up s | peak RSS GiB: largest | driver "
        "| vs floor | vs polars |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for engine, result in results.items():
        print(
            f"| {engine} | {result['wall']:.1f} | {result['startup']:.1f} | "
            f"{result['rss'] / 2**30:.2f} | {result['rss_driver'] / 2**30:.2f} | "
            f"{result['wall'] / floor:.1f}x | {result['wall'] / base:.1f}x |"
        )


if __name__ == "__main__":
    main()
