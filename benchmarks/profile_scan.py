"""Where one scan partition's time goes: `core.scan_partition`'s stages, timed one by one.

Runs the stages in the order `scan_partition` does, with the same functions, on the first
`--rows` dispensing rows of a file made by `benchmarks/bench_scan.py` (or
`generate_dispensing.py`), and prints each stage's wall and CPU time (the process's, all
threads: steadier than wall on a shared machine) and share, and the peak RSS.

    .venv/bin/python benchmarks/profile_scan.py /tmp/medsopt-bench/dispensing-250000-2026.parquet \
        /tmp/medsopt-bench/patients-250000-2026.parquet --rows 2000000
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import polars as pl

AS_OF = datetime.date(2026, 6, 30)


def main() -> None:
    from medsopt.scan import patients as patient_facts
    from medsopt.scan import quarantine
    from medsopt.scan.core import ScanParams, unresolved_patients
    from medsopt.scan.files import load_tables
    from medsopt.scan.fills import (
        class_fills,
        current_medicines,
        keyed_fills,
        latest_practices,
        medicines,
        supply_methods,
    )
    from medsopt.scan.inputs import read_dispensing, read_patients
    from medsopt.scan.pdc import Period, keyed_pdc, named
    from medsopt.scan.screening import screen
    from medsopt.scan.worklist import patient_scores
    from medsopt.store.activate import Locations

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dispensing", type=Path)
    parser.add_argument("patients", type=Path)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    tables = load_tables(Locations(), AS_OF)
    params = ScanParams(Period(AS_OF, 365))
    raw = read_dispensing(args.dispensing).head(args.rows).collect()
    wanted = raw.select(pl.col("patient_id").unique())
    people_raw = read_patients(args.patients).join(wanted.lazy(), on="patient_id", how="semi")
    people_raw = people_raw.collect().lazy()
    laps: dict[str, tuple[float, float]] = {}
    started = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter(), time.process_time()
        laps[name] = now[0] - started[0], now[1] - started[1]
        started = now

    codes = tables.resolution.lazy()
    annotated = quarantine.annotate(raw, AS_OF, codes)
    lap("validate / quarantine annotation")
    _, _, unresolved = pl.collect_all(
        [
            quarantine.quarantined_rows(annotated, AS_OF, codes),
            quarantine.reason_counts(annotated),
            unresolved_patients(annotated, AS_OF, params.current_days),
        ]
    )
    fills = keyed_fills(annotated.collect(), tables)
    supply_methods(fills)
    lap("code mapping, days' supply, quarantine rows, practices")
    annotated_people = patient_facts.annotate_patients(people_raw).collect().lazy()
    people = patient_facts.clean_patients(annotated_people).collect()
    lap("patient facts")
    in_classes, classes = class_fills(fills, tables)
    adherence = named(keyed_pdc(in_classes, params.period), fills.patients, classes)
    lap("PDC")
    dispensed = medicines(fills)
    current = current_medicines(fills, dispensed, AS_OF, params.current_days)
    latest_practices(fills, dispensed)
    lap("current medicines, practices")
    screened = screen(current, people, unresolved, tables, AS_OF)
    lap("safety rules")
    patient_scores(
        adherence.lazy(),
        screened.findings.lazy(),
        screened.not_evaluated.lazy(),
        current.lazy(),
        tables.resolution.lazy().select("code", "molecule_name"),
        tables.labels.lazy().select("drug_class", "label"),
        params.weights,
    ).collect()
    lap("worklist scores")
    total = sum(wall for wall, _ in laps.values())
    cpu = sum(used for _, used in laps.values())
    print(f"{raw.height:,} rows, {wanted.height:,} patients")
    print("| stage | wall s | share | CPU s | share |\n|---|---:|---:|---:|---:|")
    for name, (seconds, used) in laps.items():
        print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} | {used:.2f} | {used / cpu:.0%} |")
    print(f"| **partition** | **{total:.2f}** | | **{cpu:.2f}** | |")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(f"peak RSS {int(line.split()[1]) / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
