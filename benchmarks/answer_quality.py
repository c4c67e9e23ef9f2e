"""Answer quality for ordinary primary-care patients: how often the answer is INCOMPLETE, how
many findings a patient gets, and how many cards repeat another card's medicines.

A seeded population of patients with the context a GP system has at hand (age 40-95, sex,
eGFR, long-term conditions from the QOF clusters in ../shared/snomed/, every start date, the
as-of date, and the coded test results of the last two years; pregnancy status is reported with
and without), each on 3-12 common medicines named below and
looked up by their exact dm+d name in the bundled extract (no code is typed in here).

    .venv/bin/python benchmarks/answer_quality.py [--patients 2000] [--seed 12]

Goals (issue 12): <= 2% INCOMPLETE and <= 6 findings per 100 patients that name exactly the same
medicines as another finding of the same answer.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `medsopt` importable from a checkout
    sys.path.insert(0, str(REPO))

from medsopt.engine import CheckRequest, MedicationEntry, PatientContext, check  # noqa: E402
from medsopt.engine.findings import CheckResult  # noqa: E402
from medsopt.engine.request import MonitoringResult, Sex  # noqa: E402
from medsopt.rules.ruleset import RuleSet  # noqa: E402
from medsopt.store.activate import Locations, build  # noqa: E402

AS_OF = datetime.date(2026, 12, 1)
# Days since a test was last done: mostly within the monitoring windows, some overdue.
RECENCY = [10, 30, 45, 60, 75, 120, 150, 200, 250, 300, 340, 420, 500]
SNOMED = REPO.parent / "shared" / "snomed"
# Common primary-care medicines, by their dm+d names (weights: rough relative frequency). A
# patient gets at most one medicine of each slot (one statin, one PPI, ...), as an ordinary
# list would; duplication is measured by the committee cases, not by this population.
SLOTS = {
    "Atorvastatin": "statin",
    "Simvastatin": "statin",
    "Amlodipine": "ccb",
    "Ramipril": "ras",
    "Lisinopril": "ras",
    "Losartan": "ras",
    "Candesartan": "ras",
    "Bisoprolol": "bb",
    "Bendroflumethiazide": "thiazide",
    "Indapamide": "thiazide",
    "Furosemide": "loop",
    "Omeprazole": "ppi",
    "Lansoprazole": "ppi",
    "Metformin": "metformin",
    "Gliclazide": "su",
    "Levothyroxine": "thyroid",
    "Aspirin": "antiplatelet",
    "Clopidogrel": "antiplatelet",
    "Apixaban": "anticoagulant",
    "Paracetamol": "paracetamol",
    "Co-codamol": "paracetamol",
    "Sertraline": "antidepressant",
    "Citalopram": "antidepressant",
    "Mirtazapine": "antidepressant2",
    "Amitriptyline": "tca",
    "Gabapentin": "gabapentinoid",
    "Pregabalin": "gabapentinoid",
    "Tramadol": "opioid",
    "Naproxen": "nsaid",
    "Colecalciferol": "vitd",
    "Alendronic": "bisphosphonate",
    "Adcal-D3": "calcium",
    "Tamsulosin": "alpha",
    "Finasteride": "5ari",
    "Doxazosin": "alpha2",
    "Salbutamol": "saba",
    "Senna": "laxative",
    "Laxido": "laxative2",
    "Lactulose": "laxative2",
    "Allopurinol": "gout",
    "Isosorbide": "nitrate",
    "Donepezil": "dementia",
    "Prednisolone": "steroid",
    "Latanoprost": "eye",
    "Spironolactone": "mra",
}

COMMON = {
    "Atorvastatin 20mg tablets": 10,
    "Atorvastatin 40mg tablets": 6,
    "Simvastatin 40mg tablets": 4,
    "Amlodipine 5mg tablets": 8,
    "Ramipril 5mg capsules": 5,
    "Lisinopril 10mg tablets": 3,
    "Losartan 50mg tablets": 3,
    "Candesartan 8mg tablets": 2,
    "Bisoprolol 2.5mg tablets": 5,
    "Bendroflumethiazide 2.5mg tablets": 2,
    "Indapamide 2.5mg tablets": 2,
    "Furosemide 40mg tablets": 3,
    "Omeprazole 20mg gastro-resistant capsules": 8,
    "Lansoprazole 30mg gastro-resistant capsules": 5,
    "Metformin 500mg tablets": 6,
    "Gliclazide 80mg tablets": 2,
    "Levothyroxine sodium 50microgram tablets": 5,
    "Aspirin 75mg dispersible tablets": 4,
    "Clopidogrel 75mg tablets": 2,
    "Apixaban 5mg tablets": 3,
    "Paracetamol 500mg tablets": 8,
    "Co-codamol 30mg/500mg tablets": 3,
    "Sertraline 50mg tablets": 4,
    "Citalopram 20mg tablets": 3,
    "Mirtazapine 15mg tablets": 2,
    "Amitriptyline 10mg tablets": 3,
    "Gabapentin 300mg capsules": 2,
    "Pregabalin 75mg capsules": 2,
    "Tramadol 50mg capsules": 2,
    "Naproxen 500mg tablets": 2,
    "Colecalciferol 800unit capsules": 3,
    "Alendronic acid 70mg tablets": 2,
    "Adcal-D3 chewable tablets (Kyowa Kirin Ltd)": 1,
    "Tamsulosin 400microgram modified-release capsules": 3,
    "Finasteride 5mg tablets": 1,
    "Doxazosin 4mg tablets": 1,
    "Salbutamol 100micrograms/dose inhaler CFC free": 4,
    "Senna 7.5mg tablets": 2,
    "Laxido orange oral powder sachets sugar free (Galen Ltd)": 1,
    "Lactulose 3.1-3.7g/5ml oral solution": 1,
    "Allopurinol 100mg tablets": 2,
    "Isosorbide mononitrate 60mg modified-release tablets": 1,
    "Donepezil 10mg tablets": 1,
    "Prednisolone 5mg tablets": 1,
    "Latanoprost 50micrograms/ml eye drops": 1,
    "Spironolactone 25mg tablets": 1,
}
# QOF clusters (and their prevalence-like weights) a patient may have recorded.
CONDITIONS = {
    "hypertension-hyp_cod.csv": 0.35,
    "diabetes-type2-dmtype2audit_cod.csv": 0.15,
    "asthma-ast_cod.csv": 0.08,
    "copd-copd_cod.csv": 0.06,
    "atrial-fibrillation-afib_cod.csv": 0.08,
    "heart-failure-hf_cod.csv": 0.04,
    "ckd-ckd_cod.csv": 0.08,
    "chd-chd_cod.csv": 0.08,
    "depression-depr_cod.csv": 0.12,
    "dementia-dem_cod.csv": 0.03,
    "osteoporosis-osteo_cod.csv": 0.04,
}


def codes_by_name(ruleset: RuleSet) -> dict[str, str]:
    """The dm+d code of every COMMON name found in the extract (a VMP/AMP preferred)."""
    wanted = set(COMMON)
    found: dict[str, str] = {}
    for concept in ruleset.dmd.concepts():
        if concept.name in wanted and not concept.invalid:
            found.setdefault(concept.name, concept.code)
    return found


def cluster_codes() -> dict[str, list[str]]:
    """Codes of each QOF cluster (a GP system records specific, child concepts)."""
    clusters = {}
    for name in CONDITIONS:
        with (SNOMED / name).open(newline="") as handle:
            clusters[name] = [row["code"] for row in csv.DictReader(handle)]
    return clusters


def test_codes(ruleset: RuleSet) -> dict[str, str]:
    """One code of each monitoring test group (a GP record's lab results are coded)."""
    return {g.id: min(g.codes) for g in ruleset.groups.values() if g.kind == "test" and g.codes}


def population(
    ruleset: RuleSet, count: int, seed: int, pregnancy_sent: bool = False
) -> list[CheckRequest]:
    """Seeded patients; with `pregnancy_sent`, the EPR sends the pregnancy status its record
    has for women aged 12-55 (no pregnancy is recorded in this population)."""
    rng = random.Random(seed)
    codes = codes_by_name(ruleset)
    missing = sorted(set(COMMON) - set(codes))
    if missing:
        print(f"not in the extract (left out): {', '.join(missing)}", file=sys.stderr)
    names = sorted(codes)
    weights = [COMMON[n] for n in names]
    clusters = cluster_codes()
    tests = test_codes(ruleset)
    requests = []
    for number in range(count):
        size = rng.randint(3, 12)
        chosen: list[str] = []
        taken: set[str] = set()
        while len(chosen) < size:
            name = rng.choices(names, weights)[0]
            slot = SLOTS[name.split()[0]]
            if slot not in taken:
                taken.add(slot)
                chosen.append(name)
        age = rng.randint(40, 95)
        sex = rng.choice([Sex.FEMALE, Sex.MALE])
        conditions = tuple(
            rng.choice(clusters[cluster])
            for cluster, share in CONDITIONS.items()
            if rng.random() < share * (1.5 if age >= 70 else 1.0)
        )
        # The GP record's results of the last two years: every test group, each last done
        # 0-500 days ago (most within a year), as a practice's routine bloods would be.
        results = tuple(
            MonitoringResult(
                code, (AS_OF - datetime.timedelta(days=rng.choice(RECENCY))).isoformat()
            )
            for code in tests.values()
        )
        requests.append(
            CheckRequest(
                request_id=f"p{number}",
                as_of=AS_OF,
                patient=PatientContext(
                    age_years=age,
                    sex=sex,
                    pregnant=False if pregnancy_sent and sex is Sex.FEMALE and age < 56 else None,
                    egfr=float(rng.randint(25 if age >= 75 else 45, 100)),
                    condition_codes=conditions,
                    monitoring=results,
                    monitoring_from=(AS_OF - datetime.timedelta(days=730)).isoformat(),
                ),
                medications=tuple(
                    MedicationEntry(
                        f"m{i}",
                        codes[name],
                        start_date=(
                            AS_OF - datetime.timedelta(days=rng.randint(7, 2000))
                        ).isoformat(),
                    )
                    for i, name in enumerate(chosen, start=1)
                ),
            )
        )
    return requests


def repeated_cards(result: CheckResult) -> int:
    """Findings whose medicines are exactly another finding's (each such finding counted).

    Omissions ("no anticoagulant in atrial fibrillation") name no medicine: they are about a
    condition, so two of them do not repeat each other's medicines and are not counted.
    """
    sets = Counter(frozenset(f.medication_refs) for f in result.findings if f.medication_refs)
    return sum(n for n in sets.values() if n > 1)


def measure(
    ruleset: RuleSet, requests: list[CheckRequest]
) -> tuple[list[CheckResult], float, float, float, float]:
    """Results, and: % INCOMPLETE, findings per patient, repeats per 100, omissions per 100."""
    results = [check(r, ruleset) for r in requests]
    n = len(results)
    incomplete = sum(not r.complete for r in results)
    findings = sum(len(r.findings) for r in results)
    repeated = sum(repeated_cards(r) for r in results)
    omissions = sum(not f.medication_refs for r in results for f in r.findings)
    return results, 100 * incomplete / n, findings / n, 100 * repeated / n, 100 * omissions / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--top", type=int, default=8, help="show the commonest reasons")
    args = parser.parse_args()
    ruleset = build(Locations()).ruleset
    results, incomplete, per_patient, repeated, omissions = measure(
        ruleset, population(ruleset, args.patients, args.seed)
    )
    _, incomplete_sent, *_ = measure(
        ruleset, population(ruleset, args.patients, args.seed, pregnancy_sent=True)
    )
    why: Counter[str] = Counter()
    for result in results:
        if result.complete:
            continue
        why.update({f"unresolved {u.entry.code} ({u.reason.value})" for u in result.unresolved})
        why.update({f"{n.rule_id} needs {', '.join(n.missing)}" for n in result.not_evaluated})
    rules: Counter[str] = Counter(f.rule_id for r in results for f in r.findings)
    pairs: Counter[str] = Counter()
    for result in results:
        by_medicines: dict[frozenset[str], list[str]] = {}
        for finding in result.findings:
            if finding.medication_refs:
                by_medicines.setdefault(frozenset(finding.medication_refs), []).append(
                    finding.rule_id
                )
        pairs.update(" + ".join(sorted(ids)) for ids in by_medicines.values() if len(ids) > 1)
    identity = ruleset.identity
    print(
        f"rule set {identity.version} ({identity.content_hash[:12]}), dm+d {identity.dmd_release}, "
        f"{len(results)} seeded patients, seed {args.seed}"
    )
    print("| measure | value | goal |")
    print("|---|---:|---:|")
    print(f"| answers INCOMPLETE (pregnancy status not sent) | {incomplete:.1f}% | <= 2% |")
    print(
        f"| answers INCOMPLETE (pregnancy status sent for women 12-55) | {incomplete_sent:.1f}% "
        "| <= 2% |"
    )
    print(f"| findings per patient | {per_patient:.2f} | |")
    print(
        f"| findings per 100 patients naming exactly another finding's medicines | "
        f"{repeated:.1f} | <= 6 |"
    )
    print(f"| omission findings (naming no medicine) per 100 patients | {omissions:.1f} | |")
    print(f"\ncommonest reasons for INCOMPLETE (patients): {why.most_common(args.top)}")
    print(f"commonest findings: {rules.most_common(args.top)}")
    print(f"commonest repeats (rules naming the same medicines): {pairs.most_common(args.top)}")


if __name__ == "__main__":
    main()
