"""Time the analytics on a generated ICB: `medsopt scan` with and without --events and
--indicators (drafts included, so those without codes read "not measurable") on the same data,
in the same run, and print the ICB's indicator table, exclusions and patients still to switch.

    .venv/bin/python -m benchmarks.generate_population_bench --patients 100000

Reports wall seconds per run and the ratio to the plain scan (the baseline of this run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.generate_population import AS_OF, codes_for, generate, write
from medsopt.store.activate import BUNDLED_RULES, Locations, build


def timed(command: list[str]) -> float:
    """Wall seconds of one `medsopt scan` process (exit 0 or 3 expected)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 3):
        raise SystemExit(done.stderr)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    practices = max(10, args.patients // 5000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write(
            generate(args.patients, practices, args.seed, codes_for(build(Locations()).ruleset)),
            root,
        )
        scan = [sys.executable, "-m", "medsopt", "scan", "--as-of", AS_OF.isoformat()]
        scan += ["--dispensing", str(paths["dispensing"]), "--patients", str(paths["patients"])]
        baseline = timed([*scan, "--out", str(root / "plain")])
        full = [*scan, "--events", str(paths["events"]), "--events-complete-from", "2024-06-01"]
        full += ["--indicators", str(BUNDLED_RULES / "indicators"), "--include-drafts"]
        full += ["--out", str(root / "full")]
        analytics = timed(full)
        rows = pl.read_csv(paths["dispensing"]).height
        print(f"{args.patients:,} patients, {practices} practices, {rows:,} dispensing rows")
        print("| run | wall s | vs plain scan |\n|---|---:|---:|")
        print(f"| scan | {baseline:.1f} | 1.0x |")
        print(
            f"| scan + events + analytics (24 months) | {analytics:.1f} "
            f"| {analytics / baseline:.1f}x |"
        )
        table = pl.read_parquet(root / "full" / "indicators.parquet").filter(
            (pl.col("level") == "icb") & (pl.col("on") == AS_OF)
        )
        print(
            "\n| indicator | numerator | denominator | excluded | rate % |\n"
            "|---|---:|---:|---:|---:|"
        )
        for row in table.sort("indicator_id").iter_rows(named=True):
            if row["not_measurable"] is not None:
                print(f"| {row['indicator_id']} | | | | {row['not_measurable']} |")
                continue
            rate = f"{row['rate']:.1f}" if row["rate"] is not None else "no value"
            print(
                f"| {row['indicator_id']} | {row['numerator']:,} "
                f"| {row['denominator']:,} | {row['excluded']:,} | {rate} |"
            )
        _breakdowns(root / "full")


def _breakdowns(out: Path) -> None:
    """The ICB's exclusions by reason and patients still to switch by exception, on AS_OF."""
    exclusions = pl.read_parquet(out / "indicator_exclusions.parquet").filter(
        (pl.col("level") == "icb") & (pl.col("on") == AS_OF)
    )
    print("\n| indicator | excluded because | patients |\n|---|---|---:|")
    for row in exclusions.sort("indicator_id", "reason").iter_rows(named=True):
        print(f"| {row['indicator_id']} | {row['reason']} | {row['patients']:,} |")
    switch = pl.read_parquet(out / "biosimilar_to_switch_counts.parquet").filter(
        (pl.col("level") == "icb") & (pl.col("month") == AS_OF)
    )
    print("\n| molecule | still to switch because | patients |\n|---|---|---:|")
    for row in switch.sort("molecule_name", "exception").iter_rows(named=True):
        print(f"| {row['molecule_name']} | {row['exception']} | {row['patients']:,} |")


if __name__ == "__main__":
    main()
