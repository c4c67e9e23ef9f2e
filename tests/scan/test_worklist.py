"""Worklist: weights, plain-words reasons, ranking."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from medsopt.scan.worklist import Weights, patient_scores, rank

LIST = pl.List(pl.String)
NOT_EVALUATED: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "rule_id": pl.String(),
    "title": pl.String(),
    "missing": LIST,
    "codes": LIST,
}


def test_weights_parse_and_validate() -> None:
    assert Weights.parse("") == Weights()
    assert Weights.parse("safety=1, adherence=0") == Weights(1.0, 0.0, 0.2)
    for bad in ("speed=1", "safety=x", "safety=-1", "safety=0,adherence=0,recoverability=0"):
        with pytest.raises(ValueError, match=r"weight|must"):
            Weights.parse(bad)


def test_scores_reasons_and_rank() -> None:
    adherence = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "drug_class": ["statins", "statins", "statins"],
            "period_days": [220, 300, 300],
            "pdc": [0.5449, 0.9, 0.5],
            "late_refills": [3, 0, 1],
            "best_pdc_next_review": [0.7, 1.0, 0.9],
            "index_date": [datetime.date(2025, 1, 1)] * 3,
        }
    )
    findings = pl.DataFrame(
        {
            "patient_id": ["a", "a"],
            "rule_id": ["PINCER-D", "PINCER-A"],
            "category": ["interaction", "polypharmacy"],
            "severity": ["severe", "moderate"],
            "title": ["Bleeding: oral anticoagulant with an NSAID", "t"],
            "codes": [["319733000", "329806007"], ["329806007"]],
            "recommendation": ["Avoid the combination.", "Add gastroprotection."],
        },
        schema_overrides={"codes": LIST},
    )
    not_evaluated = pl.DataFrame(
        {
            "patient_id": ["b"],
            "rule_id": ["PINCER-K"],
            "title": ["t"],
            "missing": [["egfr"]],
            "codes": [["329806007"]],
        },
        schema_overrides={"missing": LIST, "codes": LIST},
    )
    current = pl.DataFrame({"patient_id": ["a"] * 11, "code": [str(i) for i in range(11)]})
    names = pl.DataFrame(
        {"code": ["319733000", "329806007"], "molecule_name": ["Warfarin", "Naproxen"]}
    )
    labels = pl.DataFrame({"drug_class": ["statins"], "label": ["statin"]})
    scores = patient_scores(
        adherence.lazy(),
        findings.lazy(),
        not_evaluated.lazy(),
        current.lazy(),
        names.lazy(),
        labels.lazy(),
        Weights(),
    )
    ranked = rank(scores).collect()
    assert ranked["patient_id"].to_list() == ["a", "c"]  # b is adherent with no finding
    first = ranked.row(0, named=True)
    assert first["rank"] == 1
    assert first["reasons"] == (
        "statin PDC 0.54 over 220 days; 3 late refills; "
        "on 11 medicines incl. naproxen + warfarin (PINCER-D severe; 1 more)"
    )
    # safety 1.5 capped at 1; gap (0.8 - 0.5449) / 0.8; recoverable 0.7 / 0.8.
    # A pharmacist acts from the sheet alone: the card, the medicines by name, what to do.
    assert first["top_finding"] == "Bleeding: oral anticoagulant with an NSAID"
    assert first["top_finding_medicines"] == "naproxen + warfarin"
    assert first["what_to_do"] == "Avoid the combination."
    gap = (0.8 - 0.5449) / 0.8
    assert first["score"] == pytest.approx(0.5 * 1.0 + 0.3 * gap + 0.2 * 0.7 / 0.8)
    second = ranked.row(1, named=True)
    assert (
        second["reasons"]
        == "statin PDC 0.50 over 300 days; 1 late refill; can reach 0.80 by next review"
    )


def test_a_worst_finding_that_names_no_medicine_still_says_what_to_do() -> None:
    """An omission (START) finding names no medicine: its card is still the patient's top one."""
    findings = pl.DataFrame(
        {
            "patient_id": ["d", "e", "e"],
            "rule_id": ["START-A1", "START-A1", "PINCER-A"],
            "category": ["omission", "omission", "polypharmacy"],
            "severity": ["severe", "severe", "moderate"],
            "title": ["Atrial fibrillation without anticoagulation"] * 2 + ["t"],
            "codes": [[], [], ["329806007"]],
            "recommendation": ["Consider an anticoagulant."] * 2 + ["Add gastroprotection."],
        },
        schema_overrides={"codes": LIST},
    )
    empty = pl.DataFrame(schema=NOT_EVALUATED)
    scores = patient_scores(
        pl.DataFrame(
            schema={
                "patient_id": pl.String,
                "drug_class": pl.String,
                "period_days": pl.Int64,
                "pdc": pl.Float64,
                "late_refills": pl.Int64,
                "best_pdc_next_review": pl.Float64,
                "index_date": pl.Date,
            }
        ).lazy(),
        findings.lazy(),
        empty.lazy(),
        pl.DataFrame({"patient_id": ["e"], "code": ["329806007"]}).lazy(),
        pl.DataFrame({"code": ["329806007"], "molecule_name": ["Naproxen"]}).lazy(),
        pl.DataFrame(schema={"drug_class": pl.String, "label": pl.String}).lazy(),
        Weights(),
    )
    rows = {row["patient_id"]: row for row in scores.collect().iter_rows(named=True)}
    for patient in ("d", "e"):
        assert rows[patient]["worst_severity"] == "severe"
        assert rows[patient]["top_finding"] == "Atrial fibrillation without anticoagulation"
        assert rows[patient]["what_to_do"] == "Consider an anticoagulant."
        assert rows[patient]["top_finding_medicines"] is None


