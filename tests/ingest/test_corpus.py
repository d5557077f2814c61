"""The bad-input corpus (tests/ingest/corpus, written by make_corpus.py): every file gives its
expected clear message or correct result, never a traceback, and the analysis runs on every
usable one."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.pipeline import load_bytes, load_path
from analysis.present.export import cleaned_long_table
from analysis.stats.compare import compare_visits

CORPUS = Path(__file__).resolve().parent / "corpus"

# file: ("error" | "usable", finding code expected, text expected in that finding or the format)
EXPECTED = {
    "empty.csv": ("error", "unreadable", "is empty"),
    "only_whitespace.csv": ("error", "unreadable", "is empty"),
    "header_only.csv": ("error", "no_rows", "no data rows"),
    "binary_junk.csv": ("error", "unreadable", "does not look like a table"),
    "old_excel.xls": ("error", "unreadable", "old-style Excel"),
    "zip_not_workbook.xlsx": ("error", "unreadable", "not an Excel workbook"),
    "truncated.parquet": ("error", "unreadable", "looks like Parquet but cannot be read"),
    "one_column.csv": ("error", "unreadable", "only one column"),
    "no_patient_id.csv": ("error", "no_patient_id", "No patient ID column"),
    "identifiers.csv": ("error", "identifiers", "'full_name' (its name suggests a person's name)"),
    "calendar_dates.csv": (
        "error",
        "identifiers",
        "'visit_date' (its name suggests a calendar date)",
    ),
    "csv_named_xlsx.xlsx": ("usable", "", "CSV (UTF-8, comma-delimited)"),
    "parquet_named_csv.csv": ("usable", "", "Parquet"),
    "utf8_bom.csv": ("usable", "", "UTF-8 with BOM"),
    "utf16_excel_unicode_text.txt": ("usable", "", "UTF-16, tab-delimited"),
    "latin1_accents.csv": ("usable", "", "Windows-1252/Latin-1"),
    "semicolon_decimal_comma.csv": ("usable", "", "semicolon-delimited, decimal commas"),
    "tab_delimited.tsv": ("usable", "", "tab-delimited"),
    "pipe_delimited.txt": ("usable", "", "pipe-delimited"),
    "crlf_line_endings.csv": ("usable", "", "comma-delimited"),
    "blank_lines.csv": ("usable", "", "comma-delimited"),
    "trailing_delimiters.csv": ("usable", "", "comma-delimited"),
    "quoted_commas.csv": ("usable", "", "comma-delimited"),
    "duplicated_rows.csv": ("usable", "duplicate_identical", "one copy was kept: row 12"),
    "conflicting_duplicates.csv": ("usable", "duplicate_conflicting", "none of them was used"),
    "text_in_scores.csv": ("usable", "non_numeric", 'row 12, column value ("severe")'),
    "missing_markers.csv": ("usable", "missing_marker", "treated as missing"),
    "out_of_range.csv": ("usable", "out_of_range", 'row 12, column value ("14")'),
    "ragged_rows.csv": ("usable", "ragged_rows", "row 12"),
    "missing_baseline.csv": ("usable", "no_baseline", "P06"),
    "attribute_varies.csv": ("usable", "attribute_varies", "'sex'"),
    "mixed_case_visits.csv": ("usable", "visit_spellings", "'Baseline'"),
    "unknown_outcome.csv": ("usable", "unknown_outcomes", "'grip_kg'"),
    "very_wide.csv": ("usable", "unknown_outcomes", "and 290 more"),
    "single_patient.csv": ("usable", "", "comma-delimited"),
    "zero_variance.csv": ("usable", "", "comma-delimited"),
    "leading_zero_ids.csv": ("usable", "", "comma-delimited"),
    "html_and_markdown_strings.csv": ("usable", "", "comma-delimited"),
    "formula_strings.csv": ("usable", "", "comma-delimited"),
    "unicode_ids.csv": ("usable", "", "comma-delimited"),
    "redcap_export.csv": ("usable", "redcap_source", "Recognised a REDCap longitudinal export"),
    "adam_bds.xpt": ("usable", "adam_source", "Recognised a CDISC ADaM BDS dataset"),
    "xlsx_two_sheets.xlsx": ("usable", "", "XLSX (sheet 'Notes' of 2)"),
}


def test_the_corpus_has_every_file_and_at_least_30():
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix != ".py"}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name):
    kind, code, text = EXPECTED[name]
    result = load_path(CORPUS / name)
    if kind == "error":
        assert result.dataset is None
        finding = next(f for f in result.report.errors if f.code == code)
        assert text in finding.message
        return
    assert result.dataset is not None, result.report.as_text()
    if code:
        finding = next(f for f in result.report.findings if f.code == code)
        assert text in finding.message
    else:
        assert text in result.dataset.source_format
    ds = result.dataset
    acc = result.report.accounting
    assert (
        acc["values read"]
        == sum(v for k, v in acc.items() if k not in ("values read", "values used"))
        + acc["values used"]
    )
    # the paired analysis runs on every usable file (no traceback)
    outcome = ds.outcomes[0]
    follow = [v for v in ds.follow_up_visits if v in ds.wide(outcome).columns]
    if follow:
        comparison = compare_visits(ds, outcome, ds.baseline, follow[-1])
        assert comparison.stats.n_pairs + comparison.n_excluded == ds.n_patients


def test_specific_results():
    assert load_path(CORPUS / "leading_zero_ids.csv").dataset.patients == ["007", "7", "0007"]
    single = load_path(CORPUS / "single_patient.csv").dataset
    stats = compare_visits(single, "pain_nrs", "baseline", "m6").stats
    assert stats.n_pairs == 1 and stats.p_value_t is None
    assert any(w["code"] == "small_n" for w in stats.warnings)
    flat = load_path(CORPUS / "zero_variance.csv").dataset
    stats = compare_visits(flat, "pain_nrs", "baseline", "m6").stats
    assert stats.t_statistic is None and "same amount" in stats.undefined["t_statistic"]
    assert load_path(CORPUS / "latin1_accents.csv").dataset.attributes["centre"].iloc[0] == "Zürich"
    quoted = load_path(CORPUS / "quoted_commas.csv").dataset
    assert quoted.attributes["cell_source"].iloc[0] == "bone marrow, autologous"
    html = load_path(CORPUS / "html_and_markdown_strings.csv").dataset
    assert html.patients == ["<script>x</script>"] and "<b>site</b>" in html.attributes.columns
    exported = cleaned_long_table(load_path(CORPUS / "formula_strings.csv").dataset)
    assert exported["note"].str.startswith("'").all()
    assert load_path(CORPUS / "very_wide.csv").dataset.long.shape[0] == 600
    hba1c = load_path(CORPUS / "semicolon_decimal_comma.csv").dataset
    assert compare_visits(hba1c, "hba1c", "baseline", "m6").stats.mean_before == pytest.approx(7.8)
    sheet = load_bytes((CORPUS / "xlsx_two_sheets.xlsx").read_bytes(), "x.xlsx", sheet="Outcomes")
    assert sheet.dataset.long["value"].sum() > 0


def test_a_file_far_larger_than_typical(tmp_path):
    """20,000 patients x 5 visits x 4 outcomes (400,000 rows, about 11 MB) loads and compares."""
    rng = np.random.default_rng(5)
    n = 20_000
    ids = np.char.add("P", np.arange(n).astype(str))
    parts = []
    for outcome in ("pain_nrs", "tcss", "vpt", "norfolk_qol"):
        for visit in ("baseline", "m1", "m3", "m6", "m12"):
            parts.append(pd.DataFrame({"patient_id": ids, "visit": visit, "outcome": outcome,
                                       "value": rng.integers(0, 10, n)}))  # fmt: skip
    path = tmp_path / "registry.csv"
    pd.concat(parts).to_csv(path, index=False)
    assert path.stat().st_size > 8_000_000
    result = load_path(path)
    assert result.dataset.n_patients == n
    assert result.report.accounting["values used"] == 400_000
    assert compare_visits(result.dataset, "pain_nrs", "baseline", "m12").stats.n_pairs == n
