"""Rendering helpers shared by the pages: charts with a download format, tables with exports."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.present.estimand import Estimand
from analysis.present.export import csv_zip_bytes, export_xlsx_bytes
from analysis.present.provenance import Provenance, build_provenance

CHART_FORMATS = ("PNG", "SVG")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV_HELP = (
    "A zip: the numbers as CSV (one value per column, unformatted), the table as shown, and "
    "where the numbers come from (.provenance.json)."
)
XLSX_HELP = (
    "Sheets: 'data' (the numbers as numbers), 'formatted' (the table as shown) and "
    "'provenance' (data source, cohort, arms, estimand, software versions, time)."
)
DOCX_HELP = "A Word file: the table as shown, with its caption and provenance lines."


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "export"


def chart(fig: go.Figure, file_stem: str, container=st) -> None:
    """A plotly figure exactly as built (no theme override). Its toolbar camera button saves it
    as PNG or SVG (chosen in the sidebar) under a readable name, at 1200 px wide."""
    fmt = st.session_state.get("chart_format", "PNG").lower()
    height = int(fig.layout.height or 500)
    container.plotly_chart(
        fig,
        width="stretch",
        theme=None,
        config={
            "displaylogo": False,
            "toImageButtonOptions": {
                "format": fmt,
                "filename": _stem(file_stem),
                "width": 1200,
                "height": max(height, 400),
                "scale": 2 if fmt == "png" else 1,
            },
        },
    )


def session_provenance(
    provenance: Provenance | Estimand | Mapping[str, object] | None = None, table: str = ""
) -> Provenance:
    """The provenance of an export from this session: the data, its SHA-256, the cohort filter,
    the arm design (from session state), plus what the page passes: an Estimand, or a mapping
    of further entries (``{"estimand": ..., "outcome": ...}``) that override the defaults. The
    time is left empty and filled in when the file is built (on the click)."""
    return _provenance(_session_inputs(), provenance, table)


def _session_inputs() -> dict[str, object]:
    """What the provenance is made of, read from session state while the page runs (the
    record itself is made on the click, where session state cannot be read)."""
    state = st.session_state
    return {
        name: state.get(name)
        for name in ("dataset", "source_sha256", "cohort", "cohort_sentence", "arm_design")
    }


def _provenance(
    inputs: Mapping[str, object],
    provenance: Provenance | Estimand | Mapping[str, object] | None,
    table: str,
) -> Provenance:
    extra: dict[str, object] = {}
    estimand: object = None
    if isinstance(provenance, Estimand):
        estimand = provenance
    elif provenance is not None:
        extra = dict(provenance)
        estimand = extra.pop("estimand", None)
    record = build_provenance(
        inputs.get("dataset"),  # type: ignore[arg-type]
        source_sha256=inputs.get("source_sha256"),  # type: ignore[arg-type]
        cohort=inputs.get("cohort"),  # type: ignore[arg-type]
        cohort_sentence=inputs.get("cohort_sentence"),  # type: ignore[arg-type]
        design=inputs.get("arm_design"),  # type: ignore[arg-type]
        estimand=estimand,  # type: ignore[arg-type]
        table=table,
        created="",
    )
    for key, value in extra.items():
        record[key] = value
    if "versions" in record:  # keep the versions last, after what the page added
        record["versions"] = record.pop("versions")
    return record


def _docx(frame: pd.DataFrame, caption: str, record: Provenance) -> bytes:
    from analysis.present.docx_export import table_to_docx  # python-docx: only on a click

    return table_to_docx(frame, caption, record)


def table(
    frame: pd.DataFrame,
    file_stem: str,
    container=st,
    *,
    numeric: pd.DataFrame | None = None,
    provenance: Provenance | Estimand | Mapping[str, object] | None = None,
    caption: str | None = None,
    **kwargs,
) -> None:
    """A result table with CSV, XLSX and Word downloads, safe to open in a spreadsheet, each
    with its provenance. ``frame`` is shown as it is (so suppressed small groups stay
    suppressed). With ``numeric`` (the table's numbers, one value per column:
    analysis.present.numeric_tables) the CSV and the XLSX 'data' sheet hold those numbers and
    ``frame`` goes along as the formatted version; without it they hold ``frame``.
    ``provenance``: the result's Estimand, or extra entries for the provenance record;
    ``caption`` names the table in the files (the file stem by default)."""
    container.dataframe(frame, hide_index=True, width="stretch", **kwargs)
    stem = _stem(file_stem)
    title = caption or file_stem.replace("_", " ")
    inputs = _session_inputs()

    def record() -> Provenance:
        return _provenance(inputs, provenance, title)

    data = numeric if numeric is not None else frame
    formatted = frame if numeric is not None else None
    buttons = container.container(horizontal=True)  # flows, so narrow columns keep labels
    # The files are built when clicked (a callable), not on every rerun: writing XLSX for a
    # registry-sized table takes longer than the rest of a page. The provenance's time is set
    # then too.
    buttons.download_button(
        "CSV (zip)",
        lambda: csv_zip_bytes(data, formatted, record(), stem),
        f"{stem}.zip",
        "application/zip",
        key=f"csv::{stem}",
        help=CSV_HELP,
    )
    buttons.download_button(
        "XLSX",
        lambda: export_xlsx_bytes(data, formatted, record()),
        f"{stem}.xlsx",
        XLSX_MIME,
        key=f"xlsx::{stem}",
        help=XLSX_HELP,
    )
    buttons.download_button(
        "Word",
        lambda: _docx(frame, title, record()),
        f"{stem}.docx",
        DOCX_MIME,
        key=f"docx::{stem}",
        help=DOCX_HELP,
    )
