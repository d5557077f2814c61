"""Numbers as numbers: every numeric table, through every export path (the CSV zip with its
provenance sidecar, the XLSX workbook, the plain CSV for the command line), reads back with
numeric columns as numbers."""

import io
import json
import zipfile

import openpyxl
import pandas as pd
import pytest

from analysis.ingest.pipeline import load_demo
from analysis.present import numeric_tables as nt
from analysis.present.export import (
    FORMATTED_LABEL,
    csv_zip_bytes,
    export_xlsx_bytes,
    numeric_csv,
)
from analysis.present.provenance import build_provenance
from analysis.present.tables import (
    arm_difference_display,
    mmrm_contrast_table,
    mmrm_lsmeans_table,
    statistics_table,
    summary_display,
)
from analysis.stats.arms import (
    ArmDesign,
    compare_by_arm,
    resolve_arms,
    responders_by_arm,
    summary_by_arm,
)
from analysis.stats.compare import compare_visits
from analysis.stats.longitudinal import MMRMSpec, fit_outcome_model
from analysis.stats.responders import responder_analysis
from analysis.stats.summary import cohort_summary

NUMERIC = {
    "estimate", "ci_low", "ci_high", "ci_level", "p_value", "n", "se", "df", "t", "n_arm",
    "n_comparator", "responders", "mean_before", "mean_after", "p_value_t", "p_value_wilcoxon",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def results(demo):
    """Every result object with its numeric table and its display table."""
    design = resolve_arms(demo)
    by_arm = compare_by_arm(demo, design, "pain_nrs", "baseline", "m6")
    rates = responders_by_arm(demo, design, "pain_nrs", "m6")
    model = fit_outcome_model(demo, design, MMRMSpec("pain_nrs"))
    one_model = fit_outcome_model(demo, ArmDesign(None), MMRMSpec("tcss"))
    per_arm, between = summary_by_arm(demo, design)
    single = compare_visits(demo, "pain_nrs", "baseline", "m6")
    responders = responder_analysis(demo, "pain_nrs", "m6")
    summary = cohort_summary(demo)
    return {
        "paired": (nt.paired_numeric(single), statistics_table(single)),
        "per_arm": (nt.per_arm_numeric(by_arm), None),
        "between_arms": (nt.between_arms_numeric(by_arm), None),
        "responders": (nt.responder_rates_numeric(responders), None),
        "arm_responders": (nt.arm_responder_rates_numeric(rates), None),
        "responders_between": (
            nt.responders_between_numeric(rates),
            arm_difference_display(rates.between),
        ),
        "summary": (nt.summary_numeric(summary), summary_display(summary)),
        "summary_by_arm": (nt.summary_numeric(per_arm), summary_display(per_arm)),
        "summary_between": (nt.summary_between_numeric(between), None),
        "mmrm_lsmeans": (nt.mmrm_lsmeans_numeric(model), mmrm_lsmeans_table(model)),
        "mmrm_contrasts": (nt.mmrm_contrasts_numeric(model), mmrm_contrast_table(model)),
        "mmrm_coefficients": (nt.mmrm_coefficients_numeric(model), None),
        "mmrm_one_group": (nt.mmrm_lsmeans_numeric(one_model), mmrm_lsmeans_table(one_model)),
        "_objects": (single, by_arm, rates, model, per_arm),
    }


def _tables(results):
    return [(name, pair) for name, pair in results.items() if not name.startswith("_")]


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in NUMERIC]


def test_every_builder_has_one_value_per_column(results):
    for name, (frame, _) in _tables(results):
        assert len(frame), name
        for column in ("estimate", "unit"):
            assert column in frame.columns, (name, column)
        for column in _numeric_columns(frame):
            assert pd.api.types.is_numeric_dtype(frame[column]), (name, column)
        for column in frame.columns:
            if frame[column].dtype == object:
                texts = frame[column].map(str)
                assert not texts.str.contains("\u2212").any(), (name, column)
                assert not texts.str.contains(r"\d \(\S+ to ", regex=True).any(), (name, column)


def test_csv_zip_reads_back_as_numbers_with_its_sidecar(results, demo):
    record = build_provenance(demo, source_sha256="0f" * 32, created="")
    for name, (frame, display) in _tables(results):
        data = csv_zip_bytes(frame, display, record, name)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            assert {f"{name}.csv", f"{name}.provenance.json", "README.txt"} <= names
            assert (f"{name}.formatted.csv" in names) == (display is not None)
            back = pd.read_csv(archive.open(f"{name}.csv"))
            sidecar = json.loads(archive.read(f"{name}.provenance.json"))
        assert list(back.columns) == list(frame.columns), name
        for column in _numeric_columns(frame):
            assert pd.api.types.is_numeric_dtype(back[column]), (name, column, back[column].dtype)
            pd.testing.assert_series_equal(
                back[column].astype(float), frame[column].astype(float), check_names=False
            )
        assert sidecar["source_sha256"] == "0f" * 32
        assert sidecar["created_utc"].endswith("Z")  # filled in when written


def test_plain_numeric_csv_for_the_command_line(results):
    frame = results["between_arms"][0]
    text = numeric_csv(frame).decode("utf-8")
    assert "\u2212" not in text and not text.startswith("#")
    back = pd.read_csv(io.StringIO(text))
    assert back["estimate"].dtype == float and back["p_value"].dtype == float


