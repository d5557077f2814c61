"""Rendering helpers shared by the pages."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import streamlit as st


def chart(fig: go.Figure, file_stem: str, container=st) -> None:
    """A plotly figure exactly as built (no theme override), downloadable as PNG from its
    toolbar under a readable file name."""
    safe_stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", file_stem).strip("_") or "chart"
    container.plotly_chart(
        fig,
        width="stretch",
        theme=None,
        config={
            "displaylogo": False,
            "toImageButtonOptions": {"format": "png", "filename": safe_stem, "scale": 2},
        },
    )
