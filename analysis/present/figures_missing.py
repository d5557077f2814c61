"""Figures for missing data (plotly, pure): the missingness map, follow-up retained by arm, the
reasons for discontinuation, the estimates under each assumption, and the tipping-point curve.

Colours are Okabe-Ito; observed/missing is also in the legend and hover text, never colour alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.instruments import lookup
from analysis.present.format import number
from analysis.stats.imputation import SensitivityResult, TippingAnalysis
from analysis.stats.missingness import MissingnessMap

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
OBSERVED_COLOUR = "#0072B2"
MISSING_COLOUR = "#E6E6E6"
_LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=80, r=40, t=70, b=60))
# Legends sit below the plot: above it they ran into the titles and the map's top axis.
_LEGEND_ABOVE = dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0)
# Patient ids are written on the map's axis only when there are this few rows.
_MAX_ROW_LABELS = 60
ANALYSIS_LABELS = {
    "mmrm": "MMRM (MAR)",
    "mi_mar": "Multiple imputation, MAR (primary)",
    "mi_j2r": "Jump to reference (J2R)",
    "mi_cr": "Copy reference (CR)",
    "mi_cir": "Copy increments in reference (CIR)",
    "complete_case": "Completers only",
    "locf": "LOCF (sensitivity only)",
    "bocf": "BOCF (sensitivity only)",
}


def _unit(outcome: str) -> str:
    inst = lookup(outcome)
    return inst.unit if inst.known and inst.unit else "units"


def missingness_map_figure(m: MissingnessMap) -> go.Figure:
    """Patients (rows, grouped by arm and sorted by dropout time) x visits: observed or missing.
    Past the row limit each row is a pattern drawn as tall as its number of patients."""
    z = m.observed.astype(float)
    edges = np.concatenate([[0], np.cumsum(m.count)]).astype(float)
    status = np.where(m.observed, "observed", "missing")
    hover = np.empty(z.shape, dtype=object)
    for i in range(z.shape[0]):
        who = f"{m.label[i]} ({m.arm[i]})"
        for j, visit in enumerate(m.visits):
            hover[i, j] = f"{who}<br>{visit}: {status[i, j]}<br>{m.pattern[i]}"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(m.visits),
            y=edges,
            zmin=0,
            zmax=1,
            colorscale=[[0, MISSING_COLOUR], [0.5, MISSING_COLOUR], [0.5, OBSERVED_COLOUR],
                        [1, OBSERVED_COLOUR]],
            showscale=False,
            xgap=2,
            ygap=0 if m.aggregated or len(z) > 200 else 1,
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
        )
    )  # fmt: skip
    for name, colour in (("observed", OBSERVED_COLOUR), ("missing", MISSING_COLOUR)):
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=name,
                marker=dict(symbol="square", size=14, color=colour,
                            line=dict(color="#999999", width=1)),
            )
        )  # fmt: skip
    # arm bands: a line between arms and the arm's name with its number of patients
    arms = np.asarray(m.arm, dtype=object)
    for arm in m.arms:
        rows = np.flatnonzero(arms == arm)
        if not len(rows):
            continue
        top, bottom = edges[rows[0]], edges[rows[-1] + 1]
        n = int(m.count[rows].sum())
        if top > 0:
            fig.add_hline(y=top, line=dict(color="#000000", width=2))
        if len(m.arms) > 1:
            fig.add_annotation(
                x=-0.02, xref="paper", y=(top + bottom) / 2, yref="y", text=f"{arm}<br>n = {n}",
                showarrow=False, xanchor="right", align="right",
            )  # fmt: skip
    show_ids = not m.aggregated and len(z) <= _MAX_ROW_LABELS and len(m.arms) <= 1
    yaxis: dict[str, object] = dict(autorange="reversed", showgrid=False, zeroline=False)
    if show_ids:
        yaxis.update(tickvals=(edges[:-1] + edges[1:]) / 2, ticktext=list(m.label))
    else:
        yaxis.update(showticklabels=False, title="patients, by arm and time of dropout")
    what = (
        f"{m.n_patients} patients in {len(z)} patterns (too many to draw one by one; row height ="
        " number of patients)"
        if m.aggregated
        else f"{m.n_patients} patients"
    )
    fig.update_layout(
        **_LAYOUT,
        title=f"Which values are missing: {m.outcome}, {what}",
        xaxis=dict(title="", side="top", type="category"),
        yaxis=yaxis,
        legend=_LEGEND_ABOVE,
        height=int(min(900, max(380, 120 + 3 * min(len(z), 250)))),
    )
    if len(m.arms) > 1:
        fig.update_layout(margin=dict(l=150, r=40, t=100, b=70))
        fig.update_yaxes(title=None)  # the arm labels say what the rows are; a title overlapped
    return fig


def retention_figure(retention: pd.DataFrame) -> go.Figure:
    """Share of each arm still in follow-up (solid) and with a value (dotted) at each visit."""
    fig = go.Figure()
    visits = list(dict.fromkeys(retention["visit"]))
    for i, (arm, part) in enumerate(retention.groupby("arm", sort=False, observed=True)):
        colour = PALETTE[i % len(PALETTE)]
        custom = part[["n_retained", "n_observed", "n_arm"]].to_numpy()
        fig.add_trace(
            go.Scatter(
                x=part["visit"], y=part["pct_retained"], name=f"{arm}: still in follow-up",
                mode="lines+markers", line=dict(color=colour, width=3), customdata=custom,
                hovertemplate="%{x}: %{y:.0f}% (%{customdata[0]} of %{customdata[2]}) still in "
                "follow-up<extra>" + str(arm) + "</extra>",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=part["visit"], y=part["pct_observed"], name=f"{arm}: value recorded",
                mode="lines+markers", line=dict(color=colour, width=2, dash="dot"),
                marker=dict(symbol="circle-open"), customdata=custom,
                hovertemplate="%{x}: %{y:.0f}% (%{customdata[1]} of %{customdata[2]}) with a "
                "value<extra>" + str(arm) + "</extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        **_LAYOUT,
        title="Patients still followed up, by arm",
        xaxis=dict(title="visit", type="category", categoryorder="array", categoryarray=visits),
        yaxis=dict(title="% of the arm", range=[0, 105]),
        legend=_LEGEND_ABOVE,
    )
    return fig


def reasons_figure(reasons: pd.DataFrame) -> go.Figure:
    """Reasons for discontinuation: patients per reason, one bar group per arm."""
    fig = go.Figure()
    for i, (arm, part) in enumerate(reasons.groupby("arm", sort=False, observed=True)):
        fig.add_trace(
            go.Bar(
                y=part["reason"], x=part["n"], name=str(arm), orientation="h",
                marker_color=PALETTE[i % len(PALETTE)], customdata=part["pct"],
                hovertemplate="%{y}: %{x} patients (%{customdata:.0f}% of the arm)<extra>"
                + str(arm) + "</extra>",
            )
        )  # fmt: skip
    attribute = reasons.attrs.get("attribute", "reason")
    fig.update_layout(
        **_LAYOUT,
        title=f"Reason for discontinuation ({attribute}), by arm",
        barmode="group",
        xaxis=dict(title="patients"),
        yaxis=dict(title="", autorange="reversed"),
        legend=_LEGEND_ABOVE,
    )
    return fig


def sensitivity_forest(result: SensitivityResult) -> go.Figure:
    """The estimate at the visit under each analysis (95% CI), primary first, line at 0."""
    table = result.estimates()
    unit = _unit(result.outcome)
    fig = go.Figure()
    for i, (arm, part) in enumerate(table.groupby("arm", sort=False, observed=True)):
        names = [ANALYSIS_LABELS.get(a, a) for a in part["analysis"]]
        text = [
            f"{number(e, 2)} ({number(lo, 2)} to {number(hi, 2)}), n = {n}"
            + (f", {k} imputed" if k else "")
            for e, lo, hi, n, k in zip(
                part["estimate"], part["ci_low"], part["ci_high"], part["n"], part["n_imputed"],
                strict=True,
            )
        ]  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=part["estimate"], y=names, mode="markers", name=str(arm),
                marker=dict(size=11, color=PALETTE[i % len(PALETTE)]),
                error_x=dict(type="data", symmetric=False,
                             array=part["ci_high"] - part["estimate"],
                             arrayminus=part["estimate"] - part["ci_low"]),
                text=text, hovertemplate="%{y}: %{text}<extra>" + str(arm) + "</extra>",
            )
        )  # fmt: skip
    fig.add_vline(x=0, line=dict(color="#555555", dash="dash"))
    if result.comparator is None and result.placebo_change is not None:
        fig.add_vline(
            x=result.placebo_change, line=dict(color="#D55E00", dash="dot"),
            annotation_text="published placebo change", annotation_position="top",
        )  # fmt: skip
    what = (
        f"difference from {result.comparator}" if result.comparator is not None else "mean change"
    )
    better = {"lower": " (negative favours the treated arm)", "higher": " (positive favours it)"}
    fig.update_layout(
        **_LAYOUT,
        title=f"{what[:1].upper()}{what[1:]} at {result.visit}, under each assumption about "
        "<br>the missing values",
        xaxis=dict(title=f"{what} ({unit}){better.get(result.direction or '', '')}"),
        yaxis=dict(autorange="reversed"),
        showlegend=len(table["arm"].unique()) > 1,
    )
    return fig


def tipping_figure(tipping: TippingAnalysis, outcome: str, visit: str) -> go.Figure:
    """Estimate and 95% CI against delta (how much worse the patients with missing values did
    than the imputation assumes), the line the conclusion is judged against, the tipping point."""
    unit = _unit(outcome)
    fig = go.Figure()
    grid = tipping.grid
    for i, (arm, part) in enumerate(grid.groupby("arm", sort=False, observed=True)):
        part = part.sort_values("delta", ascending=False)
        worse = -part["delta"].to_numpy(dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        band = np.concatenate([worse, worse[::-1]])
        bounds = np.concatenate([part["ci_high"].to_numpy(), part["ci_low"].to_numpy()[::-1]])
        fig.add_trace(
            go.Scatter(
                x=band, y=bounds, fill="toself", fillcolor=colour, opacity=0.18,
                line=dict(width=0), hoverinfo="skip", name=f"{arm}: 95% CI", showlegend=True,
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=worse, y=part["estimate"], mode="lines+markers", name=f"{arm}: estimate",
                line=dict(color=colour, width=3),
                customdata=part[["ci_low", "ci_high", "p"]].to_numpy(),
                hovertemplate="worse by %{x:.2f}: %{y:.2f} (%{customdata[0]:.2f} to "
                "%{customdata[1]:.2f}), p = %{customdata[2]:.3f}<extra>" + str(arm) + "</extra>",
            )
        )  # fmt: skip
    ref_value = tipping.points[0].reference_value if tipping.points else 0.0
    ref_label = "0 (no difference)" if ref_value == 0 else f"placebo change {number(ref_value, 2)}"
    fig.add_hline(
        y=ref_value, line=dict(color="#555555", dash="dash"), annotation_text=ref_label,
        annotation_position="bottom right",
    )  # fmt: skip
    for point in tipping.points:
        if point.tipping_delta is None:
            continue
        x = -point.tipping_delta
        fig.add_vline(
            x=x, line=dict(color="#D55E00", dash="dot", width=2),
            annotation_text=f"tipping point: {number(x, 2)} {unit} worse",
            annotation_position="top left",
        )  # fmt: skip
    what = "difference between arms" if tipping.points and tipping.points[0].comparator else (
        "mean change"
    )  # fmt: skip
    fig.update_layout(
        **_LAYOUT,
        title=f"Tipping point: {outcome} at {visit}, {tipping.method.upper()} imputation"
        "<br><sup>how much worse must patients with missing values have done to change the "
        "conclusion?</sup>",
        xaxis=dict(
            title=f"assumed worse than the imputation predicts ({unit})", rangemode="tozero"
        ),
        yaxis=dict(title=f"{what} ({unit})"),
        legend=_LEGEND_ABOVE,
    )
    return fig