def test_xlsx_cells_are_numbers_with_a_number_format(results, demo):
    record = build_provenance(demo, source_sha256="0f" * 32)
    for name, (frame, display) in _tables(results):
        book = openpyxl.load_workbook(io.BytesIO(export_xlsx_bytes(frame, display, record)))
        expected = ["data", "formatted", "provenance"] if display is not None else [
            "data", "provenance",
        ]  # fmt: skip
        assert book.sheetnames == expected, name
        sheet = book["data"]
        header = [c.value for c in sheet[1]]
        assert header == list(frame.columns), name
        for column in _numeric_columns(frame):
            j = header.index(column) + 1
            cells = [sheet.cell(row=i, column=j) for i in range(2, sheet.max_row + 1)]
            filled = [c for c in cells if c.value is not None]
            assert filled or frame[column].isna().all(), (name, column)
            for cell in filled:
                assert cell.data_type == "n", (name, column, cell.value)
                assert cell.number_format != "General", (name, column)
        if display is not None:
            assert book["formatted"]["A1"].value == FORMATTED_LABEL
            assert [c.value for c in book["formatted"][3]] == list(display.columns)
        keys = {row[0] for row in book["provenance"].iter_rows(min_row=2, values_only=True)}
        assert {"source_sha256", "cohort_filter_query", "estimand", "versions.scipy"} <= keys


def test_p_values_keep_their_precision_and_get_a_p_format(results, demo):
    frame = results["mmrm_coefficients"][0]
    book = openpyxl.load_workbook(io.BytesIO(export_xlsx_bytes(frame)))
    sheet = book["data"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("p_value") + 1)
    assert cell.value == pytest.approx(frame["p_value"].iloc[0], rel=1e-15)
    assert cell.number_format.startswith("[<0.0001]")


def test_numbers_are_the_results_own(results):
    single, by_arm, rates, model, per_arm = results["_objects"]
    paired = results["paired"][0].set_index("statistic")
    assert paired.loc["mean_change", "estimate"] == single.stats.mean_change
    assert paired.loc["mean_change", "ci_low"] == single.stats.change_ci_low
    assert paired.loc["mean_change", "p_value"] == single.stats.p_value_t
    assert paired.loc["mean_change", "test"] == "paired t-test"
    assert paired.loc["primary_test", "p_value"] == single.stats.p_value_recommended
    between = results["between_arms"][0]
    welch = between.loc[between["test"] == "Welch t-test"].iloc[0]
    assert welch["estimate"] == by_arm.between["difference"].iloc[0]
    assert (welch["arm"], welch["comparator"]) == ("MSC", "standard care")
    contrasts = results["mmrm_contrasts"][0]
    assert list(contrasts["estimate"]) == list(model.result.contrasts["estimate"])
    assert list(contrasts["p_value"]) == list(model.result.contrasts["p"])
    summary = results["summary_by_arm"][0]
    assert list(summary["estimate"]) == list(per_arm["mean_change"])
    assert list(summary["arm"]) == list(per_arm["arm"])
    rate_rows = results["responders_between"][0]
    assert list(rate_rows["estimate"]) == list(rates.between["difference"])
    assert set(rate_rows["unit"]) == {"percentage points"}


def test_undefined_numbers_are_empty_not_words(demo):
    tiny = compare_visits(demo, "pain_nrs", "baseline", "m6")
    tiny.stats.mark_undefined("too few pairs", "change_ci_low", "change_ci_high")
    frame = nt.paired_numeric(tiny).set_index("statistic")
    assert pd.isna(frame.loc["mean_change", "ci_low"])
    text = numeric_csv(frame.reset_index()).decode()
    assert "undefined" not in text


def test_the_dashboards_table_exports_carry_the_sessions_provenance(results, demo):
    from analysis.instruments import lookup
    from analysis.present.estimand import change_estimand
    from analysis.stats.arms import patients_with_baseline
    from analysis.stats.cohort import CohortFilter
    from ui.render import _provenance

    design = resolve_arms(demo)
    estimand = change_estimand(
        design, lookup("pain_nrs"), "baseline", "m6", "",
        patients_with_baseline(demo, design, "pain_nrs"),
    )  # fmt: skip
    inputs = {
        "dataset": demo, "source_sha256": "9a" * 32, "cohort": CohortFilter({"arm": ("MSC",)}),
        "cohort_sentence": "Showing 108 of 150 patients: arm MSC.", "arm_design": design,
    }  # fmt: skip
    frame, display = results["between_arms"][0], None
    record = _provenance(inputs, {"estimand": estimand, "outcome": "pain_nrs"}, "between arms")
    with zipfile.ZipFile(io.BytesIO(csv_zip_bytes(frame, display, record, "b"))) as archive:
        sidecar = json.loads(archive.read("b.provenance.json"))
    assert sidecar["table"] == "between arms"
    assert sidecar["source_sha256"] == "9a" * 32
    assert sidecar["cohort_filter_query"] == "f.arm=MSC"
    assert sidecar["estimand"] == estimand.to_dict()
    assert sidecar["outcome"] == "pain_nrs"
    assert list(sidecar)[-1] == "versions"
