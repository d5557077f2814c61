"""Arrow's CSV reader (the fast path) against pandas' (the fallback): for every text file in
the bad-input corpus, the demo cohort and a few cases made here, loading gives the same
dataset, the same findings and the same accounting whichever reader ran."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import loading
from analysis.source import load_bytes

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
TEXT_FILES = sorted(
    p
    for p in [*CORPUS.iterdir(), ROOT / "data" / "demo_cohort.csv"]
    if p.suffix in (".csv", ".tsv", ".txt") and not p.read_bytes().startswith(b"PAR1")
)
MADE_HERE = {
    "newline_in_quotes.csv": b'patient_id,visit,pain_nrs,note\nP1,baseline,7,"two\nlines"\n'
    b"P1,m6,3,\n",
    "whitespace_line.csv": b"patient_id,visit,pain_nrs\nP1,baseline,7\n   \nP1,m6,3\n",
    "duplicate_header.csv": b"patient_id,visit,pain_nrs,pain_nrs\nP1,baseline,7,6\nP1,m6,3,2\n",
    "blank_header.csv": b"patient_id,visit,pain_nrs,\nP1,baseline,7,x\nP1,m6,3,y\n",
    "short_row.csv": b"patient_id,visit,pain_nrs,site\nP1,baseline,7\nP1,m6,3,A\n",
    "quoted_header.csv": b'"patient id","visit","pain_nrs"\n"007","baseline","7"\n"007","m6","3"\n',
    "cr_only.csv": b"patient_id,visit,pain_nrs\rP1,baseline,7\rP1,m6,3\r",
    "spaces_kept.csv": b"patient_id,visit,pain_nrs\n 007 ,baseline, 7\n007,m6,3 \n",
}


def _load(data: bytes, name: str, arrow: bool, monkeypatch):
    if not arrow:
        monkeypatch.setattr(loading, "_read_text_with_arrow", lambda *args: None)
    result = load_bytes(data, name)
    monkeypatch.undo()
    return result


def _same(data: bytes, name: str, monkeypatch) -> None:
    fast, plain = (_load(data, name, arrow, monkeypatch) for arrow in (True, False))
    assert [(f.severity, f.code, f.message) for f in fast.report.findings] == [
        (f.severity, f.code, f.message) for f in plain.report.findings
    ]
    assert fast.report.accounting == plain.report.accounting
    assert (fast.dataset is None) == (plain.dataset is None)
    if fast.dataset is not None:
        assert fast.dataset.patients == plain.dataset.patients
        assert fast.dataset.source_format == plain.dataset.source_format
        pd.testing.assert_frame_equal(
            fast.dataset.long.astype(object), plain.dataset.long.astype(object)
        )
        pd.testing.assert_frame_equal(
            fast.dataset.attributes.astype(object), plain.dataset.attributes.astype(object)
        )


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_corpus_file_reads_the_same_either_way(path, monkeypatch):
    _same(path.read_bytes(), path.name, monkeypatch)


@pytest.mark.parametrize("name", sorted(MADE_HERE))
def test_edge_case_reads_the_same_either_way(name, monkeypatch):
    _same(MADE_HERE[name], name, monkeypatch)


def test_the_fast_path_is_taken_for_an_ordinary_file_and_not_for_a_ragged_one():
    header = ["patient_id", "visit", "pain_nrs"]
    ordinary = loading._read_text_with_arrow(
        b"patient_id,visit,pain_nrs\n007,baseline,7\n", ",", header
    )
    assert ordinary is not None
    assert ordinary["patient_id"].tolist() == ["007"]
    assert isinstance(ordinary["patient_id"].dtype, pd.CategoricalDtype)
    ragged = b"patient_id,visit,pain_nrs\n007,baseline,7,extra\n"
    assert loading._read_text_with_arrow(ragged, ",", header) is None
