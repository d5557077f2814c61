"""Where numbers become text (analysis.present.format) and the sentences built on it."""

from __future__ import annotations

from analysis.ingest.pipeline import load_bytes
from analysis.present.format import count
from analysis.present.wording import plain_sentence
from analysis.stats.compare import compare_visits


def test_counts_are_read_with_thousands_separated():
    assert count(30100) == "30,100"
    assert count(7) == "7"
    assert count(None) == "undefined"


def test_the_plain_sentence_separates_thousands_at_registry_scale():
    # 1,200 patients: 800 improve by 2 points, 400 do not change.
    rows = "patient_id,visit,outcome,value\n" + "".join(
        f"P{i},baseline,pain_nrs,7\nP{i},m6,pain_nrs,{5 if i < 800 else 7}\n" for i in range(1200)
    )
    comparison = compare_visits(
        load_bytes(rows.encode(), "big.csv").dataset, "pain_nrs", "baseline", "m6"
    )
    sentence = plain_sentence(comparison)
    assert "Among the 1,200 patients" in sentence
    assert "800 of 1,200 (67%) improved" in sentence
    assert "400 patients with no change left out of the rank test" in sentence
