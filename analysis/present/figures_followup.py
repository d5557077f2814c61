"""Figures for follow-up over time, responders and the patient view (plotly, pure)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.instruments import lookup
from analysis.present.figures import MAX_PATIENT_MARKS, STATUS_COLOURS, change_scatter
from analysis.stats.responders import IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL, ResponderAnalysis
from analysis.stats.trajectory import BASELINE_NOTE

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
_LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=60, r=50, t=60, b=50))
_LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0)
# Above the plot, under the title: below it would collide with tick labels of several lines.
_LEGEND_ABOVE = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)


def _label(outcome: str) -> str:
    inst = lookup(outcome)
    return inst.label if inst.known else outcome


def _visit_order(visits: pd.Series) -> list[str]:
    """The visits present, in visit order when ``visits`` is an ordered categorical."""
    present = set(visits.astype(str))
    labels = visits.cat.categories if isinstance(visits.dtype, pd.CategoricalDtype) else visits
    return [str(v) for v in dict.fromkeys(labels) if str(v) in present]


def _visit_axis(visits: list[str], counts: list[tuple[str, pd.Series]]) -> dict:
    """Visits as ticks at 0, 1, 2, ...; under each, the number of patients with a value, one
    line per group in the group's colour (a numbers-at-risk row: labels on the points collide
    with the error bars and with each other where groups meet)."""
    lines = []
    for visit in visits:
        text = visit
        for color, n_by_visit in counts:
            n = n_by_visit.get(visit)
            shown = n if isinstance(n, str) else f"n={0 if n is None or pd.isna(n) else int(n)}"
            text += f"<br><span style='color:{color}'>{shown}</span>"
        lines.append(text)
    return dict(
        tickmode="array", tickvals=list(range(len(visits))), ticktext=lines,
        range=[-0.5, len(visits) - 0.5], showgrid=False, zeroline=False,
    )  # fmt: skip


def over_time(summary: pd.DataFrame, outcome: str, statistic: str = "mean") -> go.Figure:
    """Mean with 95% CI (or median with IQR) at every visit; groups side by side at each visit
    (dodged so that their bars do not overlap), patients per visit under the axis."""
    fig = go.Figure()
    visits = _visit_order(summary["visit"])
    position = {v: i for i, v in enumerate(visits)}
    groups = (
        list(summary.groupby("group", sort=False, observed=True))
        if "group" in summary
        else [("all", summary)]
    )
    counts = []
    for i, (name, part) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)] if len(groups) > 1 else "#333"
        dodge = 0.12 * (i - (len(groups) - 1) / 2) if len(groups) > 1 else 0.0
        if statistic == "median":
            y, low, high = part["median"], part["q1"], part["q3"]
        else:
            y, low, high = part["mean"], part["ci_low"], part["ci_high"]
        fig.add_trace(
            go.Scatter(
                x=part["visit"].astype(str).map(position) + dodge,
                y=y,
                mode="lines+markers",
                name=str(name),
                customdata=np.column_stack([part["visit"].astype(str), part["n"]]),
                line=dict(color=PALETTE[i % len(PALETTE)], width=3),
                error_y=dict(type="data", symmetric=False, array=high - y, arrayminus=y - low),
                hovertemplate="%{customdata[0]}: %{y:.2f} (n=%{customdata[1]})<extra>"
                + str(name)
                + "</extra>",
            )
        )
        counts.append((color, part.set_index(part["visit"].astype(str))["n"]))
    band = "95% CI" if statistic == "mean" else "interquartile range"
    fig.update_layout(
        **_LAYOUT,
        title=f"{statistic.capitalize()} at each visit (bars: {band})",
        yaxis_title=_label(outcome),
        xaxis=_visit_axis(visits, counts),
        legend=_LEGEND_ABOVE,
        showlegend="group" in summary,
        height=460 + 18 * max(len(groups) - 1, 0),
    )
    if "group" in summary:
        fig.update_layout(margin_t=90)  # room for the legend between the title and the plot
    return fig


def change_over_time(change: pd.DataFrame, outcome: str) -> go.Figure:
    """Mean change from baseline with 95% CI; the baseline has no change, so no point.
    Patients with a change under each visit."""
    visits = [str(v) for v in change["visit"]]
    position = {v: i for i, v in enumerate(visits)}
    follow = change.loc[change["mean_change"].notna()]
    fig = go.Figure(
        go.Scatter(
            x=follow["visit"].astype(str).map(position),
            y=follow["mean_change"],
            mode="lines+markers",
            customdata=np.column_stack([follow["visit"].astype(str), follow["n"]]),
            line=dict(color="#0072B2", width=3),
            error_y=dict(
                type="data",
                symmetric=False,
                array=(follow["ci_high"] - follow["mean_change"]).fillna(0),
                arrayminus=(follow["mean_change"] - follow["ci_low"]).fillna(0),
            ),
            hovertemplate="%{customdata[0]}: %{y:.2f} (n=%{customdata[1]})<extra></extra>",
        )
    )
    fig.add_hline(y=0, line=dict(color="#333", width=1))
    n_with_change = pd.Series(
        np.where(change["note"] == BASELINE_NOTE, "reference", change["n"].astype(object)),
        index=visits,
    )
    fig.update_layout(
        **_LAYOUT,
        title="Mean change from baseline (bars: 95% CI)",
        yaxis_title=f"change in {_label(outcome)}",
        xaxis=_visit_axis(visits, [("#333", n_with_change)]),
        height=420,
    )
    return fig


def _band(
    x, low, high, name: str, opacity: float, show_legend: bool = True, hoverinfo: str | None = None
) -> list[go.Scatter]:
    """A shaded band between ``low`` and ``high``: an invisible upper edge, then the lower edge
    filled up to it (plotly's 'tonexty')."""
    return [
        go.Scatter(
            x=x, y=high, mode="lines", line=dict(width=0), showlegend=False, hoverinfo=hoverinfo
        ),
        go.Scatter(
            x=x, y=low, mode="lines", fill="tonexty", fillcolor=f"rgba(0,114,178,{opacity})",
            line=dict(width=0), name=name, showlegend=show_legend, hoverinfo=hoverinfo,
        ),
    ]  # fmt: skip


def spaghetti(
    trajectories: pd.DataFrame, visits: list[str], outcome: str, highlight: str | None = None
) -> go.Figure:
    """Every patient's trajectory; one highlighted. Many patients: a 10-90% band instead."""
    fig = go.Figure()
    order = {v: i for i, v in enumerate(visits)}
    data = trajectories.assign(x=trajectories["visit"].map(order)).sort_values(["patient_id", "x"])
    n_patients = data["patient_id"].nunique()
    if n_patients <= MAX_PATIENT_MARKS:
        x, y = _with_gaps(data)
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=y,
                mode="lines",
                name=f"each patient ({n_patients})",
                line=dict(color="rgba(100,100,100,0.25)", width=1),
                hoverinfo="skip",
            )
        )
        title = "Each patient's values over time"
    else:
        q = data.groupby("x", observed=True)["value"].quantile([0.1, 0.5, 0.9]).unstack()
        fig.add_traces(_band(q.index, q[0.1], q[0.9], "10th-90th percentile", 0.2))
        fig.add_trace(
            go.Scatter(
                x=q.index,
                y=q[0.5],
                mode="lines+markers",
                line=dict(color="#0072B2", width=3),
                name="median",
            )
        )
        title = (
            f"Each patient's values over time<br><sup>n = {n_patients:,}: too many for one "
            "line each, shown as the median and a 10th-90th percentile band</sup>"
        )
    if highlight is not None:
        mine = data.loc[data["patient_id"] == highlight]
        fig.add_trace(
            go.Scatter(
                x=mine["x"],
                y=mine["value"],
                mode="lines+markers",
                name=f"patient {highlight}",
                line=dict(color="#D55E00", width=4),
                marker=dict(size=10),
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title=title,
        yaxis_title=_label(outcome),
        xaxis=dict(tickmode="array", tickvals=list(range(len(visits))), ticktext=visits),
        legend=_LEGEND_BELOW,
        height=460,
    )
    return fig


def _with_gaps(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """x and y of all patients in one trace, a NaN gap after each patient (sorted by patient)."""
    last = data["patient_id"].ne(data["patient_id"].shift(-1)).to_numpy()
    position = np.arange(len(data)) + np.concatenate([[0], np.cumsum(last)[:-1]])
    x = np.full(len(data) + int(last.sum()), np.nan)
    y = x.copy()
    x[position] = data["x"].to_numpy()
    y[position] = data["value"].to_numpy()
    return x, y


def attrition_bars(attrition: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=attrition["visit"],
            y=attrition["patients"],
            text=[f"{n}" for n in attrition["patients"]],
            textposition="outside",
            marker_color="#7F7F7F",
            hovertemplate="%{x}: %{y} patients<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Patients remaining",
        yaxis=dict(title="patients", range=[0, float(attrition["patients"].max() or 1) * 1.2]),
        xaxis=dict(type="category"),
        height=460,
    )
    return fig


def waterfall(analysis: ResponderAnalysis, scale: str = "percent") -> go.Figure:
    """Each patient's change at the visit, sorted, with the responder thresholds marked."""
    inst = analysis.instrument
    column = "pchg" if scale == "percent" else "chg"
    data = analysis.patients.loc[analysis.patients[column].notna()]
    n = len(data)
    sign = -1 if inst.direction == "lower" else 1
    data = data.sort_values(column, ascending=inst.direction != "lower")
    many = len(data) > MAX_PATIENT_MARKS
    if many:  # 1,000 evenly spaced patients of the sorted order: the same shape, 1,000 bars
        data = data.iloc[np.linspace(0, len(data) - 1, 1000).round().astype(int)]
    better = sign * data[column]
    colours = np.where(better > 0, STATUS_COLOURS["improved"], STATUS_COLOURS["worsened"])
    colours = np.where(better == 0, STATUS_COLOURS["unchanged"], colours)
    fig = go.Figure(
        go.Bar(
            x=list(range(len(data))),
            y=data[column],
            marker_color=colours,
            marker_line_width=0 if many else None,  # 1,000 thin bars: outlines would pale them
            customdata=data["patient_id"],
            hovertemplate="patient %{customdata}<br>%{y:.1f}<extra></extra>",
        )
    )
    if inst.direction is not None:
        if scale == "percent":
            for limit, name in ((IMMPACT_MODERATE, "30%"), (IMMPACT_SUBSTANTIAL, "50%")):
                fig.add_hline(
                    y=sign * limit,
                    line=dict(color="#333", dash="dash"),
                    annotation_text=f"{name} improvement (IMMPACT)",
                    annotation_position="bottom left",
                )
        elif inst.mcid_abs is not None:
            fig.add_hline(
                y=sign * inst.mcid_abs,
                line=dict(color="#333", dash="dash"),
                annotation_text=f"clinically important improvement ({inst.mcid_abs_text()})",
                annotation_position="bottom left",
            )
    unit = "%" if scale == "percent" else (inst.unit or "")
    fig.update_layout(
        **_LAYOUT,
        title=(
            f"Change from baseline at {analysis.visit}, patients sorted"
            f"<br><sup>n = {n:,}; each bar is one of 1,000 evenly spaced patients</sup>"
            if many
            else f"Change from baseline at {analysis.visit}, one bar per patient (n = {n})"
        ),
        yaxis_title=f"change ({unit})",
        xaxis=dict(title="patients, sorted", showticklabels=False),
        bargap=0.1,
        height=460,
    )
    return fig


def regression_to_mean(analysis: ResponderAnalysis) -> go.Figure:
    data = analysis.patients.loc[analysis.patients["chg"].notna()]
    r = "undefined" if analysis.rtm_r is None else f"{analysis.rtm_r:.2f}"
    line = None if analysis.rtm_slope is None else (analysis.rtm_intercept, analysis.rtm_slope)
    return change_scatter(
        data["base"],
        data["chg"],
        data["patient_id"],
        line,
        f"Change against baseline value (r = {r})",
        f"baseline {_label(analysis.outcome)}",
        f"change at {analysis.visit}",
    )


def patient_panels(values: pd.DataFrame, visits: list[str], patient_id: str) -> go.Figure:
    """One small chart per outcome: the patient against the cohort median and IQR band."""
    outcomes = list(dict.fromkeys(values["outcome"]))
    cols = 2
    rows = max(1, math.ceil(len(outcomes) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[_label(o) for o in outcomes],
        vertical_spacing=0.12 / max(1, rows / 3),
        horizontal_spacing=0.08,
    )
    for i, outcome in enumerate(outcomes):
        part = values.loc[values["outcome"] == outcome].set_index("visit").reindex(visits)
        part = part.loc[part["cohort_n"].notna()]
        row, col = i // cols + 1, i % cols + 1
        first = i == 0
        band = _band(
            list(part.index), part["cohort_q1"], part["cohort_q3"], "cohort interquartile range",
            0.15, show_legend=first, hoverinfo="skip",
        )  # fmt: skip
        for trace in band:
            fig.add_trace(trace, row=row, col=col)
        fig.add_trace(
            go.Scatter(
                x=list(part.index),
                y=part["cohort_median"],
                mode="lines",
                line=dict(color="#0072B2", dash="dash"),
                name="cohort median",
                showlegend=first,
            ),
            row=row,
            col=col,
        )
        mine = part["value"].dropna()
        fig.add_trace(
            go.Scatter(
                x=list(mine.index),
                y=mine,
                mode="lines+markers",
                line=dict(color="#D55E00", width=3),
                marker=dict(size=9),
                name=f"patient {patient_id}",
                showlegend=first,
            ),
            row=row,
            col=col,
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=visits)
    fig.update_layout(
        template="plotly_white",
        font=dict(size=13),
        height=300 * rows + 80,
        margin=dict(l=50, r=30, t=60, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.0 + 0.12 / rows, x=0),
    )
    return fig
