"""Rendering helpers shared by the pages: charts with a download format, tables with exports."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.present.export import neutralise_formulas, to_csv_bytes, to_xlsx_bytes

CHART_FORMATS = ("PNG", "SVG")


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


def table(frame: pd.DataFrame, file_stem: str, container=st, **kwargs) -> None:
    """A result table with CSV and XLSX downloads of exactly what is shown (so suppressed small
    groups stay suppressed), safe to open in a spreadsheet."""
    container.dataframe(frame, hide_index=True, width="stretch", **kwargs)
    stem = _stem(file_stem)
    buttons = container.container(horizontal=True)  # flows, so narrow columns keep labels
    left = right = buttons
    # The files are built when clicked (a callable), not on every rerun: writing XLSX for a
    # registry-sized table takes longer than the rest of a page.
    left.download_button(
        "CSV",
        lambda: to_csv_bytes(neutralise_formulas(frame)),
        f"{stem}.csv",
        "text/csv",
        key=f"csv::{stem}",
    )
    right.download_button(
        "XLSX",
        lambda: to_xlsx_bytes(neutralise_formulas(frame), stem),
        f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx::{stem}",
    )
