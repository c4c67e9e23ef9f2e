"""Worklist: weights, plain-words reasons, ranking."""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from medsopt.scan.worklist import Weights, patient_scores, rank

LIST = pl.List(pl.String)


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
