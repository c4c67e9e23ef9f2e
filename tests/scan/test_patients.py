"""Patient facts: parsed strictly, untrusted rows quarantined with a reason."""

from __future__ import annotations

import polars as pl

from medsopt.scan import patients as facts
from medsopt.scan import quarantine

HEART_FAILURE = "84114007"


def test_patient_rows_are_parsed_or_quarantined() -> None:
    raw = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "d", "e", "f", "g", "h", ""],
            "age_years": ["78", "", "x", "50", "51", "40", "40", "40", "40.0", "1"],
            "sex": ["F", "male", "female", "m", "m", "robot", "", "other", "unknown", "f"],
            "egfr": ["44.5", None, "30", "", "", "", "999", "", "60", ""],
            "condition_codes": [
                f"{HEART_FAILURE}; 195967001",
                "",
                None,
                "",
                "",
                "",
                "",
                "12x",
                "",
                "",
            ],
            "pregnant": ["no", None, "", "", "", "", "", "", "maybe", ""],
        }
    ).lazy()
    annotated = facts.annotate_patients(raw)
    clean, held, counts = pl.collect_all(
        [
            facts.clean_patients(annotated),
            facts.quarantined_patients(annotated),
            quarantine.reason_counts(annotated),
        ]
    )
    assert sum(dict(counts.iter_rows()).values()) == 10
    assert dict(zip(held["patient_id"], held["reason"], strict=True)) == {
        "c": "bad_age",
        "d": "duplicate_patient",
        "e": "bad_sex",
        "f": "bad_egfr",
        "g": "malformed_condition_code",
        "h": "bad_pregnant",
        "": "missing_patient_id",
    }
    assert held.filter(pl.col("patient_id") == "d").height == 2  # every copy: choosing is a guess
    a, b = clean.sort("patient_id").to_dicts()
    assert a == {
        "patient_id": "a",
        "age_years": 78,
        "sex": "female",
        "egfr": 44.5,
        "pregnant": False,
        "condition_codes": [HEART_FAILURE, "195967001"],
        "practice_id": None,
    }
    assert (b["age_years"], b["sex"], b["egfr"], b["pregnant"], b["condition_codes"]) == (
        None,
        "male",
        None,
        None,
        [],
    )


def test_condition_codes_may_be_a_list_column() -> None:
    raw = pl.DataFrame(
        {
            "patient_id": ["a"],
            "age_years": [70],
            "sex": ["female"],
            "condition_codes": [[HEART_FAILURE]],
        }
    ).lazy()
    clean = facts.clean_patients(facts.annotate_patients(raw)).collect()
    assert clean["condition_codes"].to_list() == [[HEART_FAILURE]]
