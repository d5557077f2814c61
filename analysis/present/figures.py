"""Plotly figure builders. Pure: data in, ``go.Figure`` out; the pages only render them.

Colours are Okabe-Ito (readable with colour-vision deficiency); status is also in the legend
and hover text, never colour alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.instruments import Direction
from analysis.stats.compare import Comparison

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
# Past this many patients a chart draws densities, quantiles or summary boxes instead of one
# mark per patient: a browser cannot show 100,000 lines legibly, and the chart data would be
# tens of megabytes. Each such chart says so in its title.
MAX_PATIENT_MARKS = 2000
DENSITY_NOTE = "too many to draw one by one; shade = patients per cell"
_DENSITY_SCALE = [[0, "#F0F4FA"], [0.25, "#9ECAE1"], [0.6, "#3182BD"], [1, "#08306B"]]


def density(x: pd.Series, y: pd.Series, bins: int = 60) -> go.Histogram2d:
    """A 2-D histogram of many patients' points (pre-binned: only counts are sent)."""
    counts, x_edges, y_edges = np.histogram2d(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float), bins=bins
    )
    return go.Heatmap(
        x=(x_edges[:-1] + x_edges[1:]) / 2,
        y=(y_edges[:-1] + y_edges[1:]) / 2,
        z=np.where(counts.T > 0, counts.T, np.nan),
        colorscale=_DENSITY_SCALE,
        colorbar=dict(title="patients"),
        name="patients",
        hovertemplate="%{x:.3g}, %{y:.3g}<br>%{z} patients<extra></extra>",
    )


def summary_box(values: pd.Series, name: str) -> go.Box:
    """A box from precomputed quartiles and Tukey whiskers (1.5 IQR): no per-patient data."""
    v = np.asarray(values, dtype=float)
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    iqr = q3 - q1
    low = float(v[v >= q1 - 1.5 * iqr].min())
    high = float(v[v <= q3 + 1.5 * iqr].max())
    return go.Box(
        x=[name],
        q1=[q1],
        median=[median],
        q3=[q3],
        lowerfence=[low],
        upperfence=[high],
        name=name,
        marker=dict(color="#0072B2"),
        line=dict(color="#333333"),
    )


# Which way is better, with an arrow that points along the axis: down or left for lower.
_BETTER = {
    ("lower", False): "lower is better ↓",
    ("higher", False): "higher is better ↑",
    ("lower", True): "lower is better ←",
    ("higher", True): "higher is better →",
}
_CHANGE_BETTER = {
    ("lower", False): "negative = better ↓",
    ("higher", False): "positive = better ↑",
    ("lower", True): "negative = better ←",
    ("higher", True): "positive = better →",
}
# Characters per line of an axis title before it wraps: a vertical title runs along the
# plot's height, a horizontal one along its width.
_TITLE_WIDTH = {False: 42, True: 90}


def _wrap(text: str, width: int) -> str:
    """Break a long title into lines of at most ``width`` characters (at spaces; plotly <br>),
    keeping the line breaks already in it."""
    lines: list[str] = []
    for segment in text.split("<br>"):
        start = len(lines)
        name, paren, rest = segment.rpartition(" (")
        if len(segment) > width and paren and len(name) <= width:  # 'Name<br>(TCSS 0–19)'
            lines += [name, "(" + rest]
            continue
        for word in segment.split(" "):
            if len(lines) > start and len(lines[-1]) + 1 + len(word) <= width:
                lines[-1] += " " + word
            else:
                lines.append(word)
    return "<br>".join(lines)


def score_axis_title(label: str, direction: Direction | None, *, horizontal: bool = False) -> str:
    """The title of an axis of scores: the score's name and which way is better
    ('Pain intensity (NRS 0–10)<br>lower is better ↓'; ← / → on a horizontal axis); nothing
    about better when the direction is unknown."""
    better = _BETTER.get((direction, horizontal)) if direction is not None else None
    return _wrap(label, _TITLE_WIDTH[horizontal]) + (f"<br>{better}" if better else "")


def change_axis_title(label: str, direction: Direction | None, *, horizontal: bool = False) -> str:
    """The title of an axis of changes: '...<br>(negative = better ↓)' when lower is better,
    '(positive = better ↑)' when higher is (← / → on a horizontal axis); nothing when the
    direction is unknown."""
    better = _CHANGE_BETTER.get((direction, horizontal)) if direction is not None else None
    return _wrap(label, _TITLE_WIDTH[horizontal]) + (f"<br>({better})" if better else "")


def _name(comparison: Comparison) -> str:
    inst = comparison.instrument
    return inst.label if inst.known else comparison.outcome


