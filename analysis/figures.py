"""Plotly figure builders. Pure: data in, ``go.Figure`` out; the pages only render them.

Colours are Okabe-Ito (readable with colour-vision deficiency); status is also in the legend
and hover text, never colour alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.compare import Comparison

STATUS_COLOURS = {
    "improved": "#0072B2",
    "worsened": "#D55E00",
    "unchanged": "#7F7F7F",
    "increased": "#CC79A7",
    "decreased": "#009E73",
}
_LAYOUT = dict(
    template="plotly_white",
    font=dict(size=14),
    margin=dict(l=60, r=30, t=60, b=50),
)
_LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0)


def _axis_title(comparison: Comparison) -> str:
    inst = comparison.instrument
    return inst.label if inst.known else comparison.outcome


def before_after_lines(comparison: Comparison) -> go.Figure:
    """One line per patient from the first visit to the second, coloured by what happened."""
    pairs = comparison.pairs
    fig = go.Figure()
    rng = np.random.default_rng(0)  # fixed jitter: the same picture on every rerun
    for status, group in pairs.groupby("status", sort=False):
        n = len(group)
        jitter = rng.uniform(-0.06, 0.06, size=n)
        x = np.column_stack([0 + jitter, 1 + jitter, np.full(n, np.nan)]).ravel()
        y = np.column_stack([group["before"], group["after"], np.full(n, np.nan)]).ravel()
        ids = np.repeat(group["patient_id"].to_numpy(), 3)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=f"{status} ({n})",
                line=dict(color=STATUS_COLOURS[status], width=1.5),
                marker=dict(size=5),
                opacity=0.45,
                text=ids,
                hovertemplate="patient %{text}<br>%{y}<extra>" + status + "</extra>",
                connectgaps=False,
            )
        )
    if len(pairs):
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[pairs["before"].median(), pairs["after"].median()],
                mode="lines+markers",
                name="median",
                line=dict(color="black", width=4),
                marker=dict(size=12, symbol="diamond"),
                hovertemplate="median %{y}<extra></extra>",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title=f"Each patient from {comparison.before} to {comparison.after} (n = {len(pairs)})",
        xaxis=dict(
            tickmode="array",
            tickvals=[0, 1],
            ticktext=[comparison.before, comparison.after],
            range=[-0.3, 1.3],
        ),
        yaxis_title=_axis_title(comparison),
        legend=_LEGEND_BELOW,
        height=500,
    )
    return fig


def visit_distributions(comparison: Comparison) -> go.Figure:
    """Box plot with every patient's value at each visit (patients with both values)."""
    pairs = comparison.pairs
    fig = go.Figure()
    for column, visit in (("before", comparison.before), ("after", comparison.after)):
        fig.add_trace(
            go.Box(
                y=pairs[column],
                name=visit,
                boxpoints="all",
                jitter=0.5,
                pointpos=0,
                marker=dict(color="#0072B2", size=5, opacity=0.5),
                line=dict(color="#333333"),
                fillcolor="rgba(0,0,0,0)",
                customdata=pairs["patient_id"],
                hovertemplate="patient %{customdata}<br>%{y}<extra>" + visit + "</extra>",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title="Values at each visit (box: median, quartiles)",
        yaxis_title=_axis_title(comparison),
        showlegend=False,
        height=500,
    )
    return fig


def change_histogram(comparison: Comparison) -> go.Figure:
    """Histogram of changes with no-change and the clinically important difference marked."""
    change = comparison.pairs["change"]
    inst = comparison.instrument
    integer_valued = bool(len(change)) and bool(np.all(np.isclose(change, np.round(change))))
    xbins = (
        dict(size=1, start=float(change.min()) - 0.5) if integer_valued and len(change) else None
    )
    fig = go.Figure(
        go.Histogram(
            x=change,
            xbins=xbins,
            marker=dict(color="#56B4E9", line=dict(color="white", width=1)),
            hovertemplate="change %{x}<br>%{y} patients<extra></extra>",
            name="patients",
        )
    )
    fig.add_vline(x=0, line=dict(color="#333333", width=2), annotation_text="no change")
    if inst.mcid_abs is not None and inst.direction is not None:
        mark = -inst.mcid_abs if inst.direction == "lower" else inst.mcid_abs
        fig.add_vline(
            x=mark,
            line=dict(color="#0072B2", width=2, dash="dash"),
            annotation_text=f"clinically important improvement ({inst.mcid_abs_text()})",
            annotation_position="top left" if mark < 0 else "top right",
        )
    better = {
        "lower": "negative = better",
        "higher": "positive = better",
        None: "direction unknown",
    }
    fig.update_layout(
        **_LAYOUT,
        title=f"Change from {comparison.before} to {comparison.after} ({better[inst.direction]})",
        xaxis_title=(
            f"change in {_axis_title(comparison)} ({comparison.after} − {comparison.before})"
        ),
        yaxis_title="patients",
        showlegend=False,
        bargap=0.05,
        height=420,
    )
    return fig


def completeness_bars(completeness) -> go.Figure:
    """Patients with any data at each visit: follow-up completeness at a glance."""
    fig = go.Figure(
        go.Bar(
            x=completeness["visit"],
            y=completeness["patients with data"],
            text=[
                f"{n} ({p:.0f}%)" if p == p else str(n)
                for n, p in zip(
                    completeness["patients with data"], completeness["% of baseline"], strict=True
                )
            ],
            textposition="outside",
            marker_color="#0072B2",
            hovertemplate="%{x}: %{y} patients<extra></extra>",
        )
    )
    top = float(completeness["patients with data"].max() or 1)
    fig.update_layout(
        **_LAYOUT,
        title="Patients with data at each visit (% of baseline)",
        yaxis=dict(title="patients", range=[0, top * 1.18]),
        showlegend=False,
        height=380,
    )
    return fig


def change_scatter(
    x: pd.Series,
    change: pd.Series,
    patient_ids: pd.Series,
    line: tuple[float, float] | None,
    title: str,
    x_title: str,
    y_title: str,
) -> go.Figure:
    """Each patient's change against a baseline value or attribute, with the least-squares
    line (intercept, slope) and the no-change line."""
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=change,
            mode="markers",
            name="patients",
            marker=dict(color="#0072B2", opacity=0.5, size=8),
            customdata=patient_ids,
            hovertemplate="patient %{customdata}<br>%{x}<br>change %{y}<extra></extra>",
        )
    )
    if line is not None:
        intercept, slope = line
        xs = np.array([x.min(), x.max()])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=intercept + slope * xs,
                mode="lines",
                name="least-squares line",
                line=dict(color="#D55E00", width=3),
            )
        )
    fig.add_hline(y=0, line=dict(color="#333", width=1))
    fig.update_layout(
        **{k: v for k, v in _LAYOUT.items() if k != "legend"},
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0),
        height=460,
    )
    return fig
