"""Word exports: real tables whose numbers match the CSV's, right-aligned, with the caption
and the provenance lines; the report's tables, methods and references."""

import io
import re
import zipfile

import docx
import pandas as pd
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH

from analysis.ingest.pipeline import load_demo
from analysis.present import numeric_tables as nt
from analysis.present.docx_export import (
    NO_RENDERER,
    numeric_looking,
    report_to_docx,
    static_image_renderer,
    table_to_docx,
)
from analysis.present.export import csv_zip_bytes
from analysis.present.provenance import build_provenance
from analysis.present.report import ReportInput
from analysis.present.tables import mmrm_contrast_table, mmrm_lsmeans_table, responder_table
from analysis.references import REFERENCES
from analysis.stats.arms import resolve_arms, responders_by_arm
from analysis.stats.longitudinal import MMRMSpec, fit_outcome_model

NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def model(demo):
    return fit_outcome_model(demo, resolve_arms(demo), MMRMSpec("pain_nrs"))


def _numbers(text: str) -> list[float]:
    return [float(n.replace("−", "-")) for n in NUMBER.findall(text)]


def _cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def _csv(frame: pd.DataFrame) -> pd.DataFrame:
    with zipfile.ZipFile(io.BytesIO(csv_zip_bytes(frame, stem="t"))) as archive:
        return pd.read_csv(archive.open("t.csv"))


def test_table_numbers_match_the_csv(demo, model):
    record = build_provenance(demo, source_sha256="cd" * 32, design=resolve_arms(demo))
    shown = mmrm_contrast_table(model)
    data = table_to_docx(shown, "Each arm minus the comparator (MMRM)", record)
    document = docx.Document(io.BytesIO(data))
    assert len(document.tables) == 1
    cells = _cells(document.tables[0])
    assert cells[0] == list(shown.columns)
    csv = _csv(nt.mmrm_contrasts_numeric(model))
    column = cells[0].index("difference (95% CI)")
    p_column = cells[0].index("p")
    for row, (_, expected) in zip(cells[1:], csv.iterrows(), strict=True):
        estimate, low, high = _numbers(row[column])
        assert estimate == round(expected["estimate"], 2)
        assert (low, high) == (round(expected["ci_low"], 2), round(expected["ci_high"], 2))
        p = expected["p_value"]
        assert row[p_column] == ("< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}")
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Each arm minus the comparator (MMRM)" in text
    assert f"source_sha256: {'cd' * 32}" in text
    assert "arm_attribute: arm" in text
    assert re.search(r"created_utc: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)


def test_numbers_are_right_aligned_and_words_are_not(demo, model):
    document = docx.Document(io.BytesIO(table_to_docx(mmrm_lsmeans_table(model), "LS means")))
    table = document.tables[0]
    header = [c.text for c in table.rows[0].cells]
    first = table.rows[1].cells
    assert first[header.index("LS mean (95% CI)")].paragraphs[0].alignment == (
        WD_ALIGN_PARAGRAPH.RIGHT
    )
    assert first[header.index("values used")].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert first[header.index("arm")].paragraphs[0].alignment != WD_ALIGN_PARAGRAPH.RIGHT


def test_a_numeric_frame_is_written_readably(demo, model):
    numeric = nt.mmrm_lsmeans_numeric(model)
    document = docx.Document(io.BytesIO(table_to_docx(numeric, "LS means (numbers)")))
    cells = _cells(document.tables[0])
    j = cells[0].index("estimate")
    assert [_numbers(r[j])[0] for r in cells[1:]] == [round(x, 2) for x in numeric["estimate"]]
    assert cells[1][cells[0].index("ci_level")] == "95%"


def test_numeric_looking_text():
    for text in ("−0.31 (−0.5 to 0.1)", "< 0.001", "12/30 = 40% (23% to 59%)", "84", ".5"):
        assert numeric_looking(text), text
    for text in ("undefined", "MSC", "m6", "≥50% improvement"):
        assert not numeric_looking(text), text


def test_report_has_the_tables_methods_and_references(demo, model):
    data = ReportInput(demo, "pain_nrs", "m6", "ef" * 32, "Showing all 150 patients (no filter).")
    document = docx.Document(io.BytesIO(report_to_docx(data, figures=False)))
    tables = [_cells(t) for t in document.tables]
    headers = [t[0] for t in tables]
    assert ["attribute", "definition"] in headers  # the estimand
    assert any(h[0] == "arm" and "change, completers" in h for h in headers)  # result per arm
    assert ["comparison", "estimate", "value (95% CI)", "p"] in headers  # between arms
    rates = responders_by_arm(demo, resolve_arms(demo), "pain_nrs", "m6")
    for analysis in rates.per_arm.values():
        assert _cells_of(responder_table(analysis)) in tables
    assert _cells_of(mmrm_lsmeans_table(model)) in tables
    assert _cells_of(mmrm_contrast_table(model)) in tables
    text = "\n".join(p.text for p in document.paragraphs)
    assert "mixed model for repeated measures" in text  # the methods paragraph
    assert REFERENCES["satterthwaite1946"].text() in text  # and its references, numbered
    assert NO_RENDERER in text
    assert f"source_sha256: {'ef' * 32}" in text
    assert "estimand.population: Each arm separately" in text
    effect = next(t for t in tables if t[0] == ["comparison", "estimate", "value (95% CI)", "p"])
    contrast = model.result.contrasts
    m6 = contrast.loc[contrast["visit"].astype(str) == "m6"].iloc[0]
    assert _numbers(effect[1][2])[0] == round(m6["estimate"], 2)


def _cells_of(frame: pd.DataFrame) -> list[list[str]]:
    from analysis.present.docx_export import cell_text

    return [[str(c) for c in frame.columns]] + [
        [cell_text(v, str(c)) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]


def test_report_figures_as_images_where_they_can_be_drawn(demo):
    if not static_image_renderer():
        pytest.skip("no static image renderer here (kaleido with a Chromium browser)")
    data = ReportInput(demo, "pain_nrs", "m6", "ef" * 32)
    document = docx.Document(io.BytesIO(report_to_docx(data)))
    assert len(document.inline_shapes) == 3  # LS means over time, histogram, waterfall
    assert NO_RENDERER not in "\n".join(p.text for p in document.paragraphs)