def _axis_title(comparison: Comparison) -> str:
    return score_axis_title(_name(comparison), comparison.instrument.direction)


def before_after_lines(comparison: Comparison) -> go.Figure:
    """One line per patient from the first visit to the second, coloured by what happened;
    past MAX_PATIENT_MARKS patients, the density of (before, after) pairs instead."""
    pairs = comparison.pairs
    if len(pairs) > MAX_PATIENT_MARKS:
        return _before_after_density(comparison)
    fig = go.Figure()
    rng = np.random.default_rng(0)  # fixed jitter: the same picture on every rerun
    for status, group in pairs.groupby("status", sort=False, observed=True):
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


def _before_after_density(comparison: Comparison) -> go.Figure:
    pairs = comparison.pairs
    fig = go.Figure(density(pairs["before"], pairs["after"]))
    low = float(min(pairs["before"].min(), pairs["after"].min()))
    high = float(max(pairs["before"].max(), pairs["after"].max()))
    fig.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="no change",
            line=dict(color="#D55E00", width=2, dash="dash"),
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title=(
            f"Each patient's {comparison.before} against {comparison.after} value"
            f"<br><sup>n = {len(pairs):,}; {DENSITY_NOTE}</sup>"
        ),
        xaxis_title=score_axis_title(
            f"{_name(comparison)} at {comparison.before}",
            comparison.instrument.direction,
            horizontal=True,
        ),
        yaxis_title=score_axis_title(
            f"{_name(comparison)} at {comparison.after}", comparison.instrument.direction
        ),
        legend=_LEGEND_BELOW,
        height=500,
    )
    return fig


def visit_distributions(comparison: Comparison) -> go.Figure:
    """Box plot with every patient's value at each visit (patients with both values); past
    MAX_PATIENT_MARKS patients, the boxes alone."""
    pairs = comparison.pairs
    if len(pairs) > MAX_PATIENT_MARKS:
        fig = go.Figure(
            [summary_box(pairs["before"], comparison.before),
             summary_box(pairs["after"], comparison.after)]
        )  # fmt: skip
        fig.update_layout(
            **_LAYOUT,
            title=(
                "Values at each visit (box: median, quartiles)"
                f"<br><sup>n = {len(pairs):,}; too many patients to draw each point</sup>"
            ),
            yaxis_title=_axis_title(comparison),
            showlegend=False,
            height=500,
        )
        return fig
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


def _bin_width(values: np.ndarray, target_bins: int = 60) -> float:
    """A bin width that is a whole multiple of the grid the values lie on (scores in 0.5 or
    0.1 steps), so no bin catches more grid points than its neighbours (no comb pattern)."""
    grid = next(
        (g for g in (1.0, 0.5, 0.25, 0.1, 0.05, 0.01)
         if np.allclose(values / g, np.round(values / g), atol=1e-6)),
        None,
    )  # fmt: skip
    rough = float(np.ptp(values)) / target_bins or 1.0
    return rough if grid is None else grid * max(1, int(np.ceil(rough / grid - 1e-9)))


def change_histogram(comparison: Comparison) -> go.Figure:
    """Histogram of changes with no-change and the clinically important difference marked."""
    change = comparison.pairs["change"]
    inst = comparison.instrument
    integer_valued = bool(len(change)) and bool(np.all(np.isclose(change, np.round(change))))
    xbins = (
        dict(size=1, start=float(change.min()) - 0.5) if integer_valued and len(change) else None
    )
    if len(change) > MAX_PATIENT_MARKS:  # counted here: only the bars are sent
        width = _bin_width(change.to_numpy(dtype=float))
        start = float(change.min()) - width / 2
        n_bins = int(np.floor((float(change.max()) - start) / width)) + 1
        counts, edges = np.histogram(change, bins=start + width * np.arange(n_bins + 1))
        trace = go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=width * 0.95)
    else:
        trace = go.Histogram(x=change, xbins=xbins)
    fig = go.Figure(
        trace.update(
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
        xaxis_title=change_axis_title(
            f"Change in {_name(comparison)} ({comparison.after} − {comparison.before})",
            inst.direction,
            horizontal=True,
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
    line (intercept, slope) and the no-change line; past MAX_PATIENT_MARKS patients, the
    density of points instead of the points."""
    if len(x) > MAX_PATIENT_MARKS:
        fig = go.Figure(density(x, change))
        title = f"{title}<br><sup>n = {len(x):,}; {DENSITY_NOTE}</sup>"
    else:
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
        **_LAYOUT,
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        # Above the plot, under the title: below, it would meet an axis title of two lines.
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        height=480,
    )
    fig.update_layout(margin_t=90)
    return fig