def test_several_classes_and_equally_severe_findings_read_the_same_in_any_row_order() -> None:
    """Classes below the threshold are listed lowest PDC first; the next review's best comes
    from the widest gap; of equally severe findings the lowest rule id names the card."""
    adherence = pl.DataFrame(
        {
            "patient_id": ["f", "g", "f", "f", "g"],
            "drug_class": ["ras", "statins", "statins", "ccb", "ras"],
            "period_days": [300, 300, 200, 250, 300],
            "pdc": [0.6, 0.7, 0.4, 0.9, 0.5],
            "late_refills": [0, 0, 2, 0, 1],
            "best_pdc_next_review": [0.95, 0.5, 0.85, 1.0, 0.6],
            "index_date": [datetime.date(2025, 1, 1)] * 5,
        }
    )
    findings = pl.DataFrame(
        {
            "patient_id": ["f", "f", "g", "f"],
            "rule_id": ["PINCER-Z", "PINCER-B", "PINCER-A", "PINCER-C"],
            "category": ["interaction"] * 4,
            "severity": ["severe", "severe", "mild", "mild"],
            "title": ["z", "b", "a", "c"],
            "codes": [["319733000"], ["329806007"], [], ["319733000"]],
            "recommendation": ["do z", "do b", "do a", "do c"],
        },
        schema_overrides={"codes": LIST},
    )
    not_evaluated = pl.DataFrame(schema=NOT_EVALUATED)
    names = pl.DataFrame(
        {"code": ["319733000", "329806007"], "molecule_name": ["Warfarin", "Naproxen"]}
    )
    labels = pl.DataFrame({"drug_class": ["ras", "statins"], "label": ["RAS", "statin"]})
    current = pl.DataFrame({"patient_id": ["f", "f", "g"], "code": ["1", "2", "1"]})
    seen = []
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0]):
        scores = patient_scores(
            adherence[order].lazy(),
            findings[[i % 4 for i in order[::-1]][:4]].lazy(),
            not_evaluated.lazy(),
            current.lazy(),
            names.lazy(),
            labels.lazy(),
            Weights(),
        ).collect()
        seen.append(scores.sort("patient_id"))
    assert seen[0].equals(seen[1])
    f, g = seen[0].rows(named=True)
    assert f["reasons"] == (
        "statin PDC 0.40 over 200 days; 2 late refills; RAS PDC 0.60 over 300 days; "
        "can reach 0.80 by next review; on 2 medicines incl. naproxen (PINCER-B severe; "
        "2 more)"
    )
    assert f["top_finding"] == "b" and f["what_to_do"] == "do b"
    assert f["lowest_pdc"] == 0.4 and f["findings"] == 3
    assert g["reasons"] == (
        "RAS PDC 0.50 over 300 days; 1 late refill; statin PDC 0.70 over 300 days; "
        "on 1 medicine (PINCER-A mild)"
    )
    assert g["top_finding_medicines"] is None and g["worst_severity"] == "mild"
